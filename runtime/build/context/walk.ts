import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, promises as fs, readlinkSync, type BigIntStats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { failedPrecondition, invalidArgument, notFound, notImplemented, type BerthError } from "../../../lib/errors.js";
import { cleanPath } from "./clean-path.js";
import type { IgnoreMatcher, SourceEntry, SourceEntryType, SourceScope } from "./types.js";

/**
 * A safe reader of a build source tree: the build context, or a root file system for
 * `COPY --from`.
 *
 * Containment (openat-style, never `path.resolve` + a prefix check):
 * - The root directory is opened once; every later lookup is anchored at that descriptor
 *   (`/proc/self/fd/N/...`), so renaming or replacing the root path changes nothing.
 * - A source path is cleaned lexically first (as Docker does), then resolved component by
 *   component with lstat. Symlinks are expanded by hand: relative targets from the link's
 *   directory, `..` physically. In the "context" scope a `..` above the root, an absolute
 *   source and a symlink that is followed out of the root (absolute target, or relative and
 *   climbing above the root) are InvalidArgument errors naming the path as the user wrote
 *   it. In the "rootfs" scope they are read as in a chroot (see SourceScope).
 * - Opening walks the resolved (symlink-free) path again one directory descriptor at a time
 *   with O_NOFOLLOW|O_DIRECTORY, opens the last component with O_NOFOLLOW, and checks on the
 *   descriptor (fstat) that it is the same object (type, dev and inode) that was resolved.
 *   A file or directory swapped for a symlink or another object in between is a
 *   FailedPrecondition error; nothing outside the root is ever opened. (resolve's lstat of
 *   a path being swapped concurrently may describe an object outside, but only as
 *   metadata: every read, listing and walk goes through the descriptor walk.)
 *
 * Symlink policy (Docker's): a source argument naming a symlink is followed; a symlink met
 * while walking a directory is returned as a symlink and never followed. Sockets are skipped
 * (Docker's tar writer drops them); FIFOs and devices are NotImplemented. Hard links are
 * returned as independent files.
 *
 * Ignore: with an IgnoreMatcher, an ignored path is treated as absent (Docker never sent
 * it), except an ignored directory that holds a `!`-excepted descendant, which is present
 * with just those descendants.
 *
 * Lifecycle: `openSourceRoot` → use → `close()` (idempotent). Methods may run concurrently.
 *
 * Over 400 lines on purpose: the resolver, the walk and the opens share the one descriptor
 * discipline; split apart, a reader could use a path the others never checked.
 */

const MAX_SYMLINKS = 40;
const DIR_FLAGS = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;
const FILE_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY;

export interface OpenSourceRootOptions {
  scope: SourceScope;
  /** How errors name the tree: "the build context" (default for "context"), "stage build". */
  label?: string;
  /** What reads the tree, for error messages: a build (default) or `berth cp`. */
  purpose?: "build" | "copy";
}

export interface ResolveOptions {
  /** Follow a symlink named by the last component (default true, as Docker does for sources). */
  followFinal?: boolean;
  /** The subject of error messages, e.g. `COPY ../x`; default `resolve "<path>"`. */
  what?: string;
  ignore?: IgnoreMatcher;
}

export interface WalkOptions {
  ignore?: IgnoreMatcher;
  /** Subject of error messages. */
  what?: string;
  /** Leave FIFOs and devices out, as sockets are, instead of refusing them (NotImplemented). */
  skipSpecial?: boolean;
  /**
   * Leave out what changed between the listing and its use (a name gone, a directory replaced
   * by a symlink or another object: never followed) instead of failing the walk, as Docker's
   * tar writer skips what it cannot read in a live tree. The walk stays inside the root.
   */
  skipChanged?: boolean;
  /** A directory for which this is true is returned but not descended into (its contents are left out). */
  prune?: (realPath: string, entry: SourceEntry) => boolean;
}

export async function openSourceRoot(dir: string, options: OpenSourceRootOptions): Promise<SourceRoot> {
  const label = options.label ?? (options.scope === "context" ? "the build context" : "the source file system");
  let handle: FileHandle;
  try {
    handle = await fs.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw notFound(`open ${label} ${dir}: no such directory`, { cause: err });
    if (code === "ENOTDIR") throw invalidArgument(`open ${label} ${dir}: not a directory`, { cause: err });
    throw err;
  }
  const st = await handle.stat({ bigint: true });
  return new SourceRoot(handle, options.scope, label, st, options.purpose ?? "build");
}

export class SourceRoot {
  private closed = false;

