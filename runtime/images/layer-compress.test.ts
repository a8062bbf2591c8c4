import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { adaptiveGzip, looksCompressible } from "./layer-compress.js";

async function compress(parts: Buffer[], slowReader = false): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(parts),
    adaptiveGzip(6),
    new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        if (slowReader) setTimeout(cb, 1);
        else cb();
      },
    }),
  );
  return Buffer.concat(out);
}

const text = (n: number) => Buffer.from(Array.from({ length: Math.ceil(n / 40) }, (_, i) => `line ${i} of a very ordinary text file\n`).join("").slice(0, n));

describe("adaptiveGzip", () => {
  it("tells random bytes from text by a sample", () => {
    expect(looksCompressible(randomBytes(128 * 1024))).toBe(false);
    expect(looksCompressible(text(128 * 1024))).toBe(true);
    expect(looksCompressible(Buffer.alloc(100))).toBe(true);
  });

  it("is one gzip member that gunzip reads back exactly, from chunks of any size", async () => {
    const input = Buffer.concat([text(300_000), randomBytes(700_000), text(50_000), randomBytes(1000), text(200_000)]);
    const parts: Buffer[] = [];
    for (let off = 0; off < input.length; ) {
      const n = [1, 511, 4096, 65536, 200_000][parts.length % 5]!;
      parts.push(input.subarray(off, off + n));
      off += n;
    }
    const gz = await compress(parts);
    expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gunzipSync(gz).equals(input)).toBe(true);
  });

  it("stores random blocks (no bigger than deflate's output) and compresses text as well as level 6", async () => {
    const random = randomBytes(1_000_000);
    const rgz = await compress([random]);
    expect(rgz.length).toBeLessThanOrEqual(gzipSync(random, { level: 6 }).length + 64);
    const t = text(1_000_000);
    const tgz = await compress([t]);
    expect(tgz.length).toBeLessThanOrEqual(gzipSync(t, { level: 6 }).length * 1.02);
  });

  it("gives the same bytes for the same input, and honours a slow reader", async () => {
    const input = Buffer.concat([randomBytes(400_000), text(400_000)]);
    const a = await compress([input]);
    const b = await compress([input.subarray(0, 12345), input.subarray(12345)], true);
    expect(a.equals(b)).toBe(true);
    expect(gunzipSync(b).equals(input)).toBe(true);
  });
});
