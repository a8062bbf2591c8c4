import { closeSync, constants as fsc, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, symlinkSync, unlinkSync, writeSync } from "node:fs";
import type { Readable } from "node:stream";
import type { Header, Pack } from "tar-stream";
import { forEachTarEntry } from "../snapshots/tar-entries.js";
import { failedPrecondition, invalidArgument, isBerthError } from "../../lib/errors.js";
import type { SourceRoot, WalkOptions } from "../build/context/walk.js";
import type { SourceEntry } from "../build/context/types.js";
import { entryComponents } from "../snapshots/entry-path.js";
import { ownership } from "../snapshots/layer-writer.js";
import { runCommand } from "../snapshots/run-command.js";
import { packEntry, packFileBody } from "../snapshots/tar-pack.js";

/**
 * The two halves of `berth cp`'s tar streams, shared by the daemon (a container's tree) and
 * the CLI (the user's local tree):
 *
 * - `packTree` writes a SourceRoot entry (resolved inside its root, see walk.ts) and, for a
 *   directory, everything under it into a tar-stream pack: the top entry named `topName`,
 *   the others `topName/<rel>`. Symlinks are stored as links and never followed; every file
 *   is opened by the O_NOFOLLOW descriptor walk and checked to be the object that was listed
 *   (SourceRoot.openFile), so a tree changed under the walk fails the copy — or, with the
 *   walk's skipChanged (a live container's tree), leaves that descendant out, as Docker's tar
 *   writer skips what it cannot read — rather than lead it elsewhere. Sockets, FIFOs and
 *   devices are left out; hard links are separate files.
 *
 * - `extractTar` applies a tar stream under a directory descriptor that nobody trusts the
 *   entries of (the container's answer on the CLI's side; the user's archive in the daemon).
 *   Contract: nothing is created, changed or followed outside that directory:
 *   - names go through entryComponents (layer-writer's checks: `..`, NUL and Unicode twins
 *     refused); an absolute name is refused too;
 *   - every parent is opened O_DIRECTORY|O_NOFOLLOW from the previous one (a missing one is
 *     made 0755, owned like the entries); a parent that is a symlink — planted earlier by
 *     the same archive or already there — is an InvalidArgument error, never followed;
 *   - the last component is created by a call that does not follow it (open O_CREAT|O_EXCL
 *     |O_NOFOLLOW, mkdir, symlink, link, mkfifo) after an existing non-directory of that
 *     name is unlinked; a directory is never replaced by a non-directory or the reverse (an
 *     InvalidArgument error: docker cp's NoOverwriteDirNonDir); an existing directory takes
 *     the entry's metadata. Metadata goes through the new object's descriptor, or lchown /
 *     lutimes for a symlink: chown first, then chmod (setuid bits survive);
 *   - a hard link's target must be a non-directory already under the directory, reached the
 *     same way; device nodes are skipped (a way to reach host hardware), pax xattrs ignored.
 *   Descriptors are named `/proc/self/fd/N/<one component>`: the kernel jumps to the
 *   descriptor's directory (which may be in a container's mount namespace) and resolves
 *   that one name without following it.
 */

const DIR_FLAGS = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;
const MAX_ID = 0xfffffffe;

// Go's os.FileMode type bits: the `mode` of Docker's container path stat.
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_STICKY = 2 ** 20;

/** Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header's JSON). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: permission bits, plus ModeDir (1<<31), ModeSymlink (1<<27), setuid/setgid/sticky. */
  mode: number;
  /** RFC 3339. */
  mtime: string;
  /** For a symlink: the path it resolves to inside the tree, absolute; else "". */
  linkTarget: string;
}

export function goFileMode(entry: Pick<SourceEntry, "type" | "mode">): number {
  let m = entry.mode & 0o777;
  if (entry.mode & 0o4000) m += GO_MODE_SETUID;
  if (entry.mode & 0o2000) m += GO_MODE_SETGID;
  if (entry.mode & 0o1000) m += GO_MODE_STICKY;
  if (entry.type === "dir") m += GO_MODE_DIR;
  if (entry.type === "symlink") m += GO_MODE_SYMLINK;
  return m;
}

export const isGoDir = (mode: number) => mode >= GO_MODE_DIR;
export const isGoSymlink = (mode: number) => Math.floor(mode / GO_MODE_SYMLINK) % 2 === 1 && !isGoDir(mode);

