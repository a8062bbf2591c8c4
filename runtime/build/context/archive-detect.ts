import * as zlib from "node:zlib";
import { detectCompression, type Compression } from "../../snapshots/decompress.js";
import type { SourceEntry } from "./types.js";
import type { SourceRoot } from "./walk.js";

/**
 * Whether an ADD source is a local tar archive to extract, judged by content as Docker's
 * archive.IsArchivePath does (never by the file name).
 *
 * - Uncompressed: the first 512-byte block must be a tar header whose checksum is right
 *   (Go's archive/tar accepts the unsigned or the signed sum) and whose size field parses;
 *   an empty file, a short file or an all-zero block is not an archive.
 * - gzip: the head is inflated and its first block checked the same way.
 * - bzip2, xz, zstd: Node 20 has no decoder, so the magic alone decides; the extractor must
 *   report a stream that is not a tar after all (Docker would have copied such a file).
 * Reads at most 64 KiB of the file, through the safe reader.
 */

const HEAD_BYTES = 64 * 1024;
const BLOCK = 512;

/** The compression of an archive to extract, or undefined when the file is copied as is. */
export async function detectArchive(root: SourceRoot, entry: SourceEntry, what?: string): Promise<Compression | undefined> {
  const fh = await root.openFile(entry, what);
  let head: Buffer;
  try {
    const buf = Buffer.alloc(Math.min(HEAD_BYTES, Math.max(entry.size, BLOCK)));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  return archiveCompression(head);
}

/** The pure part of detectArchive, over the first bytes of a file. */
export function archiveCompression(head: Buffer): Compression | undefined {
  const compression = detectCompression(head);
  switch (compression) {
    case "none":
      return isTarHeader(head.subarray(0, BLOCK)) ? "none" : undefined;
    case "gzip": {
      let inflated: Buffer;
      try {
        inflated = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch {
        return undefined;
      }
      return isTarHeader(inflated.subarray(0, BLOCK)) ? "gzip" : undefined;
    }
    default:
      return compression;
  }
}

/** A tar header block as Go's reader accepts it (checksum and size field). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < BLOCK) return false;
  if (block.every((b) => b === 0)) return false;
  const stored = parseOctal(block.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) return false;
  // The size field: octal, or GNU base-256 (high bit set).
  const size = block.subarray(124, 136);
  return (size[0]! & 0x80) !== 0 || parseOctal(size) !== undefined;
}

function parseOctal(field: Buffer): number | undefined {
  const s = field.toString("latin1").replace(/^[ \0]+|[ \0]+$/g, "");
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  return parseInt(s, 8);
}
