/**
 * The changes of a container's writable layer (its overlayfs upper directory), as
 * `docker diff` lists them and as a layer tar carries them (issue 10: `berth diff`,
 * `berth commit`, the builder's RUN steps).
 *
 * Contract:
 * - `scanUpper(upper)` walks the upper directory with lstat only (nothing is followed; a
 *   symlink is an entry) and returns its entries, parents before children, names sorted
 *   bytewise: files, directories, symlinks (with their target), devices, fifos, sockets,
 *   overlayfs whiteouts (0/0 character devices: the path was deleted) and opaque directories
 *   (`trusted.overlay.opaque=y`: nothing of the lower directory shows through), read with one
 *   getfattr(1) run (Debian package attr). The overlay is mounted with redirect_dir and
 *   metacopy off (the kernel's defaults, as Docker's overlay2 requires), so the upper holds
 *   whole files and real directories.
 * - `dropPlaceholders(entries, mountPoints, lower)` removes what the runtime, not the
 *   container, put there: an empty file or empty directory at a mount point of the
 *   container's spec (/proc, /sys, /dev, /etc/hosts, volumes, ...) that its image does not
 *   have, and then any directory on the way to a mount point whose contents were all such
 *   placeholders. Docker keeps them out with its init layer.
 * - `changesOf(entries, lower)`: `A` (not in the image), `C` (in the image: changed, or a
 *   directory something under it changed), `D` (a whiteout), sorted by path, each path with a
 *   leading `/`; the contents of an added or opaque directory are listed under it.
 * - `packUpper(upper, entries, pack)` writes the layer tar (OCI image-spec layer rules):
 *   whiteouts as `.wh.<name>`, an opaque directory as its entry then `<dir>/.wh..wh..opq`,
 *   a second name of an inode seen in this walk as a hardlink to the first, sockets left out
 *   (tar has none), uid/gid/mode/mtime kept. Files are opened with O_NOFOLLOW and checked
 *   to be the inode the scan saw; one that changed since is an error (commit a stopped
 *   container, or accept a consistent-enough copy of a running one, as Docker does).
 */
import { constants as fsc, promises as fs, type Stats } from "node:fs";
import * as path from "node:path";
import type { Pack } from "tar-stream";
import { failedPrecondition, unavailable } from "../../lib/errors.js";
import { runCommand } from "./run-command.js";
import { packEntry, packFileBody } from "./tar-pack.js";

export type UpperType = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket" | "whiteout";

export interface UpperEntry {
  /** Relative to the upper directory, `/`-separated, no leading `/`. */
  rel: string;
  type: UpperType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  ino: number;
  nlink: number;
  rdev: number;
  /** Directories: nothing of the lower directory shows through. */
  opaque?: boolean;
  linkTarget?: string;
}

/** What the image (the lower layers) has at a path: its type, or undefined. */
export type LowerLookup = (rel: string) => Promise<"dir" | "other" | undefined>;

export interface Change {
  kind: "A" | "C" | "D";
  path: string;
}

function typeOf(st: Stats): UpperType {
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFile()) return "file";
  if (st.isCharacterDevice()) return st.rdev === 0 ? "whiteout" : "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "socket";
}

/** Directories of `upper` marked opaque, relative (one getfattr run over the tree). */
export async function opaqueDirs(upper: string): Promise<Set<string>> {
  let out: string;
  try {
    // -P: never follow a symlink; -d with -m: dump only this attribute, for files that have it
    out = await runCommand("getfattr", ["-R", "-P", "--absolute-names", "-d", "-m", "^trusted\\.overlay\\.opaque$", "--", upper], { timeoutMs: 120_000 });
  } catch (err) {
    if (((err as { cause?: NodeJS.ErrnoException }).cause?.code ?? "") === "ENOENT") throw unavailable("read the opaque directories of a layer: getfattr is missing (Debian package attr)", { cause: err });
    throw err;
  }
  return parseOpaque(out, upper);
}

/** Parses `getfattr -d` output: `# file: <path>` then `name="value"` lines. */
export function parseOpaque(out: string, upper: string): Set<string> {
  const dirs = new Set<string>();
  let file: string | undefined;
  for (const line of out.split("\n")) {
    if (line.startsWith("# file: ")) file = unescapeGetfattr(line.slice("# file: ".length));
    else if (file !== undefined && /^trusted\.overlay\.opaque="y"$/.test(line)) {
      const rel = path.relative(upper, file);
      if (rel !== "" && !rel.startsWith("..")) dirs.add(rel.split(path.sep).join("/"));
    }
  }
  return dirs;
}

/** getfattr escapes unprintable bytes, `\` and newlines in names as `\ooo`. */
function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, "utf8");
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString("latin1"))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString("latin1"), 8));
      i += 3;
    } else bytes.push(c);
  }
  return Buffer.from(bytes).toString("utf8");
}

export async function scanUpper(upper: string): Promise<UpperEntry[]> {
  const opaque = await opaqueDirs(upper);
  const out: UpperEntry[] = [];
  const walk = async (relDir: string): Promise<void> => {
    const names = (await fs.readdir(path.join(upper, relDir))).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = path.join(upper, rel);
      const st = await fs.lstat(abs);
      const type = typeOf(st);
      const e: UpperEntry = { rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === "file" ? st.size : 0, mtime: st.mtime, ino: st.ino, nlink: st.nlink, rdev: st.rdev };
      if (type === "symlink") e.linkTarget = await fs.readlink(abs);
      if (type === "dir" && opaque.has(rel)) e.opaque = true;
      out.push(e);
      if (type === "dir") await walk(rel);
    }
  };
  await walk("");
  return out;
}

