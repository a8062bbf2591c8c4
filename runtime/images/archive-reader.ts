import { promises as fs, constants as fsc } from "node:fs";
import * as path from "node:path";
import type { Logger } from "pino";
import { invalidArgument, isBerthError, notImplemented } from "../../lib/errors.js";
import type { FsContentStore } from "../content/content-store.js";
import type { ArchiveLimits } from "./archive-limits.js";
import { detectFileCompression, openDecompressed } from "../snapshots/decompress.js";
import { forEachTarEntry } from "../snapshots/tar-entries.js";

/**
 * Reads an image archive (a `docker save` tar, an OCI image layout tar, either gzipped, or the
 * same as a directory) into a table of entries, treating it as hostile:
 *
 * - Every entry name is checked by `archiveEntryName` (no absolute paths, no `..`, no NUL,
 *   bounded lengths); duplicates are an error. Names are only ever keys in the table —
 *   never filesystem paths (for a directory, the walk uses lstat and never follows links).
 * - Every regular file is ingested into the content store under a size cap; files under
 *   `blobs/sha256/<hex>` must hash to `<hex>` (InvalidArgument otherwise). Metadata files
 *   (`manifest.json`, `index.json`, `oci-layout`, `repositories`) are kept in memory, capped.
 * - Symlinks and hardlinks are recorded as aliases and resolved lexically inside the archive
 *   by `resolveArchiveFile` (Docker writes `<id>/layer.tar` links for shared layers).
 * - The number of entries and the directory depth are capped.
 *
 * The caller pins `ingested` digests against prune while it works and deletes those no image
 * ends up referencing.
 */
export { defaultArchiveLimits, type ArchiveLimits } from "./archive-limits.js";

export interface ArchiveFile {
  digest: string;
  size: number;
}

export interface ArchiveTable {
  files: Map<string, ArchiveFile>;
  aliases: Map<string, { kind: "symlink" | "hardlink"; target: string }>;
  metadata: Map<string, Buffer>;
  /** Every digest committed while reading (some may have existed before). */
  ingested: Set<string>;
}

export const METADATA_FILES = new Set(["manifest.json", "index.json", "oci-layout", "repositories"]);
const BLOB_RE = /^blobs\/sha256\/([a-f0-9]{64})$/;
const MAX_DEPTH = 16;

/** Normalized entry name (`./a//b/` → `a/b`); InvalidArgument for anything unsafe. */
export function archiveEntryName(raw: string): string {
  const bad = (why: string) => invalidArgument(`load images: archive entry ${JSON.stringify(raw.slice(0, 200))}: ${why}`);
  if (raw.includes("\0")) throw bad("name contains a NUL byte");
  if (Buffer.byteLength(raw) > 1024) throw bad("name longer than 1024 bytes");
  if (raw.startsWith("/")) throw bad("absolute names are not allowed");
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) throw bad('".." components are not allowed');
  if (parts.length > MAX_DEPTH) throw bad(`deeper than ${MAX_DEPTH} levels`);
  return parts.join("/");
}

/**
 * Resolves an archive name (from manifest.json) to a file, following aliases lexically and
 * never above the archive root. Undefined when there is no such file.
 */
export function resolveArchiveFile(table: ArchiveTable, name: string): ArchiveFile | undefined {
  let cur = archiveEntryName(name);
  for (let hops = 0; hops < 8; hops++) {
    const f = table.files.get(cur);
    if (f) return f;
    const alias = table.aliases.get(cur);
    if (!alias) return undefined;
    let next: string;
    if (alias.kind === "hardlink") next = alias.target;
    else {
      if (alias.target.startsWith("/")) return undefined;
      next = path.posix.normalize(path.posix.join(path.posix.dirname(cur), alias.target));
      if (next === ".." || next.startsWith("../") || next.startsWith("/")) return undefined;
    }
    cur = archiveEntryName(next);
  }
  return undefined;
}

interface ReadContext {
  content: FsContentStore;
  limits: ArchiveLimits;
  logger: Logger;
  signal?: AbortSignal;
  /** Called before each ingest result is used, so the caller can pin it. */
  onIngest: (digest: string) => void;
}

function newTable(): ArchiveTable {
  return { files: new Map(), aliases: new Map(), metadata: new Map(), ingested: new Set() };
}

function claim(table: ArchiveTable, name: string, count: { n: number }, limits: ArchiveLimits): void {
  if (++count.n > limits.maxEntries) throw invalidArgument(`load images: archive has more than ${limits.maxEntries} entries`);
  if (table.files.has(name) || table.aliases.has(name) || table.metadata.has(name)) {
    throw invalidArgument(`load images: archive entry ${JSON.stringify(name)} appears twice`);
  }
}

