/**
 * Gzip for the layers berth writes (builds, commits), which skips the work of compressing
 * what will not compress. zlib's deflate spends as long on random or already-compressed
 * bytes (media, archives, generated blobs) as on text — ~17 ms per MB here at any level
 * from 1 to 6 — for no gain at all. So the input is cut into 128 KiB blocks, and a sample of
 * each block (four 1 KiB slices) is deflated first: a block whose sample does not shrink
 * below 95% is stored (level 0: a copy and a CRC, ~2 ms per MB), the others are compressed
 * at `level`. The switch is zlib's deflateParams, mid-stream: the output is one ordinary
 * gzip member any gunzip reads, and the same input always gives the same bytes (btrfs and
 * ZFS decide the same way, from a sample, whether to compress).
 */
import { Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";

/** zlib streams' deflateParams (runtime API of Gzip; @types/node 20 types it on Deflate only). */
type Params = { params(level: number, strategy: number, cb: (err?: Error | null) => void): void };

const BLOCK = 128 * 1024;
const SLICE = 1024;
const STORE_ABOVE = 0.95;

/** True when a sample of `block` deflates to under 95% of its size. */
export function looksCompressible(block: Buffer): boolean {
  if (block.length < 4 * SLICE) return true;
  const step = Math.floor((block.length - SLICE) / 3);
  const sample = Buffer.concat([0, 1, 2, 3].map((i) => block.subarray(i * step, i * step + SLICE)));
  return zlib.deflateRawSync(sample, { level: 1 }).length < sample.length * STORE_ABOVE;
}

/** A gzip transform that stores incompressible blocks instead of deflating them. */
export function adaptiveGzip(level = 6): Transform {
  const gz = zlib.createGzip({ level });
  let current = level;
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const writeBlock = (block: Buffer, cb: (err?: Error | null) => void) => {
    const want = looksCompressible(block) ? level : 0;
    const write = () => (gz.write(block) ? cb() : gz.once("drain", () => cb()));
    if (want === current) return write();
    current = want;
    (gz as unknown as Params).params(want, zlib.constants.Z_DEFAULT_STRATEGY, (err?: Error | null) => (err ? cb(err) : write()));
  };

  const out = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < BLOCK) return cb();
      const all = Buffer.concat(pending, pendingBytes);
      const whole = all.length - (all.length % BLOCK);
      const rest = all.subarray(whole);
      pending = rest.length ? [rest] : [];
      pendingBytes = rest.length;
      let off = 0;
      const next = (err?: Error | null) => {
        if (err) return cb(err);
        if (off >= whole) return cb();
        const block = all.subarray(off, off + BLOCK);
        off += BLOCK;
        writeBlock(block, next);
      };
      next();
    },
    flush(cb: TransformCallback) {
      const finish = (err?: Error | null) => {
        if (err) return cb(err);
        gz.once("end", () => cb());
        gz.end();
      };
      if (pendingBytes) writeBlock(Buffer.concat(pending, pendingBytes), finish);
      else finish();
    },
    destroy(err, cb) {
      gz.destroy();
      cb(err);
    },
  });
  // The reader's backpressure reaches zlib: a full output buffer pauses it until read.
  gz.on("data", (d: Buffer) => {
    if (!out.push(d)) gz.pause();
  });
  gz.on("error", (err) => out.destroy(err));
  const read = out._read.bind(out);
  out._read = (n: number) => {
    gz.resume();
    read(n);
  };
  return out;
}