  constructor(
    private readonly handle: FileHandle,
    readonly scope: SourceScope,
    readonly label: string,
    private readonly rootStat: BigIntStats,
    private readonly purpose: "build" | "copy" = "build",
  ) {}

  /** The root directory itself as an entry (path and realPath `""`). */
  rootEntry(): SourceEntry {
    return toEntry("", "", this.rootStat, "dir");
  }

  /**
   * The entry that `userPath` names, symlinks resolved inside the root (see the header).
   * `path` of the result is the last component of the cleaned user path (`""` for the
   * root), the name Docker gives a copied file even when it was reached through a symlink.
   * Errors: InvalidArgument (leaves the root, too many symlinks), NotFound (absent,
   * through a non-directory, or ignored).
   */
  async resolve(userPath: string, options: ResolveOptions = {}): Promise<SourceEntry> {
    this.checkOpen();
    const what = options.what ?? `resolve ${JSON.stringify(userPath)}`;
    // Docker cleans sources lexically; --from sources are relative to the stage's root.
    const cleaned = this.scope === "rootfs" ? cleanPath(`/${userPath}`) : cleanPath(userPath);
    if (this.scope === "context") {
      if (cleaned.startsWith("/")) throw this.leaves(what, userPath, "an absolute source path is not allowed");
      if (cleaned === ".." || cleaned.startsWith("../")) throw this.leaves(what, userPath);
    }
    const userComps = cleaned.split("/").filter((c) => c !== "" && c !== ".");
    const name = userComps[userComps.length - 1] ?? "";
    const followFinal = options.followFinal ?? true;
    let pending = [...userComps];
    const real: string[] = [];
    // dirs[i] is a descriptor of the directory real[0..i], opened O_NOFOLLOW|O_DIRECTORY from
    // dirs[i-1] (the root's for i = 0): every lstat and readlink below names one component
    // under a descriptor, so the kernel never follows a link on the way (one swapped in after
    // it was checked cannot lead out of the root, not even for metadata).
    const dirs: number[] = [];
    const top = () => dirs[dirs.length - 1] ?? this.handle.fd;
    let links = 0;
    let last: { st: BigIntStats; type: SourceEntryType } = { st: this.rootStat, type: "dir" };
    let finalLink: string | undefined;
    try {
      while (pending.length > 0) {
        const comp = pending.shift()!;
        if (comp === "..") {
          if (real.length === 0) {
            if (this.scope === "context") throw this.leaves(what, userPath);
          } else {
            real.pop();
            closeSync(dirs.pop()!);
          }
          last = { st: real.length === 0 ? this.rootStat : fstatSync(top(), { bigint: true }), type: "dir" };
          continue;
        }
        const here = [...real, comp];
        const at = `/proc/self/fd/${top()}/${comp}`;
        let st: BigIntStats;
        try {
          st = lstatSync(at, { bigint: true });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT" || code === "ENOTDIR") throw this.absent(what, err);
          throw err;
        }
        if (st.isSymbolicLink() && (pending.length > 0 || followFinal)) {
          if (options.ignore?.ignores(here.join("/"))) throw this.absent(what);
          if (++links > MAX_SYMLINKS) throw invalidArgument(`${what}: too many levels of symbolic links`, this.object(userPath));
          const target = readlinkSync(at);
          if (target.startsWith("/")) {
            if (this.scope === "context") throw this.linkLeaves(what, userPath, here.join("/"), target);
            real.length = 0;
            for (const d of dirs.splice(0)) closeSync(d);
          }
          const targetComps = target.split("/").filter((c) => c !== "" && c !== ".");
          // A relative target climbing above the root leaves the context: check it here so the
          // error names the link rather than a ".." the user never wrote.
          if (this.scope === "context" && !target.startsWith("/")) {
            let depth = real.length;
            for (const c of targetComps) {
              depth += c === ".." ? -1 : 1;
              if (depth < 0) throw this.linkLeaves(what, userPath, here.join("/"), target);
            }
          }
          pending = [...targetComps, ...pending];
          continue;
        }
        const type = entryType(st);
        if (pending.length > 0 && !st.isDirectory()) throw this.absent(what);
        if (pending.length > 0) {
          let fd: number;
          try {
            fd = openSync(at, DIR_FLAGS);
          } catch (err) {
            throw this.changed(what, err);
          }
          dirs.push(fd);
          if (identityOf(fstatSync(fd, { bigint: true })) !== identityOf(st)) throw this.changed(what);
        }
        real.push(comp);
        last = { st, type: type ?? "file" };
        if (type === undefined && pending.length === 0) this.checkSpecial(st, what, userPath);
      }
      if (last.type === "symlink" && real.length > 0) finalLink = readlinkSync(`/proc/self/fd/${top()}/${real[real.length - 1]}`);
    } finally {
      for (const d of dirs) closeSync(d);
    }
    const realPath = real.join("/");
    const entry = toEntry(name, realPath, last.st, last.type);
    if (entry.type === "symlink") entry.linkTarget = finalLink;
    if (realPath !== "" && options.ignore?.ignores(realPath)) {
      if (entry.type !== "dir" || !options.ignore.hasExceptions) throw this.absent(what);
      const inside = await this.walk(entry, { ignore: options.ignore, what });
      if (inside.length === 0) throw this.absent(what);
    }
    return entry;
  }

