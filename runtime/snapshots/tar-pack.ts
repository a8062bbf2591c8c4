/**
 * Writing entries into a tar-stream pack with promises: what the layer writers of commit
 * (layer-diff.ts) and of the builder's COPY (build/executor/copy-layer.ts) share.
 *
 * - `packEntry(pack, header, body?)`: an entry without a body (directory, link, device) or
 *   with a small one in memory; resolves once the pack took it.
 * - `packFileBody(pack, header, fh, onChunk?)`: a regular file of `header.size` bytes read
 *   from an open descriptor (the caller checked it is the file it means, and closes it);
 *   `onChunk` sees every chunk (a hash). Reads exactly `header.size` bytes from offset 0.
 */
import type { FileHandle } from "node:fs/promises";
import type { Pack } from "tar-stream";

export type PackHeader = Parameters<Pack["entry"]>[0];

export function packEntry(pack: Pack, header: PackHeader, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (body) pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
    else pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
}

export function packFileBody(pack: Pack, header: PackHeader & { size: number }, fh: FileHandle, onChunk?: (chunk: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...header, type: "file" }, (err) => (err ? reject(err) : resolve()));
    // the entry errors when the pack is destroyed mid-file (a reader that went away): a rejection, not an unhandled 'error'
    (sink as NodeJS.EventEmitter).on("error", reject);
    if (header.size === 0) {
      (sink as NodeJS.WritableStream).end();
      return;
    }
    const src = fh.createReadStream({ start: 0, end: header.size - 1, autoClose: false, highWaterMark: 1 << 20 });
    if (onChunk) src.on("data", (c) => onChunk(c as Buffer));
    src.on("error", reject);
    src.pipe(sink);
  });
}