export function pathStatOf(entry: SourceEntry, name: string, linkTarget = ""): PathStat {
  return { name, size: entry.size, mode: goFileMode(entry), mtime: new Date(entry.mtimeMs).toISOString(), linkTarget };
}

export interface PackTreeOptions {
  walk?: WalkOptions;
  signal?: AbortSignal;
  /** Sees the bytes of every file as they are packed (progress). */
  onBytes?: (n: number) => void;
}

/** Packs `entry` of `root` as `topName` (see the header); the caller finalizes the pack. */
export async function packTree(root: SourceRoot, entry: SourceEntry, topName: string, pack: Pack, options: PackTreeOptions = {}): Promise<void> {
  await packOne(root, entry, topName, pack, options);
  if (entry.type !== "dir") return;
  const prefix = topName === "" ? "" : `${topName.replace(/\/+$/, "")}/`;
  for (const child of await root.walk(entry, options.walk ?? {})) {
    options.signal?.throwIfAborted();
    await packOne(root, child, prefix + child.path, pack, { ...options, lenient: options.walk?.skipChanged ?? false });
  }
}

async function packOne(root: SourceRoot, e: SourceEntry, name: string, pack: Pack, options: PackTreeOptions & { lenient?: boolean }): Promise<void> {
  const header = { name, mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(e.mtimeMs) };
  if (e.type === "dir") return packEntry(pack, { ...header, type: "directory" });
  if (e.type === "symlink") return packEntry(pack, { ...header, type: "symlink", linkname: e.linkTarget ?? "" });
  let fh;
  try {
    fh = await root.openFile(e);
    // a file that grew after the walk is packed as it was listed; one that shrank is not packed
    if ((await fh.stat()).size < e.size) throw failedPrecondition(`read ${JSON.stringify(e.realPath)} in ${root.label}: it shrank while it was being copied`);
  } catch (err) {
    await fh?.close();
    // with skipChanged, a descendant that changed (gone, swapped, shrunk) before its header was written is left out
    if (options.lenient && isBerthError(err, "FailedPrecondition")) return;
    throw err;
  }
  try {
    await packFileBody(pack, { ...header, size: e.size }, fh, options.onBytes ? (c) => options.onBytes!(c.byteLength) : undefined);
  } finally {
    await fh.close();
  }
}

export interface ExtractOptions {
  /**
   * Who owns what is made: `preserve` the entries' uid/gid (`cp -a`), a fixed owner (the
   * container's root without -a), or `none` (no chown: the caller's own, on the CLI's side).
   */
  owner: "preserve" | "none" | { uid: number; gid: number };
  /** Names the copy in errors, e.g. `copy to web:/tmp`. */
  what: string;
  maxEntries: number;
  /** Skipped device nodes are reported here. */
  onSkip?: (name: string, why: string) => void;
  /** Renames every entry (and hard link target) before it is checked: docker cp's rebase of the top entry. */
  rename?: (name: string) => string;
  /** Sees the bytes of every file body written (progress). */
  onBytes?: (n: number) => void;
}

export function defaultExtractOptions(): Pick<ExtractOptions, "maxEntries"> {
  return { maxEntries: 1_000_000 };
}

/** Extracts `tar` (a tar stream, read by forEachTarEntry) under directory descriptor `dirFd`; returns the number of entries. */
export async function extractTar(dirFd: number, tar: Readable | AsyncIterable<Uint8Array>, options: ExtractOptions): Promise<number> {
  const writer = new TreeWriter(dirFd, options);
  try {
    await forEachTarEntry(tar as AsyncIterable<Uint8Array>, (h, body) => writer.apply(h, body));
    writer.finish();
    return writer.entries;
  } catch (err) {
    throw mapFsError(err, options.what);
  } finally {
    writer.close();
  }
}