const isUnder = (rel: string, dir: string) => rel.startsWith(`${dir}/`);

/**
 * Drops the runtime's placeholders (see the header). `mountPoints`: container paths (`/proc`,
 * `/etc/hosts`, a volume's destination, ...).
 */
export async function dropPlaceholders(entries: UpperEntry[], mountPoints: string[], lower: LowerLookup): Promise<UpperEntry[]> {
  const mounts = new Set(mountPoints.map((m) => path.posix.normalize(m).replace(/^\/+/, "").replace(/\/+$/, "")).filter((m) => m !== ""));
  const childCount = new Map<string, number>();
  for (const e of entries) {
    const parent = path.posix.dirname(e.rel);
    if (parent !== ".") childCount.set(parent, (childCount.get(parent) ?? 0) + 1);
  }
  const dropped = new Set<string>();
  for (const e of entries) {
    if (!mounts.has(e.rel)) continue;
    const empty = (e.type === "file" && e.size === 0) || (e.type === "dir" && !childCount.get(e.rel) && !e.opaque);
    if (empty && !(await lower(e.rel))) dropped.add(e.rel);
  }
  // Directories on the way to a mount point, deepest first: one goes when everything under
  // it was dropped (it only led to placeholders). Any other directory, empty or not, is a
  // change the container made; only these few are scanned.
  const kept: UpperEntry[] = [];
  const leadToMount = (d: UpperEntry) => [...mounts].some((m) => isUnder(m, d.rel));
  const dirs = entries.filter((e) => e.type === "dir" && !e.opaque && !dropped.has(e.rel) && leadToMount(e)).sort((a, b) => b.rel.length - a.rel.length);
  for (const d of dirs) {
    const under = entries.filter((c) => isUnder(c.rel, d.rel));
    if (under.length > 0 && under.every((c) => dropped.has(c.rel))) dropped.add(d.rel);
  }
  for (const e of entries) if (!dropped.has(e.rel)) kept.push(e);
  return kept;
}

/** `docker diff`: see the header. */
export async function changesOf(entries: UpperEntry[], lower: LowerLookup): Promise<Change[]> {
  const out: Change[] = [];
  // Directories not in the image, or opaque: their contents are A. Entries come parents
  // first, so a directory under one of them is in the set by the time its children come.
  const added = new Set<string>();
  for (const e of entries) {
    const p = `/${e.rel}`;
    if (e.type === "whiteout") {
      out.push({ kind: "D", path: p });
      continue;
    }
    const underAdded = added.has(path.posix.dirname(e.rel));
    const inLower = underAdded ? undefined : await lower(e.rel);
    const kind = inLower ? "C" : "A";
    out.push({ kind, path: p });
    if (e.type === "dir" && (kind === "A" || e.opaque)) added.add(e.rel);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Writes the layer tar of `entries` (from scanUpper over `upper`) to `pack`; does not finalize it. */
export async function packUpper(upper: string, entries: UpperEntry[], pack: Pack): Promise<void> {
  const firstName = new Map<number, string>();
  for (const e of entries) {
    const base = { name: e.rel, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
    switch (e.type) {
      case "whiteout": {
        const dir = path.posix.dirname(e.rel);
        const name = `${dir === "." ? "" : `${dir}/`}.wh.${path.posix.basename(e.rel)}`;
        await packEntry(pack, { name, mode: 0, uid: 0, gid: 0, mtime: e.mtime, size: 0, type: "file" }, Buffer.alloc(0));
        break;
      }
      case "dir":
        await packEntry(pack, { ...base, name: `${e.rel}/`, type: "directory" });
        if (e.opaque) await packEntry(pack, { name: `${e.rel}/.wh..wh..opq`, mode: 0, uid: 0, gid: 0, mtime: e.mtime, size: 0, type: "file" }, Buffer.alloc(0));
        break;
      case "symlink":
        await packEntry(pack, { ...base, type: "symlink", linkname: e.linkTarget! });
        break;
      case "char":
      case "block":
        await packEntry(pack, { ...base, type: e.type === "char" ? "character-device" : "block-device", devmajor: Math.floor(e.rdev / 256) & 0xfff, devminor: (e.rdev & 0xff) | ((e.rdev >> 12) & 0xfff00) });
        break;
      case "fifo":
        await packEntry(pack, { ...base, type: "fifo" });
        break;
      case "socket":
        break;
      case "file": {
        const first = e.nlink > 1 ? firstName.get(e.ino) : undefined;
        if (first !== undefined) {
          await packEntry(pack, { ...base, type: "link", linkname: first, size: 0 });
          break;
        }
        if (e.nlink > 1) firstName.set(e.ino, e.rel);
        await packFile(upper, e, pack, base);
        break;
      }
    }
  }
}

async function packFile(upper: string, e: UpperEntry, pack: Pack, base: { name: string; mode: number; uid: number; gid: number; mtime: Date }): Promise<void> {
  const fh = await fs.open(path.join(upper, e.rel), fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (st.ino !== e.ino || !st.isFile() || st.size !== e.size) throw failedPrecondition(`pack layer: /${e.rel} changed while it was read (commit a stopped container for a consistent layer)`);
    await packFileBody(pack, { ...base, size: e.size }, fh);
  } finally {
    await fh.close();
  }
}
