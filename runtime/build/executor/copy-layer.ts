/**
 * The layer of a COPY or ADD step: the planned entries (build/context/copy-plan.ts) written
 * as a layer tar, which the snapshot store later unpacks with its safe layer writer.
 *
 * - Paths: each target's directory is resolved against the image so far as in a chroot (a
 *   symlinked directory there, `/usr/local -> /opt`, is followed as Docker follows it), so
 *   the layer never hides a symlink of the image behind a new directory.
 * - Files are read through the source root (which re-checks each is what was planned) and
 *   hashed while written: a file that changed since planning fails the step (its content
 *   is in the cache key, and a layer must not differ from its key).
 * - ADD's archives are extracted: their entries re-rooted under the target with names
 *   checked (no `..`, no absolute paths: entry-path.ts), hardlinks kept inside the archive's
 *   own entries, and whiteout names refused (in a layer they would delete image files).
 *   `--chown` applies to every extracted entry; else the archive's ids are kept.
 */
import { createHash } from "node:crypto";
import * as posix from "node:path/posix";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import type { Readable } from "node:stream";
import type { Pack } from "tar-stream";
import { failedPrecondition, invalidArgument, notImplemented } from "../../../lib/errors.js";
import type { PlannedEntry } from "../context/copy-plan.js";
import type { SourceRoot } from "../context/walk.js";
import type { Compression } from "../../snapshots/decompress.js";
import { entryComponents } from "../../snapshots/entry-path.js";
import { packEntry, packFileBody, type PackHeader } from "../../snapshots/tar-pack.js";

/** Maps an absolute image path to where it really is in the image (its directories' symlinks followed). */
export type ImagePathResolver = (imagePath: string) => Promise<string>;

function rel(p: string): string {
  return p.replace(/^\/+/, "");
}

async function placed(resolve: ImagePathResolver, target: string): Promise<string> {
  const dir = posix.dirname(target);
  return dir === "/" ? target : posix.join(await resolve(dir), posix.basename(target));
}

/** Writes `entries` into `pack` (not finalized); `now` stamps planned parents. */
export async function packCopy(pack: Pack, entries: PlannedEntry[], root: SourceRoot, resolve: ImagePathResolver, now: Date): Promise<void> {
  for (const e of entries) {
    const name = rel(await placed(resolve, e.target));
    if (name === "") continue; // the image's root directory itself keeps its metadata
    switch (e.type) {
      case "dir":
        await packEntry(pack, { name: `${name}/`, type: "directory", mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtimeMs !== undefined ? new Date(e.mtimeMs) : now });
        break;
      case "symlink":
        await packEntry(pack, { name, type: "symlink", linkname: e.linkTarget, mode: 0o777, uid: e.uid, gid: e.gid, mtime: new Date(e.mtimeMs) });
        break;
      case "file":
        await packFile(pack, name, e, root);
        break;
      case "extract":
        await packArchive(pack, name, e, root);
        break;
    }
  }
}

async function packFile(pack: Pack, name: string, e: Extract<PlannedEntry, { type: "file" }>, root: SourceRoot): Promise<void> {
  const fh = await root.openFile(e.source, `copy ${e.source.path}`);
  try {
    const st = await fh.stat();
    if (st.size !== e.size) throw failedPrecondition(`copy ${e.source.path}: the file changed during the build`);
    const hash = createHash("sha256");
    await packFileBody(pack, { name, size: e.size, mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(e.mtimeMs) }, fh, (c) => void hash.update(c));
    if (hash.digest("hex") !== e.sha256) throw failedPrecondition(`copy ${e.source.path}: the file changed during the build`);
  } finally {
    await fh.close();
  }
}

async function packArchive(pack: Pack, dir: string, e: Extract<PlannedEntry, { type: "extract" }>, root: SourceRoot): Promise<void> {
  const tar = (await import("tar-stream")).default;
  const what = `ADD ${e.source.path}`;
  const fh = await root.openFile(e.source, what);
  try {
    const hash = createHash("sha256");
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const raw = fh.createReadStream({ autoClose: false, highWaterMark: 1 << 20 }).pipe(hashing);
    const input = decompressed(raw, e.compression, what);
    const extract = tar.extract();
    extract.on("entry", (h, stream, next) => {
      void (async () => {
        const parts = entryComponents(h.name, `${what} entry`);
        if (parts.some((p) => p.startsWith(".wh."))) throw invalidArgument(`${what}: entry ${JSON.stringify(h.name)} has a whiteout name (.wh.), which an image layer cannot carry`);
        const name = [dir, ...parts].join("/");
        const owner = e.owner ?? { uid: h.uid ?? 0, gid: h.gid ?? 0 };
        const header: PackHeader = { name: h.type === "directory" ? `${name}/` : name, mode: h.mode ?? 0o644, uid: owner.uid, gid: owner.gid, mtime: h.mtime ?? new Date(0), type: h.type ?? "file" };
        if (h.type === "link") header.linkname = [dir, ...entryComponents(h.linkname ?? "", `${what} hardlink target`)].join("/");
        if (h.type === "symlink") header.linkname = h.linkname ?? "";
        if (h.type === "file" || h.type === "contiguous-file") {
          header.type = "file";
          header.size = h.size ?? 0;
          await new Promise<void>((resolve, reject) => {
            const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
            stream.on("error", reject);
            stream.pipe(sink);
          });
        } else if (h.type === "directory" || h.type === "symlink" || h.type === "link" || h.type === "fifo" || h.type === "character-device" || h.type === "block-device") {
          if (h.devmajor !== undefined) header.devmajor = h.devmajor;
          if (h.devminor !== undefined) header.devminor = h.devminor;
          stream.resume();
          await packEntry(pack, header);
        } else {
          stream.resume(); // pax and GNU headers are tar-stream's; nothing else is an entry
        }
      })().then(() => next(), (err: unknown) => next(err as Error));
    });
    await pipeline(input, extract);
    if (hash.digest("hex") !== e.sha256) throw failedPrecondition(`${what}: the archive changed during the build`);
  } finally {
    await fh.close();
  }
}

function decompressed(raw: Readable, c: Compression, what: string): Readable {
  if (c === "none") return raw;
  if (c === "gzip") return raw.pipe(zlib.createGunzip({ chunkSize: 1 << 20 }));
  if (c === "zstd") {
    const make = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
    if (typeof make === "function") return raw.pipe(make());
  }
  raw.destroy();
  throw notImplemented(`${what}: ${c}-compressed archives are not supported by this berth (gzip and plain tar are)`);
}

/** A resolver over a read-only view of the image (a directory), following its symlinks as in a chroot. */
export function imagePathResolver(imageRoot: SourceRoot): ImagePathResolver {
  const cache = new Map<string, string>();
  const resolve = async (p: string): Promise<string> => {
    if (p === "/") return "/";
    const hit = cache.get(p);
    if (hit !== undefined) return hit;
    let out: string;
    try {
      const e = await imageRoot.resolve(p, { what: `resolve ${p} in the image` });
      out = e.type === "dir" ? `/${e.realPath}` : p;
    } catch {
      // not in the image (yet): its parent decides where it goes
      out = posix.join(await resolve(posix.dirname(p)), posix.basename(p));
    }
    cache.set(p, out);
    return out;
  };
  return resolve;
}
