import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Digest } from "./digest.js";
import { openContentStore, type FsContentStore } from "./content-store.js";

async function* chunks(...parts: (string | Buffer)[]) {
  for (const p of parts) yield Buffer.from(p);
}

describe("FsContentStore", () => {
  let root: string;
  let store: FsContentStore;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-content-"));
    store = await openContentStore({ root });
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  const ingestDirEmpty = async () => expect(await fs.readdir(path.join(root, "ingest"))).toEqual([]);

  describe("adoptFile (a download this process hashed itself)", () => {
    it("commits the file by rename: same inode, read-only, gone from where it was", async () => {
      const file = path.join(root, "download.partial");
      await fs.writeFile(file, "layer bytes", { mode: 0o600 });
      const ino = (await fs.stat(file)).ino;
      const digest = sha256Digest("layer bytes");
      await store.adoptFile(file, { digest, size: 11 });
      const blob = await store.pathOf(digest);
      const st = await fs.stat(blob);
      expect([st.ino, st.mode & 0o777]).toEqual([ino, 0o444]);
      expect((await store.readBytes(digest)).toString()).toBe("layer bytes");
      await expect(fs.stat(file)).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("refuses a file of another size, a symlink or a directory, and commits nothing", async () => {
      const file = path.join(root, "short.partial");
      await fs.writeFile(file, "short");
      const digest = sha256Digest("short");
      await expect(store.adoptFile(file, { digest, size: 6 })).rejects.toMatchObject({ kind: "Internal", message: expect.stringMatching(/has 5 bytes, expected 6/) });
      const link = path.join(root, "link.partial");
      await fs.symlink(file, link);
      await expect(store.adoptFile(link, { digest, size: 5 })).rejects.toMatchObject({ code: "ELOOP" });
      await expect(store.adoptFile(path.join(root, "ingest"), { digest, size: 5 })).rejects.toMatchObject({ kind: "Internal" });
      expect(await store.has(digest)).toBe(false);
    });

    it("an existing blob wins: the file is removed and the blob kept", async () => {
      const digest = (await store.ingest(chunks("same"))).digest;
      const before = (await fs.stat(await store.pathOf(digest))).ino;
      const file = path.join(root, "again.partial");
      await fs.writeFile(file, "same");
      await store.adoptFile(file, { digest, size: 4 });
      expect((await fs.stat(await store.pathOf(digest))).ino).toBe(before);
      await expect(fs.stat(file)).rejects.toMatchObject({ code: "ENOENT" });
    });
  });

  it("ingests, commits under blobs/sha256/<hex> and reads back", async () => {
    const want = sha256Digest("hello world");
    const res = await store.ingest(chunks("hello ", "world"), { expectedDigest: want, expectedSize: 11 });
    expect(res).toEqual({ digest: want, size: 11 });
    expect(await store.has(want)).toBe(true);
    expect(await store.pathOf(want)).toBe(path.join(root, "blobs", "sha256", want.slice(7)));
    expect((await store.readBytes(want)).toString()).toBe("hello world");
    expect(await store.size(want)).toBe(11);
    expect(await store.list()).toEqual([want]);
    await ingestDirEmpty();
  });

  it("rejects a digest mismatch and leaves nothing behind", async () => {
    const wrong = sha256Digest("other");
    await expect(store.ingest(chunks("data"), { expectedDigest: wrong })).rejects.toMatchObject({ kind: "InvalidArgument" });
    expect(await store.list()).toEqual([]);
    await ingestDirEmpty();
  });

  it("rejects a size mismatch", async () => {
    await expect(store.ingest(chunks("data"), { expectedSize: 3 })).rejects.toThrow(/more data than the expected 3/);
    await expect(store.ingest(chunks("data"), { expectedSize: 5 })).rejects.toThrow(/got 4 bytes, expected 5/);
    expect(await store.list()).toEqual([]);
    await ingestDirEmpty();
  });

  it("stops at maxBytes without reading the rest", async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield Buffer.alloc(64 * 1024);
      }
    }
    await expect(store.ingest(endless(), { maxBytes: 1024 * 1024 })).rejects.toThrow(/exceeds the cap of 1048576 bytes/);
    expect(produced).toBeLessThan(20);
    expect(await store.list()).toEqual([]);
    await ingestDirEmpty();
  });

  it("aborts on the signal and leaves nothing behind", async () => {
    const ac = new AbortController();
    async function* slow() {
      yield Buffer.from("a");
      ac.abort(new Error("stop now"));
      yield Buffer.from("b");
    }
    await expect(store.ingest(slow(), { signal: ac.signal })).rejects.toThrow(/stop now/);
    expect(await store.list()).toEqual([]);
    await ingestDirEmpty();
  });

  it("validates digests before they become paths", async () => {
    for (const bad of ["sha256:../../etc/passwd", `sha256:${"A".repeat(64)}`, `sha512:${"a".repeat(64)}`, "a".repeat(64)]) {
      await expect(store.has(bad)).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(store.pathOf(bad)).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(store.ingest(chunks("x"), { expectedDigest: bad })).rejects.toMatchObject({ kind: "InvalidArgument" });
    }
  });

  it("concurrent ingests of the same content leave one blob", async () => {
    const data = Buffer.alloc(300_000, 7);
    const results = await Promise.all(Array.from({ length: 5 }, () => store.ingest(chunks(data))));
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    expect(await store.list()).toHaveLength(1);
    await ingestDirEmpty();
  });

  it("refuses to read a blob over the cap and detects corruption", async () => {
    const { digest } = await store.ingest(chunks("x".repeat(100)));
    await expect(store.readBytes(digest, 10)).rejects.toThrow(/exceeds the cap of 10 bytes/);
    const p = await store.pathOf(digest);
    await fs.chmod(p, 0o644);
    await fs.writeFile(p, "y".repeat(100));
    await expect(store.readBytes(digest)).rejects.toMatchObject({ kind: "Internal" });
  });

  it("NotFound for absent blobs; delete is idempotent", async () => {
    const d = sha256Digest("nope");
    await expect(store.pathOf(d)).rejects.toMatchObject({ kind: "NotFound" });
    await expect(store.size(d)).rejects.toMatchObject({ kind: "NotFound" });
    await store.delete(d);
  });

  it("removes stale ingest files on open", async () => {
    await fs.writeFile(path.join(root, "ingest", "deadbeef.tmp"), "partial");
    await openContentStore({ root });
    await ingestDirEmpty();
  });
});