  /**
   * The children of a directory entry (lstat, not followed), sorted by name bytes. Special
   * files (sockets, FIFOs, devices) are left out; naming one as a source reports it.
   */
  async list(dir: SourceEntry, options: WalkOptions = {}): Promise<SourceEntry[]> {
    return this.withDir(dir, options.what, async (fd) => {
      const out: SourceEntry[] = [];
      for (const name of await readdirSorted(fd)) {
        const childReal = join(dir.realPath, name);
        const st = await fs.lstat(`/proc/self/fd/${fd}/${name}`, { bigint: true });
        const type = entryType(st);
        if (type === undefined) continue;
        if (options.ignore?.ignores(childReal) && !(type === "dir" && options.ignore.hasExceptions)) continue;
        const entry = toEntry(name, childReal, st, type);
        if (type === "symlink") entry.linkTarget = await fs.readlink(`/proc/self/fd/${fd}/${name}`);
        out.push(entry);
      }
      return out;
    });
  }

  /**
   * Every descendant of a directory entry in depth-first, name-sorted order (a directory
   * before its contents); `path` is relative to `dir`. Symlinks are returned, not followed.
   */
  async walk(dir: SourceEntry, options: WalkOptions = {}): Promise<SourceEntry[]> {
    return this.withDir(dir, options.what, async (fd) => {
      const out: SourceEntry[] = [];
      await this.walkFd(fd, dir.realPath, "", out, options);
      return out;
    });
  }

  /**
   * Opens a file entry for reading: the O_NOFOLLOW walk of its real path, then fstat must
   * find the same regular file. FailedPrecondition when it changed; the caller closes it.
   */
  async openFile(entry: SourceEntry, what?: string): Promise<FileHandle> {
    this.checkOpen();
    const subject = what ?? `read ${JSON.stringify(entry.realPath)} in ${this.label}`;
    if (entry.type !== "file") throw failedPrecondition(`${subject}: not a regular file`);
    const comps = entry.realPath.split("/").filter((c) => c !== "");
    const fh = await this.openStrict(comps, FILE_FLAGS, subject);
    const st = await fh.stat({ bigint: true });
    if (!st.isFile() || identityOf(st) !== entry.identity) {
      await fh.close();
      throw this.changed(subject);
    }
    return fh;
  }