async function readCapped(body: AsyncIterable<Uint8Array>, max: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.byteLength;
    if (n > max) throw invalidArgument(`load images: ${name} is larger than the cap of ${max} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

async function addFile(table: ArchiveTable, name: string, body: AsyncIterable<Uint8Array>, ctx: ReadContext) {
  if (METADATA_FILES.has(name)) {
    table.metadata.set(name, await readCapped(body, ctx.limits.maxMetadataBytes, name));
    return;
  }
  const m = BLOB_RE.exec(name);
  if (name.startsWith("blobs/") && !m) {
    ctx.logger.debug({ entry: name }, "skipping blob with an unsupported digest algorithm");
    for await (const _ of body) void _;
    return;
  }
  const opts: Parameters<FsContentStore["ingest"]>[1] = { maxBytes: ctx.limits.maxBlobBytes };
  if (ctx.signal) opts.signal = ctx.signal;
  if (m) opts.expectedDigest = `sha256:${m[1]}`;
  let res;
  try {
    res = await ctx.content.ingest(body, opts);
  } catch (err) {
    if (isBerthError(err)) throw invalidArgument(`load images: entry ${JSON.stringify(name)}: ${err.message}`, { cause: err });
    throw err;
  }
  ctx.onIngest(res.digest);
  table.ingested.add(res.digest);
  table.files.set(name, res);
}

/** Reads a tar (plain or gzip) archive file. */
export async function readTarArchive(file: string, ctx: ReadContext): Promise<ArchiveTable> {
  const table = newTable();
  const count = { n: 0 };
  const compression = await detectFileCompression(file);
  if (compression !== "none" && compression !== "gzip") {
    throw notImplemented(`load images: ${compression}-compressed archives are not supported (plain or gzip tar only)`);
  }
  const source = await openDecompressed(file, "application/x-tar", "load images");
  try {
    await forEachTarEntry(
      source,
      async (h, body) => {
        const name = archiveEntryName(h.name);
        if (name === "") return;
        switch (h.type) {
          case "directory":
            return;
          case "file":
          case "contiguous-file":
            claim(table, name, count, ctx.limits);
            await addFile(table, name, body, ctx);
            return;
          case "symlink":
            claim(table, name, count, ctx.limits);
            table.aliases.set(name, { kind: "symlink", target: h.linkname ?? "" });
            return;
          case "link":
            claim(table, name, count, ctx.limits);
            table.aliases.set(name, { kind: "hardlink", target: archiveEntryName(h.linkname ?? "") });
            return;
          default:
            ctx.logger.debug({ entry: name, type: h.type }, "skipping archive entry");
        }
      },
      ctx.signal,
    );
  } catch (err) {
    if (isBerthError(err) || ctx.signal?.aborted) throw err;
    throw invalidArgument(`load images: ${(err as Error).message}`, { cause: err });
  }
  return table;
}

/** Reads an archive unpacked as a directory (an OCI image layout dir, or an extracted docker save). */
export async function readDirectoryArchive(dir: string, ctx: ReadContext): Promise<ArchiveTable> {
  const table = newTable();
  const count = { n: 0 };
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw invalidArgument(`load images: ${JSON.stringify(rel)} is deeper than ${MAX_DEPTH} levels`);
    const abs = rel === "" ? dir : path.join(dir, rel);
    const names = (await fs.readdir(abs)).sort();
    for (const n of names) {
      ctx.signal?.throwIfAborted();
      const name = archiveEntryName(rel === "" ? n : `${rel}/${n}`);
      const p = path.join(dir, name);
      const st = await fs.lstat(p);
      if (st.isDirectory()) await walk(name, depth + 1);
      else if (st.isSymbolicLink()) {
        claim(table, name, count, ctx.limits);
        table.aliases.set(name, { kind: "symlink", target: await fs.readlink(p) });
      } else if (st.isFile()) {
        claim(table, name, count, ctx.limits);
        const fh = await fs.open(p, fsc.O_RDONLY | fsc.O_NOFOLLOW);
        try {
          await addFile(table, name, fh.createReadStream({ autoClose: false, highWaterMark: 1 << 20 }), ctx);
        } finally {
          await fh.close();
        }
      } else ctx.logger.debug({ entry: name }, "skipping special file");
    }
  };
  await walk("", 0);
  return table;
}
