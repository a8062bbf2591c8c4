import { closeSync, constants as fsc, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, promises as fs, rmSync, symlinkSync, unlinkSync, writeSync } from "node:fs";
import * as path from "node:path";
import type { Logger } from "pino";
import type { Header } from "tar-stream";
import { invalidArgument, unavailable } from "../../lib/errors.js";
import { classifyWhiteout, entryComponents } from "./entry-path.js";
import { runCommand } from "./run-command.js";
import type { LargeBodySink } from "./tar-reader.js";

export interface LayerWriterOptions {
  /** Apply tar ownership with lchown/fchown. Needs root; off means files keep our uid/gid. */
  chown: boolean;
  /** Cap on the number of tar entries (an inode bomb is as bad as a byte bomb). */
  maxEntries: number;
  logger: Logger;
  /** Names the layer in error messages, e.g. `unpack layer sha256:...`. */
  what: string;
  /**
   * A path outside `root` on the same filesystem, in a directory private to this writer,
   * where one whiteout device is made for the layer's whiteouts to be hard links of (a
   * mknod(1) process per whiteout cost ~4 ms; link(2) costs microseconds; overlayfs itself
   * shares one whiteout inode the same way). Removed by finish(). Unset: a mknod each.
   */
  whiteoutTemplate?: string;
}

const MAX_ID = 0xfffffffe;

/** Bodies up to this size are handed whole (one synchronous write); larger ones come in chunks (`large`). */
export const SMALL_FILE_BYTES = 1 << 20;

/**
 * Applies tar entries to one layer directory, which must be new and private to this writer
 * (nobody else writes into it while it is being filled). Contract: nothing is ever created,
 * modified or followed outside `root`, whatever the entries say:
 *
 * - Entry and hardlink names go through `entryComponents` (leading `/` stripped, `..` and
 *   Unicode twins rejected).
 * - Every parent component is checked with lstat under `root`: a missing parent is created
 *   as a 0755 directory, a symlink or non-directory parent is an error. Symlinks are never
 *   resolved, whether planted earlier in this layer or not (lower layers are other
 *   directories and are never looked at).
 * - The final component is removed first when it exists (tar replace semantics; an existing
 *   directory is kept when the new entry is a directory), then created with O_EXCL|O_NOFOLLOW
 *   (files), mkdir, symlink(2) or link(2). Metadata goes through the open fd (fchown, fchmod,
 *   futimes) or through lchown/lutimes; chmod is never applied to a symlink. chown happens
 *   before chmod so setuid/setgid bits survive.
 * - Symlink targets are stored verbatim and never followed. Hardlink targets must be an
 *   existing non-directory entry of this layer (link(2) does not follow a symlink target).
 * - Whiteouts: `.wh.<name>` becomes an overlayfs whiteout (0/0 character device: a hard
 *   link of one made by mknod(1) per layer, see `whiteoutTemplate`) at `<name>`; `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory
 *   (via setfattr(1), Debian package `attr`; Unavailable when it is missing). A 0/0
 *   character device entry is already an overlay whiteout and is kept as one.
 * - Other character and block devices are skipped (logged): runc provides /dev; a device
 *   node from an image is never needed and is a way to reach host hardware. FIFOs are
 *   created with mkfifo(1). xattrs from pax headers are not applied (tar-stream decodes pax
 *   values as UTF-8, which corrupts binary values such as security.capability; `trusted.*`
 *   must never come from an image anyway).
 * - Directory mtimes are applied by `finish()`, deepest first, after all children exist.
 *
 * Speed (bench/build): tar-reader.ts hands each entry over with its whole body (up to
 * SMALL_FILE_BYTES; a larger file comes in chunks to `large`), and an entry's calls — open,
 * write, fchown, fchmod, futimes, close, mkdir, symlink, link, lstat — are synchronous: each
 * is a few microseconds, where an awaited one costs a thread-pool round trip, and an unpack
 * runs on a worker thread of its own (unpack-pool.ts). Only what runs a command (a FIFO, an
 * opaque marker, a layer's first whiteout) is awaited. The existence check before creating a
 * name is skipped for names this writer has not created: the directory is fresh and private
 * to it.
 */
export class LayerWriter {
  private readonly dirTimes = new Map<string, Date>();
  private readonly knownDirs = new Set<string>();
  /** Every path this writer created and has not removed (what can exist under root). */
  private readonly written = new Set<string>();
  private entries = 0;
  private templateMade = false;