  /** Reads a whole file entry (safely, as openFile), refusing more than `maxBytes`. */
  async readFile(entry: SourceEntry, maxBytes: number, what?: string): Promise<Buffer> {
    const subject = what ?? `read ${JSON.stringify(entry.realPath)} in ${this.label}`;
    const fh = await this.openFile(entry, subject);
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const buf = Buffer.alloc(Math.min(1 << 16, maxBytes + 1 - total));
        const { bytesRead } = await fh.read(buf, 0, buf.length, total);
        if (bytesRead === 0) break;
        total += bytesRead;
        chunks.push(buf.subarray(0, bytesRead));
        if (total > maxBytes) throw failedPrecondition(`${subject}: larger than ${maxBytes} bytes`);
      }
      return Buffer.concat(chunks);
    } finally {
      await fh.close();
    }
  }

  /**
   * Opens a directory entry (the O_NOFOLLOW walk of its real path; fstat must find the same
   * directory): a descriptor to create and read names under with `/proc/self/fd/N/<name>`,
   * one component at a time. FailedPrecondition when it changed; the caller closes it.
   */
  async openDirectory(entry: SourceEntry, what?: string): Promise<FileHandle> {
    this.checkOpen();
    const subject = what ?? `open ${JSON.stringify(entry.realPath)} in ${this.label}`;
    if (entry.type !== "dir") throw failedPrecondition(`${subject}: not a directory`);
    const fh = await this.openStrict(entry.realPath.split("/").filter((c) => c !== ""), DIR_FLAGS, subject);
    const st = await fh.stat({ bigint: true });
    if (!st.isDirectory() || identityOf(st) !== entry.identity) {
      await fh.close();
      throw this.changed(subject);
    }
    return fh;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  // --- internals -------------------------------------------------------------------

  /** Opens `comps` one directory descriptor at a time, never following a symlink. */
  private async openStrict(comps: readonly string[], finalFlags: number, what: string): Promise<FileHandle> {
    // The directories on the way are opened and closed synchronously (microseconds each, where
    // an awaited open is a thread-pool round trip: a build's COPY opens every source this way).
    const opened: number[] = [];
    const fail = (err: unknown): never => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ELOOP" || code === "ENOTDIR" || code === "ENOENT" || code === "ENXIO") throw this.changed(what, err);
      throw err;
    };
    try {
      let fd = this.handle.fd;
      for (let i = 0; i < comps.length; i++) {
        const at = `/proc/self/fd/${fd}/${comps[i]}`;
        if (i === comps.length - 1) return await fs.open(at, finalFlags).catch(fail);
        try {
          fd = openSync(at, DIR_FLAGS);
        } catch (err) {
          fail(err);
        }
        opened.push(fd);
      }
      // The root itself: a fresh descriptor of the same directory.
      return await fs.open(`/proc/self/fd/${this.handle.fd}`, finalFlags & ~fsc.O_NOFOLLOW);
    } finally {
      for (const d of opened) closeSync(d);
    }
  }

  private async withDir<T>(dir: SourceEntry, what: string | undefined, body: (fd: number) => Promise<T>): Promise<T> {
    this.checkOpen();
    const subject = what ?? `read ${JSON.stringify(dir.realPath)} in ${this.label}`;
    if (dir.type !== "dir") throw failedPrecondition(`${subject}: not a directory`);
    const comps = dir.realPath.split("/").filter((c) => c !== "");
    const fh = await this.openStrict(comps, DIR_FLAGS, subject);
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isDirectory() || identityOf(st) !== dir.identity) throw this.changed(subject);
      return await body(fh.fd);
    } finally {
      await fh.close();
    }
  }

  private async walkFd(fd: number, realPrefix: string, relPrefix: string, out: SourceEntry[], options: WalkOptions): Promise<void> {
    for (const name of await readdirSorted(fd)) {
      const childReal = join(realPrefix, name);
      const childRel = join(relPrefix, name);
      const at = `/proc/self/fd/${fd}/${name}`;
      let st: BigIntStats;
      try {
        st = lstatSync(at, { bigint: true });
      } catch (err) {
        if (options.skipChanged && (err as NodeJS.ErrnoException).code === "ENOENT") continue; // gone since the listing
        throw err;
      }
      const type = this.typeOrSkip(st, childReal, options);
      if (type === undefined) continue;
      const ignored = options.ignore?.ignores(childReal) ?? false;
      if (type !== "dir") {
        if (ignored) continue;
        const entry = toEntry(childRel, childReal, st, type);
        if (type === "symlink") {
          try {
            entry.linkTarget = readlinkSync(at);
          } catch (err) {
            if (options.skipChanged) continue;
            throw err;
          }
        }
        out.push(entry);
        continue;
      }
      if (ignored && !options.ignore?.hasExceptions) continue;
      if (options.prune) {
        const entry = toEntry(childRel, childReal, st, "dir");
        if (options.prune(childReal, entry)) {
          out.push(entry);
          continue;
        }
      }
      let sub: FileHandle;
      try {
        sub = await fs.open(at, DIR_FLAGS);
      } catch (err) {
        if (options.skipChanged) continue; // replaced (by a symlink, a file) or gone since its lstat: not followed
        throw this.changed(options.what ?? `read ${JSON.stringify(childReal)} in ${this.label}`, err);
      }
      try {
        const subSt = await sub.stat({ bigint: true });
        if (!subSt.isDirectory() || identityOf(subSt) !== identityOf(st)) {
          if (options.skipChanged) continue;
          throw this.changed(options.what ?? `read ${JSON.stringify(childReal)} in ${this.label}`);
        }
        const inner: SourceEntry[] = [];
        await this.walkFd(sub.fd, childReal, childRel, inner, options);
        // An ignored directory is sent only as the parent of excepted files (BuildKit).
        if (!ignored || inner.length > 0) out.push(toEntry(childRel, childReal, st, "dir"), ...inner);
      } finally {
        await sub.close();
      }
    }
  }

  private typeOrSkip(st: BigIntStats, realPath: string, options: WalkOptions): SourceEntryType | undefined {
    const type = entryType(st);
    if (type !== undefined) return type;
    if (st.isSocket() || options.skipSpecial) return undefined;
    this.checkSpecial(st, options.what ?? `read ${JSON.stringify(realPath)} in ${this.label}`, realPath);
    return undefined;
  }

  private checkSpecial(st: BigIntStats, what: string, name: string): void {
    const kind = st.isFIFO() ? "a FIFO" : st.isCharacterDevice() ? "a character device" : st.isBlockDevice() ? "a block device" : st.isSocket() ? "a socket" : "a special file";
    const cannot = this.purpose === "copy" ? "which berth does not copy" : "which berth cannot copy into an image";
    throw notImplemented(`${what}: ${name} is ${kind}, ${cannot}`, this.object(name));
  }

  private checkOpen(): void {
    if (this.closed) throw failedPrecondition(`read ${this.label}: the source root is closed`);
  }

  private object(name: string) {
    return { object: { kind: "buildSource", name } };
  }

  private leaves(what: string, userPath: string, detail?: string): BerthError {
    const msg = this.scope === "context" ? "the path leaves the build context" : `the path leaves ${this.label}`;
    return invalidArgument(`${what}: ${msg}${detail ? ` (${detail})` : ""}`, this.object(userPath));
  }

  private linkLeaves(what: string, userPath: string, link: string, target: string): BerthError {
    return invalidArgument(
      `${what}: the symlink ${link} points to ${target}, which leaves the build context (only links that stay inside it are followed)`,
      this.object(userPath),
    );
  }

  private absent(what: string, cause?: unknown): BerthError {
    const where = this.scope === "context" ? "not found in the build context or excluded by .dockerignore" : `not found in ${this.label}`;
    return notFound(`${what}: ${where}`, cause === undefined ? {} : { cause });
  }

  private changed(what: string, cause?: unknown): BerthError {
    const reader = this.purpose === "copy" ? "it was being copied" : "the build was reading it";
    return failedPrecondition(`${what}: it changed while ${reader}`, cause === undefined ? {} : { cause });
  }
}

