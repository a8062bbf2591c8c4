import { createReadStream, promises as fs } from "node:fs";
import { pipeline, Readable } from "node:stream";
import * as zlib from "node:zlib";
import { notImplemented } from "../../lib/errors.js";
import { readGrowingFile, type GrowingFileState } from "./growing-file.js";

export type Compression = "none" | "gzip" | "zstd" | "bzip2" | "xz";

/** Compression of a blob from its first bytes (never from its media type alone). */
export function detectCompression(head: Uint8Array): Compression {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return "gzip";
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  if (b.length >= 3 && b.toString("latin1", 0, 3) === "BZh") return "bzip2";
  if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
  return "none";
}

export async function detectFileCompression(file: string): Promise<Compression> {
  const fh = await fs.open(file, "r");
  try {
    const buf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(buf, 0, 8, 0);
    return detectCompression(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** OCI layer media type for a compression, as berth writes it. */
export function ociLayerMediaType(c: Compression): string {
  switch (c) {
    case "none":
      return "application/vnd.oci.image.layer.v1.tar";
    case "gzip":
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case "zstd":
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    default:
      return `application/x-${c}`;
  }
}

type ZstdFactory = () => NodeJS.ReadWriteStream;

/**
 * Opens a blob and returns its decompressed bytes as a stream. gzip always; zstd when this
 * Node has zlib zstd (22.15+), else NotImplemented naming `mediaType`; bzip2/xz are
 * NotImplemented. Breaking out of the iteration closes the file. The blob is a file, or a
 * file still being downloaded (growing-file.ts: its bytes as they are written).
 */
export async function openDecompressed(
  source: string | GrowingFileState,
  mediaType: string,
  what: string,
  signal?: AbortSignal,
): Promise<AsyncIterable<Buffer>> {
  if (typeof source === "string") {
    const compression = await detectFileCompression(source);
    return decode(createReadStream(source, { highWaterMark: 1 << 20 }), compression, mediaType, what);
  }
  // The compression is known from the first bytes written; those are given back to the decoder.
  const raw = readGrowingFile(source, signal ? { signal } : {});
  const head: Buffer[] = [];
  let n = 0;
  while (n < 8) {
    const r = await raw.next();
    if (r.done) break;
    head.push(r.value);
    n += r.value.length;
  }
  const compression = detectCompression(Buffer.concat(head));
  const all = (async function* () {
    yield* head;
    yield* raw;
  })();
  return decode(Readable.from(all, { objectMode: false }), compression, mediaType, what);
}

function decode(raw: Readable, compression: Compression, mediaType: string, what: string): AsyncIterable<Buffer> {
  let decoder: NodeJS.ReadWriteStream | undefined;
  switch (compression) {
    case "none":
      return raw;
    case "gzip":
      decoder = zlib.createGunzip({ chunkSize: 1 << 20 });
      break;
    case "zstd": {
      const make = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
      if (typeof make !== "function") {
        raw.destroy();
        throw notImplemented(
          `${what}: zstd-compressed layers (${mediaType}) need Node.js with zlib zstd support (22.15 or newer)`,
        );
      }
      decoder = make();
      break;
    }
    default:
      raw.destroy();
      throw notImplemented(`${what}: ${compression}-compressed layers (${mediaType}) are not supported`);
  }
  pipeline(raw, decoder, () => {});
  return decoder as unknown as AsyncIterable<Buffer>;
}
