/**
 * Layer unpack against hostile and tricky tars. Every escape attempt runs with a probe tree
 * planted on the host outside the state root; after each attempt the probe's content, modes,
 * mtimes and xattrs are compared with a snapshot taken before. The whole suite runs twice:
 * unpacking on the calling thread, and on the unpack pool's worker thread (the built
 * dist/runtime/snapshots/unpack-worker.js, what the daemon uses), so every error keeps its
 * kind and message across the thread boundary.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import pino from "pino";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import { GrowingFile } from "../../runtime/snapshots/growing-file.js";
import { UnpackPool } from "../../runtime/snapshots/unpack-pool.js";
import { REPO } from "../helpers/cli.js";
import { hostLacks, which } from "../helpers/host.js";
import { FIXED_MTIME, gzip, sha256, tarBuffer, type FixtureEntry } from "../helpers/image-fixtures.js";

const skip = hostLacks("root");
const WORKER = path.join(REPO, "dist/runtime/snapshots/unpack-worker.js");
const workerMissing = existsSync(WORKER) ? undefined : `${WORKER} is not built (npm run build)`;
if (workerMissing && process.env.CI === "true") throw new Error(`CI=true but ${workerMissing}`);
const MODES = [
  { mode: "on the calling thread", script: undefined, skip: false },
  { mode: "on a worker thread", script: WORKER, skip: !!workerMissing },
];

async function snapshotTree(dir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (p: string) => {
    const st = await fs.lstat(p);
    let extra = "";
    if (st.isFile()) extra = createHash("sha256").update(await fs.readFile(p)).digest("hex");
    if (st.isDirectory() && which("getfattr")) extra = execFileSync("getfattr", ["--absolute-names", "-h", "-d", "-m", "-", p], { encoding: "utf8" });
    out.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${extra}`);
    if (st.isDirectory()) for (const n of (await fs.readdir(p)).sort()) await walk(path.join(p, n));
  };
  await walk(dir);
  return out.join("\n");
}

describe.skipIf(skip).each(MODES)("layer unpack (root), $mode", ({ script, skip: noWorker }) => {
  if (noWorker) it.skip(`worker thread: ${workerMissing}`, () => {});
  if (noWorker) return;
  let pool: UnpackPool;
  let base: string;
  let probe: string;
  let probeSnapshot: string;
  let root: string;
  let rt: ImageRuntime;

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unpack-"));
    probe = path.join(base, "probe");
    await fs.mkdir(path.join(probe, "dir"), { recursive: true });
    await fs.writeFile(path.join(probe, "secret"), "do not touch\n", { mode: 0o640 });
    await fs.writeFile(path.join(probe, "dir", "inner"), "inner\n", { mode: 0o600 });
    const t = new Date("2001-02-03T04:05:06Z");
    for (const p of [path.join(probe, "secret"), path.join(probe, "dir", "inner"), path.join(probe, "dir"), probe]) await fs.utimes(p, t, t);
    probeSnapshot = await snapshotTree(probe);
    pool = new UnpackPool({ logger: pino({ level: "silent" }), workerScript: script, threads: 2 });
    expect(pool.mode).toBe(script ? "threads" : "inline");
  });
  afterAll(async () => {
    await pool.close();
    await fs.rm(base, { recursive: true, force: true });
  });

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(base, "root-"));
    rt = await openImageRuntime({ root, maxLayerBytes: 8 * 1024 * 1024, maxLayerEntries: 2_000, unpackPool: pool });
  });
  afterEach(async () => {
    expect(await snapshotTree(probe)).toBe(probeSnapshot);
    expect(await fs.readdir(path.join(root, "snapshots", "tmp"))).toEqual([]);
    expect((await fs.readdir(path.join(root, "snapshots", "l"))).length).toBe((await rt.snapshots.listLayers()).length);
    await fs.rm(root, { recursive: true, force: true });
  });

  /** Ingests a layer tar and unpacks it; returns the committed layer directory. */
  async function unpack(entries: FixtureEntry[] | Buffer, parent?: string, options: { gzip?: boolean } = {}): Promise<{ chainId: string; fs: string }> {
    const raw = Buffer.isBuffer(entries) ? entries : await tarBuffer(entries);
    const blob = options.gzip ? gzip(raw) : raw;
    const { digest, size } = await rt.content.ingest([blob]);
    const mediaType = options.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar";
    const chainId = await rt.snapshots.unpack(parent, { mediaType, digest, size }, sha256(raw));
    return { chainId, fs: await rt.snapshots.layerPath(chainId) };
  }

  const expectRejected = async (entries: FixtureEntry[], err: RegExp, parent?: string) => {
    await expect(unpack(entries, parent)).rejects.toThrow(err);
    const parentCount = parent ? 1 : 0;
    expect((await rt.snapshots.listLayers()).length).toBe(parentCount);
  };

  const rel = (from: string) => path.relative(from, path.join(probe, "secret"));
  const deepRelOf = () => "../".repeat(12) + path.join(probe, "secret").slice(1);

  describe("escapes", () => {
    it("rejects '..' in entry names", async () => {
      await expectRejected([{ name: deepRelOf(), data: "pwned" }], /".." components/);
      await expectRejected([{ name: `a/../../${rel(root)}`, data: "pwned" }], /".." components/);
    });

    it("strips a leading '/' so absolute names land inside the layer", async () => {
      const { fs: dir } = await unpack([{ name: path.join(probe, "secret"), data: "inside" }]);
      expect(await fs.readFile(path.join(dir, probe.slice(1), "secret"), "utf8")).toBe("inside");
    });

    it("never writes through a symlink planted earlier in the same layer", async () => {
      for (const target of [probe, "../".repeat(12) + probe.slice(1)]) {
        await expectRejected(
          [
            { name: "link", type: "symlink", linkname: target },
            { name: "link/secret", data: "pwned" },
          ],
          /parent "link" .* is a symlink/,
        );
        await expectRejected(
          [
            { name: "d/", type: "directory" },
            { name: "d/link", type: "symlink", linkname: target },
            { name: "d/link/dir/inner", data: "pwned" },
          ],
          /is a symlink/,
        );
      }
    });

    it("replaces (never follows) a symlink when a file of the same name comes later", async () => {
      const { fs: dir } = await unpack([
        { name: "secretlink", type: "symlink", linkname: path.join(probe, "secret") },
        { name: "secretlink", data: "replaced", mode: 0o600 },
      ]);
      const st = await fs.lstat(path.join(dir, "secretlink"));
      expect(st.isFile()).toBe(true);
      expect(await fs.readFile(path.join(dir, "secretlink"), "utf8")).toBe("replaced");
    });

    it("does not follow symlinks inherited from a lower layer", async () => {
      const lower = await unpack([{ name: "link", type: "symlink", linkname: probe }]);
      const upper = await unpack([{ name: "link/secret", data: "upper" }], lower.chainId);
      expect((await fs.lstat(path.join(upper.fs, "link"))).isDirectory()).toBe(true);
      expect(await fs.readFile(path.join(upper.fs, "link", "secret"), "utf8")).toBe("upper");
      expect(await fs.readlink(path.join(lower.fs, "link"))).toBe(probe);
    });

    it("rejects hardlinks to targets outside the layer", async () => {
      await expectRejected([{ name: "hl", type: "link", linkname: deepRelOf() }], /".." components/);
      await expectRejected([{ name: "hl", type: "link", linkname: path.join(probe, "secret") }], /not in this layer/);
      await expectRejected(
        [
          { name: "d", type: "symlink", linkname: probe },
          { name: "hl", type: "link", linkname: "d/secret" },
        ],
        /not in this layer or passes through a symlink/,
      );
    });

    it("a hardlink to an escaping symlink is just another symlink, never followed", async () => {
      const { fs: dir } = await unpack([
        { name: "s", type: "symlink", linkname: path.join(probe, "secret"), mode: 0o777 },
        { name: "hl", type: "link", linkname: "s" },
      ]);
      expect((await fs.lstat(path.join(dir, "hl"))).isSymbolicLink()).toBe(true);
      expect(await fs.readlink(path.join(dir, "hl"))).toBe(path.join(probe, "secret"));
    });

    it("applies mode, owner and mtime of a symlink entry to the link only", async () => {
      const t = new Date("2030-01-01T00:00:00Z");
      const { fs: dir } = await unpack([
        { name: "s", type: "symlink", linkname: path.join(probe, "secret"), mode: 0o4777, uid: 1234, gid: 1234, mtime: t },
        { name: "d", type: "symlink", linkname: probe, mode: 0o777, uid: 1234, gid: 1234, mtime: t },
      ]);
      const st = await fs.lstat(path.join(dir, "s"));
      expect(st.uid).toBe(1234);
      expect(st.mtime.getTime()).toBe(t.getTime());
    });

    it("replaces a symlink by a directory entry without touching its target", async () => {
      const { fs: dir } = await unpack([
        { name: "d", type: "symlink", linkname: probe },
        { name: "d/", type: "directory", mode: 0o777, uid: 1234 },
      ]);
      expect((await fs.lstat(path.join(dir, "d"))).isDirectory()).toBe(true);
    });

    it("rejects whiteouts, opaque markers and fifos through symlinked parents", async () => {
      for (const name of ["link/.wh.secret", "link/.wh..wh..opq", "link/dir/.wh.inner"]) {
        await expectRejected([{ name: "link", type: "symlink", linkname: probe }, { name, data: "" }], /is a symlink/);
      }
      await expectRejected([{ name: "link", type: "symlink", linkname: probe }, { name: "link/fifo", type: "fifo" }], /is a symlink/);
      await expectRejected([{ name: "../.wh.secret", data: "" }], /".." components/);
    });

    it("rejects Unicode twins of '..' and '/', keeps NFC/NFD variants as distinct names", async () => {
      await expectRejected([{ name: "\uff0e\uff0e/\uff0e\uff0e/probe/secret", data: "pwned" }], /Unicode twin/);
      await expectRejected([{ name: "\u2025/x", data: "pwned" }], /Unicode twin/);
      await expectRejected([{ name: `a\uff0f..\uff0f${rel(root)}`, data: "pwned" }], /Unicode twin/);
      const { fs: dir } = await unpack([
        { name: "caf\u00e9", data: "nfc" },
        { name: "cafe\u0301", data: "nfd" },
      ]);
      expect(await fs.readFile(path.join(dir, "caf\u00e9"), "utf8")).toBe("nfc");
      expect(await fs.readFile(path.join(dir, "cafe\u0301"), "utf8")).toBe("nfd");
    });

    it("skips device nodes other than whiteouts", async () => {
      const { fs: dir } = await unpack([
        { name: "null", type: "character-device", devmajor: 1, devminor: 3 },
        { name: "sda", type: "block-device", devmajor: 8, devminor: 0 },
        { name: "ok", data: "ok" },
      ]);
      expect((await fs.readdir(dir)).sort()).toEqual(["ok"]);
    });
  });

  describe("bombs and bad layers", () => {
    it("stops a gzip bomb at the size cap and leaves nothing", async () => {
      const header = (await tarBuffer([{ name: "big", data: Buffer.alloc(0) }])).subarray(0, 512);
      const zeros = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
      let members = 0;
      async function* bomb() {
        yield gzipSync(header);
        for (; members < 160; members++) yield zeros; // 10 GiB uncompressed, ~10 MiB compressed
      }
      const { digest, size } = await rt.content.ingest(bomb());
      expect(size).toBeLessThan(20 * 1024 * 1024);
      const err = await rt.snapshots
        .unpack(undefined, { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size }, sha256("whatever"))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "InvalidArgument", message: expect.stringMatching(/exceeds the cap of 8388608 bytes/) });
      expect(await rt.snapshots.listLayers()).toEqual([]);
    });

    it("stops an inode bomb at the entry cap", async () => {
      const entries = Array.from({ length: 2_001 }, (_, i) => ({ name: `f${i}`, type: "directory" as const }));
      await expectRejected(entries, /more than 2000 entries/);
    });

    it("rejects a diff ID mismatch without committing", async () => {
      const raw = await tarBuffer([{ name: "a", data: "a" }]);
      const { digest, size } = await rt.content.ingest([raw]);
      await expect(rt.snapshots.unpack(undefined, { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }, sha256("other"))).rejects.toThrow(
        /expected diff ID/,
      );
      expect(await rt.snapshots.listLayers()).toEqual([]);
    });

    it("says NotImplemented for zstd layers on this Node, naming the media type", async () => {
      const blob = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)]);
      const { digest, size } = await rt.content.ingest([blob]);
      const p = rt.snapshots.unpack(undefined, { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest, size }, sha256("x"));
      if (typeof (await import("node:zlib") as Record<string, unknown>).createZstdDecompress === "function") {
        await expect(p).rejects.toMatchObject({ kind: "InvalidArgument" });
      } else {
        await expect(p).rejects.toMatchObject({ kind: "NotImplemented", message: expect.stringContaining("application/vnd.oci.image.layer.v1.tar+zstd") });
      }
    });

    it("rejects invalid whiteout names", async () => {
      await expectRejected([{ name: "a/.wh.", data: "" }], /not a valid whiteout/);
      await expectRejected([{ name: ".wh..wh.plnk", data: "" }], /not a valid whiteout/);
    });

    it("detects gzip by magic bytes whatever the media type says", async () => {
      const raw = await tarBuffer([{ name: "x", data: "gz" }]);
      const blob = gzip(raw);
      const { digest, size } = await rt.content.ingest([blob]);
      const chainId = await rt.snapshots.unpack(undefined, { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }, sha256(raw));
      expect(await fs.readFile(path.join(await rt.snapshots.layerPath(chainId), "x"), "utf8")).toBe("gz");
      expect(gunzipSync(blob).equals(raw)).toBe(true);
    });
  });

  describe("faithful unpack", () => {
    it("keeps modes (setuid too), owners, mtimes, symlinks, hardlinks, fifos", async () => {
      const dirTime = new Date("2010-01-01T00:00:00Z");
      const { fs: dir } = await unpack(
        [
          { name: "bin/", type: "directory", mode: 0o755, mtime: dirTime },
          { name: "bin/su", data: "x", mode: 0o4755, uid: 0, gid: 0 },
          { name: "bin/tool", data: "tool", mode: 0o2750, uid: 1000, gid: 1001 },
          { name: "bin/alias", type: "symlink", linkname: "/bin/tool" },
          { name: "bin/hard", type: "link", linkname: "bin/tool" },
          { name: "tmp/", type: "directory", mode: 0o1777 },
          { name: "run/pipe", type: "fifo", mode: 0o620, uid: 1000 },
        ],
        undefined,
        { gzip: true },
      );
      const su = await fs.lstat(path.join(dir, "bin/su"));
      expect(su.mode & 0o7777).toBe(0o4755);
      const tool = await fs.lstat(path.join(dir, "bin/tool"));
      expect([tool.mode & 0o7777, tool.uid, tool.gid]).toEqual([0o2750, 1000, 1001]);
      expect(tool.mtime.getTime()).toBe(FIXED_MTIME.getTime());
      expect(await fs.readlink(path.join(dir, "bin/alias"))).toBe("/bin/tool");
      expect((await fs.lstat(path.join(dir, "bin/hard"))).ino).toBe(tool.ino);
      expect((await fs.lstat(path.join(dir, "tmp"))).mode & 0o7777).toBe(0o1777);
      const pipe = await fs.lstat(path.join(dir, "run/pipe"));
      expect(pipe.isFIFO()).toBe(true);
      expect([pipe.mode & 0o777, pipe.uid]).toEqual([0o620, 1000]);
      expect((await fs.lstat(path.join(dir, "bin"))).mtime.getTime()).toBe(dirTime.getTime());
    });

    it.skipIf(!which("setfattr"))("turns whiteouts into 0/0 char devices and opaque markers into trusted.overlay.opaque", async () => {
      const { fs: dir } = await unpack([
        { name: "etc/.wh.gone", data: "" },
        { name: "var/.wh..wh..opq", data: "" },
        { name: "var/keep", data: "k" },
        { name: "dev0", type: "character-device", devmajor: 0, devminor: 0 },
      ]);
      for (const p of ["etc/gone", "dev0"]) {
        const st = await fs.lstat(path.join(dir, p));
        expect(st.isCharacterDevice()).toBe(true);
        expect(st.rdev).toBe(0);
      }
      expect(execFileSync("getfattr", ["--absolute-names", "-n", "trusted.overlay.opaque", "--only-values", path.join(dir, "var")], { encoding: "utf8" })).toBe("y");
      expect(await fs.readFile(path.join(dir, "var/keep"), "utf8")).toBe("k");
    });

    it("a file over the whole-body size (1 MiB) is written in chunks, byte for byte, with its metadata; a directory replaced by a file within the layer goes", async () => {
      const big = Buffer.alloc(3 * 1024 * 1024 + 123);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
      const when = new Date("2012-03-04T05:06:07Z");
      const { fs: dir } = await unpack(
        [
          { name: "data/", type: "directory" },
          { name: "data/old/", type: "directory" },
          { name: "data/old/x", data: "x" },
          { name: "data/old", data: "now a file" },
          { name: "data/blob.bin", data: big, mode: 0o640, uid: 1000, gid: 1002, mtime: when },
          { name: "data/after", data: "after" },
        ],
        undefined,
        { gzip: true },
      );
      expect(sha256(await fs.readFile(path.join(dir, "data/blob.bin")))).toBe(sha256(big));
      const st = await fs.lstat(path.join(dir, "data/blob.bin"));
      expect([st.mode & 0o7777, st.uid, st.gid, st.mtime.getTime()]).toEqual([0o640, 1000, 1002, when.getTime()]);
      expect(await fs.readFile(path.join(dir, "data/old"), "utf8")).toBe("now a file");
      expect(await fs.readFile(path.join(dir, "data/after"), "utf8")).toBe("after");
    });

    it("makes a layer's whiteouts hard links of one 0/0 device, and leaves no template behind", async () => {
      const { chainId, fs: dir } = await unpack([
        { name: "a/.wh.x", data: "" },
        { name: "a/.wh.y", data: "" },
        { name: "b/.wh.z", data: "" },
        { name: "b/.wh.z2", data: "" },
        { name: "b/z2", data: "back again" },
      ]);
      const sts = await Promise.all(["a/x", "a/y", "b/z"].map((p) => fs.lstat(path.join(dir, p))));
      for (const st of sts) expect([st.isCharacterDevice(), st.rdev, st.mode & 0o7777]).toEqual([true, 0, 0]);
      expect(new Set(sts.map((st) => st.ino)).size).toBe(1);
      expect(sts[0]!.nlink).toBe(3);
      expect((await fs.lstat(path.join(dir, "b/z2"))).isFile()).toBe(true);
      expect((await fs.readdir(path.dirname(dir))).sort()).toEqual(["fs", "meta.json"]);
      expect(chainId).toMatch(/^sha256:/);
    });

    it("unpacks one chain ID once under concurrency", async () => {
      const raw = await tarBuffer([{ name: "a", data: "a" }]);
      const { digest, size } = await rt.content.ingest([raw]);
      const desc = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size };
      const ids = await Promise.all(Array.from({ length: 4 }, () => rt.snapshots.unpack(undefined, desc, sha256(raw))));
      expect(new Set(ids).size).toBe(1);
      expect(await rt.snapshots.listLayers()).toEqual([ids[0]]);
      expect((await fs.readdir(path.join(root, "snapshots", "l"))).length).toBe(1);
    });

    describe("unpackChain", () => {
      const layerOf = async (entries: FixtureEntry[]) => {
        const raw = await tarBuffer(entries);
        const blob = gzip(raw);
        const { digest, size } = await rt.content.ingest([blob]);
        return { desc: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size }, diffId: sha256(raw) };
      };
      const gate = () => {
        let open!: () => void;
        let fail!: (err: unknown) => void;
        const ready = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
        return { ready, open, fail };
      };
      const preparedCount = async () => {
        const names = await fs.readdir(path.join(root, "snapshots", "tmp"));
        let n = 0;
        for (const d of names) if (existsSync(path.join(root, "snapshots", "tmp", d, "meta.json"))) n++;
        return n;
      };
      const until = async (what: string, ok: () => Promise<boolean>) => {
        for (let i = 0; i < 250; i++) {
          if (await ok()) return;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`timed out waiting for ${what}`);
      };

      it("unpacks each layer when it is ready, in any order, and makes none visible before the base is ready; then commits base first", async () => {
        const layers = [await layerOf([{ name: "a", data: "1" }]), await layerOf([{ name: "b", data: "2" }]), await layerOf([{ name: "a", data: "3" }])];
        const gates = layers.map(gate);
        const p = rt.snapshots.unpackChain(layers.map((l, i) => ({ ...l, ready: gates[i]!.ready })));
        gates[2]!.open();
        gates[1]!.open();
        await until("two layers unpacked in tmp/", async () => (await preparedCount()) === 2);
        expect(await rt.snapshots.listLayers()).toEqual([]);
        gates[0]!.open();
        const ids = await p;
        expect(ids).toHaveLength(3);
        expect(await rt.snapshots.listLayers()).toEqual([...ids].sort());
        expect((await rt.snapshots.layerMeta(ids[2]!)).parent).toBe(ids[1]);
        expect((await rt.snapshots.layerMeta(ids[1]!)).parent).toBe(ids[0]);
        expect(await rt.snapshots.layerMeta(ids[0]!)).not.toHaveProperty("parent");
        expect(await fs.readFile(path.join(await rt.snapshots.layerPath(ids[2]!), "a"), "utf8")).toBe("3");
        // Already unpacked: nothing to do, same IDs.
        expect(await rt.snapshots.unpackChain(layers)).toEqual(ids);
      });

      it("a bad layer fails the chain and leaves nothing uncommitted", async () => {
        const good = await layerOf([{ name: "a", data: "1" }]);
        const bad = await layerOf([{ name: "b", data: "2" }]);
        await expect(rt.snapshots.unpackChain([good, { ...bad, diffId: sha256("something else") }])).rejects.toMatchObject({
          kind: "InvalidArgument",
          message: expect.stringMatching(/expected diff ID/),
        });
        expect(await rt.snapshots.listLayers()).toEqual([]);
      });

      it("a failed download (a rejected ready) stops the layers still unpacking", async () => {
        const big = await layerOf(Array.from({ length: 300 }, (_, i) => ({ name: `d/f${i}`, data: `${i}` })));
        const second = await layerOf([{ name: "b", data: "2" }]);
        const g = gate();
        const p = rt.snapshots.unpackChain([big, { ...second, ready: g.ready }]);
        g.fail(new Error("download of layer 1 failed"));
        await expect(p).rejects.toThrow("download of layer 1 failed");
        expect(await rt.snapshots.listLayers()).toEqual([]);
      });

      it("an abort rejects with the signal's reason", async () => {
        const l = await layerOf([{ name: "a", data: "1" }]);
        const ac = new AbortController();
        const g = gate();
        const p = rt.snapshots.unpackChain([{ ...l, ready: g.ready }], ac.signal);
        ac.abort(new Error("stop the pull"));
        g.open();
        await expect(p).rejects.toThrow("stop the pull");
        expect(await rt.snapshots.listLayers()).toEqual([]);
      });

      describe("from a download's file as it grows", () => {
        const streamed = async (entries: FixtureEntry[]) => {
          const raw = await tarBuffer(entries);
          const blob = gzip(raw);
          const file = path.join(root, `download-${Math.random().toString(16).slice(2)}.partial`);
          await fs.writeFile(file, "");
          const grow = new GrowingFile(file, blob.length);
          const desc = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(blob), size: blob.length };
          let written = 0;
          const write = async (n: number) => {
            await fs.appendFile(file, blob.subarray(written, written + n));
            written += n;
            grow.wrote(written);
          };
          // The chain entry of this layer: unpacked from the file as it grows, committed once `ready`.
          const layer = (ready: Promise<void>, diffId = sha256(raw)) => ({ desc, diffId, ready, growing: Promise.resolve(grow.state) });
          return { raw, blob, file, grow, desc, write, layer };
        };
        const manyFiles = Array.from({ length: 200 }, (_, i) => ({ name: `d/f${i}`, data: `content ${i} `.repeat(50) }));

        it("unpacks while the bytes arrive, before the blob is committed, and commits only once it is", async () => {
          const s = await streamed(manyFiles);
          const g = gate();
          const p = rt.snapshots.unpackChain([s.layer(g.ready)]);
          await s.write(Math.floor(s.blob.length / 3));
          await new Promise((r) => setTimeout(r, 50));
          expect(await preparedCount()).toBe(0); // it waits for the rest
          await s.write(s.blob.length - Math.floor(s.blob.length / 3));
          // Unpacked from the file alone: the content store does not have the blob yet.
          await until("the layer unpacked in tmp/", async () => (await preparedCount()) === 1);
          expect(await rt.content.has(s.desc.digest)).toBe(false);
          expect(await rt.snapshots.listLayers()).toEqual([]);
          await rt.content.ingest([s.blob]);
          g.open();
          const [id] = await p;
          expect(await rt.snapshots.listLayers()).toEqual([id]);
          expect(await fs.readFile(path.join(await rt.snapshots.layerPath(id!), "d/f7"), "utf8")).toBe("content 7 ".repeat(50));
        });

        it("a download that starts over (its file abandoned) is unpacked from the committed blob", async () => {
          const s = await streamed(manyFiles);
          const g = gate();
          const p = rt.snapshots.unpackChain([s.layer(g.ready)]);
          await s.write(100);
          s.grow.abandon();
          await fs.rm(s.file);
          await rt.content.ingest([s.blob]);
          g.open();
          const [id] = await p;
          expect(await fs.readFile(path.join(await rt.snapshots.layerPath(id!), "d/f199"), "utf8")).toBe("content 199 ".repeat(50));
        });

        it("a file already moved into the store when the unpack starts: the committed blob is unpacked", async () => {
          const s = await streamed([{ name: "a", data: "1" }]);
          await fs.rm(s.file);
          await rt.content.ingest([s.blob]);
          const [id] = await rt.snapshots.unpackChain([s.layer(Promise.resolve())]);
          expect(await fs.readFile(path.join(await rt.snapshots.layerPath(id!), "a"), "utf8")).toBe("1");
        });

        it("bytes that do not match the diff ID fail the layer, streamed or not; nothing is committed", async () => {
          const s = await streamed([{ name: "a", data: "1" }]);
          await s.write(s.blob.length);
          await rt.content.ingest([s.blob]);
          const p = rt.snapshots.unpackChain([s.layer(Promise.resolve(), sha256("another tar"))]);
          await expect(p).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringMatching(/expected diff ID/) });
          expect(await rt.snapshots.listLayers()).toEqual([]);
        });

        it("a failed download stops the unpack reading its file and leaves nothing", async () => {
          const s = await streamed(manyFiles);
          const g = gate();
          const p = rt.snapshots.unpackChain([s.layer(g.ready)]);
          await s.write(1000);
          s.grow.abandon();
          g.fail(new Error("the connection was lost for good"));
          await expect(p).rejects.toThrow("the connection was lost for good");
          expect(await rt.snapshots.listLayers()).toEqual([]);
        });
      });

      it("shares layers with unpack() running at the same time: each is unpacked once", async () => {
        const layers = [await layerOf([{ name: "a", data: "1" }]), await layerOf([{ name: "b", data: "2" }])];
        const [chain, one] = await Promise.all([rt.snapshots.unpackChain(layers), rt.snapshots.unpack(undefined, layers[0]!.desc, layers[0]!.diffId)]);
        expect(one).toBe(chain[0]);
        expect((await rt.snapshots.listLayers()).length).toBe(2);
        expect((await fs.readdir(path.join(root, "snapshots", "l"))).length).toBe(2);
      });
    });

    it("requires the parent to be unpacked", async () => {
      const raw = await tarBuffer([{ name: "a", data: "a" }]);
      const { digest, size } = await rt.content.ingest([raw]);
      await expect(
        rt.snapshots.unpack(sha256("parent"), { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }, sha256(raw)),
      ).rejects.toMatchObject({ kind: "FailedPrecondition" });
    });
  });
});