  constructor(
    private readonly root: string,
    private readonly opts: LayerWriterOptions,
  ) {}

  /**
   * One entry with its whole body (tar-reader.ts hands bodies up to SMALL_FILE_BYTES so;
   * empty for anything but a file). Synchronous — nothing to await — except for what runs a
   * command (a FIFO, an opaque marker, a layer's first whiteout).
   */
  entry(h: Header, body: Buffer): void | Promise<void> {
    const t = this.target(h);
    if (!t) return;
    if (t.kind === "opaque") return this.setOpaque(this.ensureParents(t.parts), h.name);
    if (t.kind === "whiteout") {
      this.ensureParents(t.parts);
      return this.makeWhiteout(this.abs(t.parts));
    }
    const { abs, meta } = t;
    switch (h.type) {
      case "file":
      case "contiguous-file": {
        this.removeExisting(abs, false);
        const fd = this.createFile(abs);
        try {
          for (let off = 0; off < body.byteLength; ) off += writeSync(fd, body, off, body.byteLength - off);
          this.fileMeta(fd, meta);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case "directory": {
        const kept = this.removeExisting(abs, true);
        if (!kept) {
          mkdirSync(abs, { mode: 0o700 });
          this.written.add(abs);
        }
        const fd = openSync(abs, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
        try {
          if (this.opts.chown) fchownSync(fd, meta.uid, meta.gid);
          fchmodSync(fd, meta.mode);
        } finally {
          closeSync(fd);
        }
        this.knownDirs.add(abs);
        this.dirTimes.set(abs, meta.mtime);
        return;
      }
      case "symlink": {
        const target = h.linkname ?? "";
        if (target === "" || target.includes("\0")) throw invalidArgument(`${this.opts.what}: symlink ${JSON.stringify(h.name)} has an invalid target`);
        this.removeExisting(abs, false);
        symlinkSync(target, abs);
        this.written.add(abs);
        if (this.opts.chown) lchownSync(abs, meta.uid, meta.gid);
        lutimesSync(abs, meta.mtime, meta.mtime);
        return;
      }
      case "link": {
        const targetParts = entryComponents(h.linkname ?? "", "hardlink target");
        if (targetParts.length === 0) throw invalidArgument(`${this.opts.what}: hardlink ${JSON.stringify(h.name)} has an empty target`);
        const targetParent = this.checkParents(targetParts, h.linkname ?? "");
        const targetAbs = path.join(targetParent, targetParts[targetParts.length - 1]!);
        if (targetAbs === abs) return;
        let st;
        try {
          st = lstatSync(targetAbs);
        } catch {
          throw invalidArgument(`${this.opts.what}: hardlink ${JSON.stringify(h.name)} targets ${JSON.stringify(h.linkname)}, which is not in this layer`);
        }
        if (st.isDirectory()) throw invalidArgument(`${this.opts.what}: hardlink ${JSON.stringify(h.name)} targets a directory`);
        this.removeExisting(abs, false);
        linkSync(targetAbs, abs);
        this.written.add(abs);
        return;
      }
      case "fifo":
        return this.makeFifo(abs, meta);
      case "character-device":
        if ((h.devmajor ?? 0) === 0 && (h.devminor ?? 0) === 0) return this.makeWhiteout(abs);
        this.opts.logger.debug({ entry: h.name, type: h.type }, "skipping device node");
        return;
      case "block-device":
        this.opts.logger.debug({ entry: h.name, type: h.type }, "skipping device node");
        return;
      default:
        throw invalidArgument(`${this.opts.what}: entry ${JSON.stringify(h.name)} has unsupported type ${String(h.type)}`);
    }
  }

  /**
   * An entry whose body is larger than tar-reader hands whole: a file (its chunks written
   * as they come, synchronously); anything else is applied as `entry` and its body dropped.
   */
  async large(h: Header): Promise<LargeBodySink> {
    if (h.type !== "file" && h.type !== "contiguous-file") {
      await this.entry(h, Buffer.alloc(0));
      return { write() {}, end() {} };
    }
    const t = this.target(h);
    if (!t || t.kind !== "entry") throw invalidArgument(`${this.opts.what}: entry ${JSON.stringify(h.name)} is a whiteout or the root with a body`);
    this.removeExisting(t.abs, false);
    const fd = this.createFile(t.abs);
    let open = true;
    const close = () => {
      if (open) closeSync(fd);
      open = false;
    };
    return {
      write(chunk) {
        try {
          for (let off = 0; off < chunk.byteLength; ) off += writeSync(fd, chunk, off, chunk.byteLength - off);
        } catch (err) {
          close();
          throw err;
        }
      },
      end: () => {
        try {
          this.fileMeta(fd, t.meta);
        } finally {
          close();
        }
      },
    };
  }

  /** The entry counted and its name checked: what it is (nothing, for the root itself), where, with which metadata. */
  private target(h: Header):
    | undefined
    | { kind: "opaque"; parts: string[] }
    | { kind: "whiteout"; parts: string[] }
    | { kind: "entry"; abs: string; meta: { uid: number; gid: number; mode: number; mtime: Date } } {
    if (++this.entries > this.opts.maxEntries) {
      throw invalidArgument(`${this.opts.what}: more than ${this.opts.maxEntries} entries`);
    }
    const parts = entryComponents(h.name, "entry");
    if (parts.length === 0) return undefined; // the root itself ("./"): the layer dir is ours, skip
    const base = parts[parts.length - 1]!;
    const wh = classifyWhiteout(base);
    if (wh.kind === "opaque") return { kind: "opaque", parts };
    if (wh.kind === "whiteout") {
      const target = [...parts.slice(0, -1), wh.target];
      entryComponents(target.join("/"), "whiteout target");
      return { kind: "whiteout", parts: target };
    }
    const parent = this.ensureParents(parts);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const { uid, gid } = ownership(h, this.opts.what);
    const mtime = h.mtime instanceof Date && !Number.isNaN(h.mtime.getTime()) ? h.mtime : new Date(0);
    return { kind: "entry", abs: path.join(parent, base), meta: { uid, gid, mode, mtime } };
  }

  /** A regular file, created O_EXCL|O_NOFOLLOW (0600 until fileMeta). */
  private createFile(abs: string): number {
    const fd = openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    this.written.add(abs);
    return fd;
  }

  /** A file's metadata through its descriptor: chown before chmod, so setuid/setgid bits survive. */
  private fileMeta(fd: number, meta: { uid: number; gid: number; mode: number; mtime: Date }): void {
    if (this.opts.chown) fchownSync(fd, meta.uid, meta.gid);
    fchmodSync(fd, meta.mode);
    futimesSync(fd, meta.mtime, meta.mtime);
  }

  private async makeFifo(abs: string, meta: { uid: number; gid: number; mode: number; mtime: Date }): Promise<void> {
    this.removeExisting(abs, false);
    await runCommand("mkfifo", ["-m", meta.mode.toString(8), "--", abs]);
    this.written.add(abs);
    if (this.opts.chown) await fs.lchown(abs, meta.uid, meta.gid);
    await fs.lutimes(abs, meta.mtime, meta.mtime);
  }

  /** Applies deferred directory mtimes, deepest first, and removes the whiteout template. Call once after the last entry. */
  async finish(): Promise<void> {
    if (this.templateMade) await fs.rm(this.opts.whiteoutTemplate!, { force: true });
    const dirs = [...this.dirTimes.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [dir, t] of dirs) {
      const st = await fs.lstat(dir).catch(() => undefined);
      if (st?.isDirectory()) await fs.lutimes(dir, t, t);
    }
  }

  private abs(parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  /** Verifies (creating missing ones) every parent of `parts`; returns the parent's path. */
  private ensureParents(parts: string[]): string {
    let cur = this.root;
    for (const p of parts.slice(0, -1)) {
      cur = path.join(cur, p);
      if (this.knownDirs.has(cur)) continue;
      if (!this.written.has(cur)) {
        // nothing of this name was made here, so nothing is there (the directory is private)
        mkdirSync(cur, { mode: 0o755 });
        this.written.add(cur);
        this.knownDirs.add(cur);
        continue;
      }
      const st = lstatSync(cur);
      if (st.isSymbolicLink()) {
        throw invalidArgument(`${this.opts.what}: parent ${JSON.stringify(path.relative(this.root, cur))} of ${JSON.stringify(parts.join("/"))} is a symlink`);
      }
      if (st.isCharacterDevice() && st.rdev === 0) {
        // A whiteout earlier in this layer, re-created as a directory by a later entry.
        unlinkSync(cur);
        mkdirSync(cur, { mode: 0o755 });
        this.knownDirs.add(cur);
        continue;
      }
      if (!st.isDirectory()) {
        throw invalidArgument(`${this.opts.what}: parent ${JSON.stringify(path.relative(this.root, cur))} of ${JSON.stringify(parts.join("/"))} is not a directory`);
      }
      this.knownDirs.add(cur);
    }
    return cur;
  }

  /** Like ensureParents but creates nothing: for hardlink targets. */
  private checkParents(parts: string[], name: string): string {
    let cur = this.root;
    for (const p of parts.slice(0, -1)) {
      cur = path.join(cur, p);
      if (this.knownDirs.has(cur)) continue;
      let st;
      try {
        st = lstatSync(cur);
      } catch {
        st = undefined;
      }
      if (!st || !st.isDirectory()) {
        throw invalidArgument(`${this.opts.what}: hardlink target ${JSON.stringify(name)} is not in this layer or passes through a symlink`);
      }
      this.knownDirs.add(cur);
    }
    return cur;
  }

  /** Removes what is at `abs` (never following it). Returns true when a directory was kept. */
  private removeExisting(abs: string, keepDir: boolean): boolean {
    if (!this.written.has(abs)) return false;
    let st;
    try {
      st = lstatSync(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        this.written.delete(abs);
        return false;
      }
      throw err;
    }
    if (st.isDirectory()) {
      if (keepDir) return true;
      rmSync(abs, { recursive: true, force: true }); // a whole tree replaced within one layer: rare
      this.forgetDirsUnder(abs);
      return false;
    }
    unlinkSync(abs);
    this.written.delete(abs);
    return false;
  }

  private forgetDirsUnder(abs: string): void {
    const under = (d: string) => d === abs || d.startsWith(abs + path.sep);
    for (const d of [...this.knownDirs]) if (under(d)) this.knownDirs.delete(d);
    for (const d of [...this.dirTimes.keys()]) if (under(d)) this.dirTimes.delete(d);
    for (const d of [...this.written]) if (under(d)) this.written.delete(d);
  }

  private makeWhiteout(abs: string): void | Promise<void> {
    this.removeExisting(abs, false);
    const template = this.opts.whiteoutTemplate;
    if (template && this.templateMade) {
      try {
        linkSync(template, abs);
        this.written.add(abs);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EMLINK") throw err;
      }
    }
    return this.makeWhiteoutSlow(abs);
  }

  /** The layer's first whiteout (the template made), a template full of links, or no template: mknod(1). */
  private async makeWhiteoutSlow(abs: string): Promise<void> {
    const template = this.opts.whiteoutTemplate;
    if (template) {
      if (!this.templateMade) {
        await runCommand("mknod", ["-m", "000", "--", template, "c", "0", "0"]);
        this.templateMade = true;
      }
      try {
        linkSync(template, abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EMLINK") throw err;
        // the template has as many links as the file system allows: a fresh one
        unlinkSync(template);
        await runCommand("mknod", ["-m", "000", "--", template, "c", "0", "0"]);
        linkSync(template, abs);
      }
    } else {
      await runCommand("mknod", ["-m", "000", "--", abs, "c", "0", "0"]);
    }
    this.written.add(abs);
  }

  private async setOpaque(dir: string, name: string): Promise<void> {
    if (dir !== this.root) {
      const st = lstatSync(dir);
      if (!st.isDirectory()) throw invalidArgument(`${this.opts.what}: opaque marker ${JSON.stringify(name)} is not in a directory`);
    }
    try {
      await runCommand("setfattr", ["-h", "-n", "trusted.overlay.opaque", "-v", "y", "--", dir]);
    } catch (err) {
      if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
        throw unavailable(`${this.opts.what}: opaque directory ${JSON.stringify(name)} needs setfattr (Debian package attr)`, { cause: err });
      }
      throw err;
    }
  }
}

export function ownership(h: Header, what: string): { uid: number; gid: number } {
  const pax = (h.pax ?? undefined) as Record<string, string> | undefined;
  const pick = (paxValue: string | undefined, value: number | undefined, which: string): number => {
    const v = paxValue !== undefined ? Number(paxValue) : (value ?? 0);
    if (!Number.isInteger(v) || v < 0 || v > MAX_ID) throw invalidArgument(`${what}: entry ${JSON.stringify(h.name)} has an invalid ${which} ${String(paxValue ?? value)}`);
    return v;
  };
  return { uid: pick(pax?.uid, h.uid, "uid"), gid: pick(pax?.gid, h.gid, "gid") };
}