function entryType(st: BigIntStats): SourceEntryType | undefined {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  return undefined;
}

function identityOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

function toEntry(path: string, realPath: string, st: BigIntStats, type: SourceEntryType): SourceEntry {
  return {
    path,
    realPath,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === "file" ? Number(st.size) : 0,
    mtimeMs: Number(st.mtimeMs),
    identity: identityOf(st),
    changeStamp: `${st.mtimeNs}:${st.ctimeNs}`,
    ctimeMs: Number(st.ctimeMs),
  };
}

function join(a: string, b: string): string {
  return a === "" ? b : `${a}/${b}`;
}

/** Names of a directory descriptor, in byte order (Go's ReadDir order). */
async function readdirSorted(fd: number): Promise<string[]> {
  const names = await fs.readdir(`/proc/self/fd/${fd}`);
  return names.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
}

/**
 * Reads a build-definition file (the Dockerfile, `.dockerignore`) of the context, never
 * through the ignore rules (Docker reads them even when ignored). The parents are resolved
 * inside the context; a last component that is a symlink is refused (InvalidArgument naming
 * it): such a link could make berth read a host file as the build definition. Undefined
 * when absent if `optional`, else NotFound.
 */
export async function readBuildFile(
  root: SourceRoot,
  name: string,
  options: { what: string; maxBytes: number; optional?: boolean },
): Promise<Buffer | undefined> {
  let entry: SourceEntry;
  try {
    entry = await root.resolve(name, { followFinal: false, what: options.what });
  } catch (err) {
    if (options.optional && (err as BerthError).kind === "NotFound") return undefined;
    throw err;
  }
  if (entry.type === "symlink") {
    throw invalidArgument(`${options.what}: ${name} is a symlink, which berth refuses (it could point out of the build context)`, {
      object: { kind: "buildSource", name },
    });
  }
  if (entry.type !== "file") throw invalidArgument(`${options.what}: ${name} is not a regular file`, { object: { kind: "buildSource", name } });
  return root.readFile(entry, options.maxBytes, options.what);
}

/** The Dockerfile at `name` (default `Dockerfile`) in the context, at most 8 MiB. */
export async function readDockerfile(root: SourceRoot, name = "Dockerfile"): Promise<Buffer> {
  const buf = await readBuildFile(root, name, { what: `read Dockerfile ${name}`, maxBytes: 8 << 20 });
  return buf!;
}
