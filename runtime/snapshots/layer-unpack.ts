import { createHash } from "node:crypto";
import type { Header } from "tar-stream";
import * as path from "node:path";
import type { Logger } from "pino";
import { invalidArgument, isBerthError } from "../../lib/errors.js";
import { openDecompressed } from "./decompress.js";
import { entryComponents } from "./entry-path.js";
import type { GrowingFileState } from "./growing-file.js";
import { LayerWriter, SMALL_FILE_BYTES } from "./layer-writer.js";
import { readTar, type TarHandler } from "./tar-reader.js";

export interface UnpackLayerOptions {
  /** Committed blob (compressed or not: detected from its magic bytes). */
  blobPath: string;
  /** When given, the blob is read from this file as it is downloaded instead (growing-file.ts). */
  growing?: GrowingFileState;
  mediaType: string;
  /** Fresh, private, empty directory to fill. */
  target: string;
  /** The uncompressed tar must hash to this (rootfs.diff_ids entry). */
  diffId: string;
  /** Cap on uncompressed bytes; exceeding it aborts with InvalidArgument. */
  maxBytes: number;
  maxEntries: number;
  chown: boolean;
  logger: Logger;
  signal?: AbortSignal;
  /** Names the layer in errors: "unpack layer sha256:...". */
  what: string;
  /** A private directory beside `target` (same filesystem) for the writer's scratch files (its whiteout template). */
  scratch?: string;
}

/**
 * Decompresses, hashes and applies one layer into `target` in a single streaming pass. On
 * any error (cap exceeded, bad tar, hostile entry, diff ID mismatch) it throws and leaves the
 * partial content in `target` for the caller to remove; `target` must therefore never be a
 * visible snapshot. Errors that are not BerthErrors are wrapped as InvalidArgument: a layer
 * that cannot be read is bad input.
 */
export async function unpackLayer(o: UnpackLayerOptions): Promise<{ size: number; entries: number }> {
  const writer = new LayerWriter(o.target, {
    chown: o.chown,
    maxEntries: o.maxEntries,
    logger: o.logger,
    what: o.what,
    ...(o.scratch ? { whiteoutTemplate: path.join(o.scratch, "whiteout") } : {}),
  });
  const read = await readLayerTar(o, { entry: (h, body) => writer.entry(h, body), large: (h) => writer.large(h) }, SMALL_FILE_BYTES, () => writer.finish());
  if (read.diffId !== o.diffId) {
    throw invalidArgument(`${o.what}: uncompressed content has digest ${read.diffId}, expected diff ID ${o.diffId}`);
  }
  return { size: read.size, entries: read.entries };
}

/**
 * The one read path of a layer blob: decompress (detected by magic bytes), stop past
 * `maxBytes` uncompressed, hash the tar while `onEntry` sees each entry in order, then
 * `finish`. Errors that are not BerthErrors are wrapped as InvalidArgument (a layer that
 * cannot be read is bad input); an abort is passed through.
 */
async function readLayerTar(
  o: { blobPath: string; growing?: GrowingFileState; mediaType: string; maxBytes: number; what: string; signal?: AbortSignal },
  handler: TarHandler,
  wholeBodyMax: number,
  finish: () => Promise<void> = async () => {},
): Promise<{ diffId: string; size: number; entries: number }> {
  const hash = createHash("sha256");
  let size = 0;
  let entries = 0;
  try {
    const decompressed = await openDecompressed(o.growing ?? o.blobPath, o.mediaType, o.what, o.signal);
    const tapped = (async function* () {
      for await (const chunk of decompressed) {
        o.signal?.throwIfAborted();
        size += chunk.byteLength;
        if (size > o.maxBytes) throw invalidArgument(`${o.what}: uncompressed size exceeds the cap of ${o.maxBytes} bytes`);
        hash.update(chunk);
        yield chunk;
      }
    })();
    const counted: TarHandler = {
      entry: (h, body) => {
        entries++;
        return handler.entry(h, body);
      },
      large: (h) => {
        entries++;
        return handler.large(h);
      },
    };
    await readTar(tapped, counted, { wholeBodyMax, ...(o.signal ? { signal: o.signal } : {}) });
    await finish();
  } catch (err) {
    if (isBerthError(err) || o.signal?.aborted) throw err;
    throw invalidArgument(`${o.what}: ${(err as Error).message}`, { cause: err });
  }
  return { diffId: `sha256:${hash.digest("hex")}`, size, entries };
}

/**
 * Computes the diff ID of a layer blob (digest of its uncompressed tar) and checks that it is
 * a well-formed tar with acceptable entry names, without writing anything.
 */
export async function inspectLayer(o: {
  blobPath: string;
  mediaType: string;
  maxBytes: number;
  maxEntries: number;
  what: string;
  signal?: AbortSignal;
}): Promise<{ diffId: string; size: number; entries: number }> {
  let entries = 0;
  const check = (h: Header) => {
    if (++entries > o.maxEntries) throw invalidArgument(`${o.what}: more than ${o.maxEntries} entries`);
    entryComponents(h.name, "entry");
    if (h.type === "link") entryComponents(h.linkname ?? "", "hardlink target");
  };
  // Bodies are not looked at: none is gathered.
  return readLayerTar(o, { entry: check, large: (h) => (check(h), { write() {}, end() {} }) }, 0);
}