describe.skipIf(skip || !!workerMissing)("the unpack pool's worker threads", () => {
  it("closing the pool rejects the unpacks running and queued on it, and leaves no thread behind", async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unpack-pool-"));
    const pool = new UnpackPool({ logger: pino({ level: "silent" }), workerScript: WORKER, threads: 1 });
    try {
      const raw = await tarBuffer(Array.from({ length: 400 }, (_, i) => ({ name: `d/f${i}`, data: `${i}` })));
      const blobPath = path.join(base, "layer.tar.gz");
      await fs.writeFile(blobPath, gzip(raw));
      const req = (n: number) => ({ blobPath, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", target: path.join(base, `t${n}`), diffId: sha256(raw), maxBytes: 1e8, maxEntries: 1e4, chown: false, what: `unpack ${n}` });
      for (const n of [0, 1, 2]) await fs.mkdir(path.join(base, `t${n}`));
      await pool.warm(); // a worker with its modules loaded, before any unpack
      expect(await pool.unpack(req(0))).toEqual({ size: raw.length, entries: 400 });
      const settled = (p: Promise<unknown>) => p.then((v) => ({ resolved: v }), (err: unknown) => err);
      const running = settled(pool.unpack(req(1)));
      const queued = settled(pool.unpack(req(2)));
      await pool.close();
      expect(await running).toMatchObject({ kind: "Internal", message: expect.stringMatching(/unpack 1: the unpack pool closed/) });
      expect(await queued).toMatchObject({ kind: "Internal", message: expect.stringMatching(/unpack 2: the unpack pool closed/) });
      await expect(pool.unpack(req(0))).rejects.toMatchObject({ kind: "Internal" });
      await expect(pool.warm()).resolves.toBeUndefined(); // closed: nothing to start
    } finally {
      await pool.close();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});
