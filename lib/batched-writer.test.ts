import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BatchedWriter } from "./batched-writer.js";

/** A FileHandle whose writev is held until released, and may write short or fail. */
class HeldHandle {
  readonly data: Buffer[] = [];
  calls = 0;
  private waiting: (() => void)[] = [];
  hold = false;
  /** Bytes each writev writes at most. */
  shortBy = Infinity;
  failNext: Error | undefined;

  async writev(buffers: Uint8Array[]): Promise<{ bytesWritten: number }> {
    this.calls++;
    if (this.hold) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    const all = Buffer.concat(buffers);
    const n = Math.min(all.length, this.shortBy);
    this.data.push(all.subarray(0, n));
    return { bytesWritten: n };
  }

  release(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const r of w) r();
  }

  get held(): number {
    return this.waiting.length;
  }

  asHandle(): FileHandle {
    return this as unknown as FileHandle;
  }
}

const chunk = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const tick = () => new Promise((r) => setImmediate(r));

describe("BatchedWriter", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-batched-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("writes every chunk in order to a real file, in batches, and reports what reached it", async () => {
    const file = path.join(dir, "out");
    const fh = await fs.open(file, "a");
    const seen: number[] = [];
    const w = new BatchedWriter(fh, { batchBytes: 1000, onWritten: (t) => seen.push(t) });
    const expected: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) {
      const c = chunk(37 + (i % 5), i);
      expected.push(c);
      await w.write(c);
    }
    await w.flush();
    await fh.close();
    const got = await fs.readFile(file);
    expect(got.equals(Buffer.concat(expected))).toBe(true);
    expect(w.written).toBe(got.length);
    expect(seen.at(-1)).toBe(got.length);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.length).toBeLessThan(20); // batches, not one write per chunk
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
  });

  it("keeps one write in flight and blocks write() once too much is pending", async () => {
    const h = new HeldHandle();
    h.hold = true;
    const w = new BatchedWriter(h.asHandle(), { batchBytes: 10, maxPendingBytes: 30 });
    await w.write(chunk(10, 1)); // starts a write, held
    await tick();
    expect(h.held).toBe(1);
    await w.write(chunk(10, 2));
    await w.write(chunk(10, 3)); // 10 in flight + 20 pending: at the limit, not over
    let blocked = true;
    const p = w.write(chunk(10, 4)).then(() => (blocked = false));
    await tick();
    expect(blocked).toBe(true);
    expect(h.calls).toBe(1); // the pending ones wait for the write in flight
    h.hold = false;
    h.release();
    await p;
    await w.flush();
    expect(Buffer.concat(h.data)).toEqual(Buffer.concat([chunk(10, 1), chunk(10, 2), chunk(10, 3), chunk(10, 4)]));
  });

  it("continues a short write where it stopped", async () => {
    const h = new HeldHandle();
    h.shortBy = 7;
    const w = new BatchedWriter(h.asHandle(), { batchBytes: 5 });
    await w.write(chunk(4, 1));
    await w.write(chunk(9, 2));
    await w.write(chunk(3, 3));
    await w.flush();
    expect(Buffer.concat(h.data)).toEqual(Buffer.concat([chunk(4, 1), chunk(9, 2), chunk(3, 3)]));
    expect(w.written).toBe(16);
  });

  it("throws a failed write from flush, and from the next write", async () => {
    const h = new HeldHandle();
    h.failNext = new Error("ENOSPC");
    const w = new BatchedWriter(h.asHandle(), { batchBytes: 4 });
    await w.write(chunk(4, 1));
    await expect(w.flush()).rejects.toThrow("ENOSPC");
    await expect(w.write(chunk(1, 2))).rejects.toThrow("ENOSPC");
    expect(w.written).toBe(0);
  });

  it("abandon waits for the write in flight and drops the rest", async () => {
    const h = new HeldHandle();
    h.hold = true;
    const w = new BatchedWriter(h.asHandle(), { batchBytes: 4 });
    await w.write(chunk(4, 1));
    await w.write(chunk(2, 2));
    let done = false;
    const p = w.abandon().then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    h.hold = false;
    h.release();
    await p;
    expect(h.calls).toBe(1);
    expect(Buffer.concat(h.data)).toEqual(Buffer.from(chunk(4, 1)));
  });
});
