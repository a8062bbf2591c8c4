import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GrowingFile, GrowingFileGone, readGrowingFile } from "./growing-file.js";

describe("growing file", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-growing-"));
    file = path.join(dir, "blob.partial");
    await fs.writeFile(file, "");
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Collects what the reader yields, in the background. */
  const collect = (it: AsyncGenerator<Buffer>) => {
    const got: Buffer[] = [];
    const done = (async () => {
      for await (const c of it) got.push(c);
    })();
    done.catch(() => {});
    return { got, done, text: () => Buffer.concat(got).toString() };
  };
  const settle = () => new Promise((r) => setTimeout(r, 30));

  it("yields the bytes as they are announced, never past what the writer said, and ends at the final size", async () => {
    const g = new GrowingFile(file, 10);
    const r = collect(readGrowingFile(g.state, { chunkBytes: 4 }));
    // In the file but not announced: not read.
    await fs.appendFile(file, "abcdef");
    await settle();
    expect(r.text()).toBe("");
    g.wrote(3);
    await settle();
    expect(r.text()).toBe("abc");
    g.wrote(6);
    await fs.appendFile(file, "ghij");
    g.wrote(10);
    await r.done;
    expect(r.text()).toBe("abcdefghij");
    expect(Math.max(...r.got.map((b) => b.length))).toBeLessThanOrEqual(4);
  });

  it("starts from bytes an earlier attempt left in the file", async () => {
    await fs.writeFile(file, "resume");
    const g = new GrowingFile(file, 6, 6);
    const r = collect(readGrowingFile(g.state));
    await r.done;
    expect(r.text()).toBe("resume");
  });

  it("throws GrowingFileGone when the writer abandons the file, waiting or not", async () => {
    const g = new GrowingFile(file, 100);
    const r = collect(readGrowingFile(g.state, { pollMs: 10_000 }));
    await fs.appendFile(file, "xy");
    g.wrote(2);
    await settle();
    g.abandon(); // wakes the wait at once, not after pollMs
    await expect(r.done).rejects.toBeInstanceOf(GrowingFileGone);
    expect(r.text()).toBe("xy");
    expect(g.abandoned).toBe(true);
    await expect(collect(readGrowingFile(g.state)).done).rejects.toBeInstanceOf(GrowingFileGone);
  });

  it("throws GrowingFileGone when the file is not there (already moved into the store)", async () => {
    const g = new GrowingFile(path.join(dir, "moved.partial"), 5, 5);
    await expect(collect(readGrowingFile(g.state)).done).rejects.toBeInstanceOf(GrowingFileGone);
  });

  it("does not follow a symlink put in the file's place", async () => {
    const target = path.join(dir, "elsewhere");
    await fs.writeFile(target, "secret");
    const link = path.join(dir, "link.partial");
    await fs.symlink(target, link);
    const g = new GrowingFile(link, 6, 6);
    await expect(collect(readGrowingFile(g.state)).done).rejects.toBeInstanceOf(GrowingFileGone);
  });

  it("an abort stops a reader waiting for bytes", async () => {
    const g = new GrowingFile(file, 100);
    const ac = new AbortController();
    const r = collect(readGrowingFile(g.state, { pollMs: 10, signal: ac.signal }));
    await settle();
    ac.abort(new Error("pull cancelled"));
    await expect(r.done).rejects.toThrow("pull cancelled");
  });

  it("wrote() never moves the count back", async () => {
    await fs.appendFile(file, "12345");
    const g = new GrowingFile(file, 5);
    g.wrote(5);
    g.wrote(2);
    const r = collect(readGrowingFile(g.state));
    await r.done;
    expect(r.text()).toBe("12345");
  });
});