function mapFsError(err: unknown, what: string): unknown {
  if (isBerthError(err)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EROFS") return failedPrecondition(`${what}: the destination is on a read-only file system`, { cause: err });
  if (code === "ENOSPC") return failedPrecondition(`${what}: no space left on the destination`, { cause: err });
  if (code === "EPERM" || code === "EACCES") return failedPrecondition(`${what}: ${(err as Error).message}`, { cause: err });
  if ((err as Error).message?.includes("Invalid tar header") || (err as Error).message?.includes("Unexpected end")) {
    return invalidArgument(`${what}: not a tar archive: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

class TreeWriter {
  entries = 0;
  /** The open chain of parent directories of the last entry: names and descriptors. */
  private readonly stack: { name: string; fd: number }[] = [];
  private readonly dirTimes: { parts: string[]; mtime: Date }[] = [];

  constructor(
    private readonly root: number,
    private readonly opts: ExtractOptions,
  ) {}

  async apply(h: Header, body: AsyncIterable<Buffer>): Promise<void> {
    const what = this.opts.what;
    if (++this.entries > this.opts.maxEntries) throw invalidArgument(`${what}: more than ${this.opts.maxEntries} entries`);
    if (this.opts.rename) {
      h = { ...h, name: this.opts.rename(h.name) };
      if (h.type === "link" && h.linkname) h.linkname = this.opts.rename(h.linkname);
    }
    if (h.name.startsWith("/")) throw invalidArgument(`${what}: entry ${JSON.stringify(h.name)} has an absolute name`);
    const parts = entryComponents(h.name, "entry");
    if (parts.length === 0) return drain(body); // "." : the destination directory itself, kept as it is (docker's untar)
    const base = parts[parts.length - 1]!;
    const parent = this.parentOf(parts, h);
    const at = `/proc/self/fd/${parent}/${base}`;
    const mode = (h.mode ?? 0o644) & 0o7777;
    const owner = this.ownerOf(h);
    const mtime = h.mtime instanceof Date && !Number.isNaN(h.mtime.getTime()) ? h.mtime : new Date(0);
    const isDir = h.type === "directory";
    let existing;
    try {
      existing = lstatSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (existing?.isDirectory() && !isDir) throw invalidArgument(`${what}: cannot overwrite directory ${JSON.stringify(parts.join("/"))} with a non-directory`);
    if (existing && !existing.isDirectory() && isDir) throw invalidArgument(`${what}: cannot overwrite non-directory ${JSON.stringify(parts.join("/"))} with a directory`);
    if (existing && !existing.isDirectory() && h.type !== "character-device" && h.type !== "block-device") unlinkSync(at);

    switch (h.type) {
      case "file":
      case "contiguous-file": {
        const fd = openSync(at, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) {
            for (let off = 0; off < chunk.byteLength; ) off += writeSync(fd, chunk, off, chunk.byteLength - off);
            this.opts.onBytes?.(chunk.byteLength);
          }
          if (owner) fchownSync(fd, owner.uid, owner.gid);
          fchmodSync(fd, mode);
          futimesSync(fd, mtime, mtime);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case "directory": {
        if (!existing) mkdirSync(at, { mode: 0o700 });
        const fd = openSync(at, DIR_FLAGS);
        try {
          if (!fstatSync(fd).isDirectory()) throw failedPrecondition(`${what}: ${JSON.stringify(parts.join("/"))} changed while it was being written`);
          if (owner) fchownSync(fd, owner.uid, owner.gid);
          fchmodSync(fd, mode);
        } finally {
          closeSync(fd);
        }
        this.dirTimes.push({ parts, mtime });
        return drain(body);
      }
      case "symlink": {
        const target = h.linkname ?? "";
        if (target === "" || target.includes("\0")) throw invalidArgument(`${what}: symlink ${JSON.stringify(h.name)} has an invalid target`);
        symlinkSync(target, at);
        if (owner) lchownSync(at, owner.uid, owner.gid);
        lutimesSync(at, mtime, mtime);
        return drain(body);
      }
      case "link": {
        const targetParts = entryComponents(h.linkname ?? "", "hardlink target");
        if (targetParts.length === 0) throw invalidArgument(`${what}: hardlink ${JSON.stringify(h.name)} has an empty target`);
        const tparent = this.openChain(targetParts.slice(0, -1), h.linkname ?? "", false);
        try {
          const tat = `/proc/self/fd/${tparent.fd}/${targetParts[targetParts.length - 1]}`;
          let st;
          try {
            st = lstatSync(tat);
          } catch {
            throw invalidArgument(`${what}: hardlink ${JSON.stringify(h.name)} targets ${JSON.stringify(h.linkname)}, which is not in the archive`);
          }
          if (st.isDirectory()) throw invalidArgument(`${what}: hardlink ${JSON.stringify(h.name)} targets a directory`);
          linkSync(tat, at); // linkat(2) without AT_SYMLINK_FOLLOW: a symlink target is linked, not followed
        } finally {
          tparent.close();
        }
        return drain(body);
      }
      case "fifo": {
        // mkfifo(1) is another process: it names our descriptor through our pid
        await runCommand("mkfifo", ["-m", mode.toString(8), "--", `/proc/${process.pid}/fd/${parent}/${base}`]);
        if (owner) lchownSync(at, owner.uid, owner.gid);
        return drain(body);
      }
      case "character-device":
      case "block-device":
        this.opts.onSkip?.(h.name, "device node");
        return drain(body);
      default:
        throw invalidArgument(`${what}: entry ${JSON.stringify(h.name)} has unsupported type ${String(h.type)}`);
    }
  }

  /** Directory mtimes, deepest first, once every child exists (each reopened by the no-follow walk). */
  finish(): void {
    this.closeStack(0);
    const sorted = [...this.dirTimes].sort((a, b) => b.parts.length - a.parts.length);
    for (const { parts, mtime } of sorted) {
      let chain;
      try {
        chain = this.openChain(parts, parts.join("/"), false);
      } catch {
        continue;
      }
      try {
        futimesSync(chain.fd, mtime, mtime);
      } finally {
        chain.close();
      }
    }
  }

  close(): void {
    this.closeStack(0);
  }

  private ownerOf(h: Header): { uid: number; gid: number } | undefined {
    const o = this.opts.owner;
    if (o === "none") return undefined;
    if (o === "preserve") return ownership(h, this.opts.what);
    if (!Number.isInteger(o.uid) || !Number.isInteger(o.gid) || o.uid < 0 || o.gid < 0 || o.uid > MAX_ID || o.gid > MAX_ID) throw invalidArgument(`${this.opts.what}: invalid owner`);
    return o;
  }

  /** The descriptor of the parent of `parts`, from the kept chain where it matches (entries come depth-first). */
  private parentOf(parts: string[], h: Header): number {
    const dirs = parts.slice(0, -1);
    let keep = 0;
    while (keep < this.stack.length && keep < dirs.length && this.stack[keep]!.name === dirs[keep]) keep++;
    this.closeStack(keep);
    for (let i = keep; i < dirs.length; i++) {
      const fd = this.openChild(this.stack[i - 1]?.fd ?? this.root, dirs[i]!, dirs.slice(0, i + 1), h, true);
      this.stack.push({ name: dirs[i]!, fd });
    }
    return this.stack[dirs.length - 1]?.fd ?? this.root;
  }

  /** Opens `dirs` from the root without the kept chain (hard link targets, mtimes). */
  private openChain(dirs: string[], name: string, create: boolean): { fd: number; close: () => void } {
    const opened: number[] = [];
    let fd = this.root;
    try {
      for (let i = 0; i < dirs.length; i++) {
        fd = this.openChild(fd, dirs[i]!, dirs.slice(0, i + 1), { name } as Header, create);
        opened.push(fd);
      }
    } catch (err) {
      for (const d of opened) closeSync(d);
      throw err;
    }
    return { fd, close: () => opened.forEach((d) => closeSync(d)) };
  }

  private openChild(parentFd: number, name: string, partsSoFar: string[], h: Header, create: boolean): number {
    const at = `/proc/self/fd/${parentFd}/${name}`;
    const rel = JSON.stringify(partsSoFar.join("/"));
    let st;
    try {
      st = lstatSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || !create) throw err;
    }
    if (st?.isSymbolicLink()) throw invalidArgument(`${this.opts.what}: parent ${rel} of ${JSON.stringify(h.name)} is a symlink, which berth does not follow`);
    if (st && !st.isDirectory()) throw invalidArgument(`${this.opts.what}: parent ${rel} of ${JSON.stringify(h.name)} is not a directory`);
    if (!st) {
      mkdirSync(at, { mode: 0o755 });
      const owner = this.opts.owner === "none" ? undefined : this.opts.owner === "preserve" ? { uid: 0, gid: 0 } : this.opts.owner;
      if (owner) lchownSync(at, owner.uid, owner.gid);
    }
    let fd: number;
    try {
      fd = openSync(at, DIR_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ELOOP" || code === "ENOTDIR") throw invalidArgument(`${this.opts.what}: parent ${rel} of ${JSON.stringify(h.name)} changed to a non-directory while it was being written`, { cause: err });
      throw err;
    }
    return fd;
  }

  private closeStack(keep: number): void {
    while (this.stack.length > keep) closeSync(this.stack.pop()!.fd);
  }
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of body) {
    /* an entry's body must be read for the next one to come */
  }
}
