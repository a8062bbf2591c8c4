import * as path from "node:path";
import { invalidArgument, notFound } from "../../lib/errors.js";

/**
 * `docker cp`'s path rules, as moby's pkg/archive (copy.go) implements them, for both ends of
 * `berth cp` (the CLI's local side and the daemon's container side). Pure string functions;
 * the file system is asked by the callers (what exists, whether it is a directory).
 *
 * - A trailing `/` asserts a directory; a trailing `/.` means "the contents of" a directory.
 *   Cleaning a path (path.posix.normalize) drops both, so the original's are put back
 *   (preserveTrailingDotOrSeparator) before the rules look at it.
 * - The archive of a source path holds entries named by its base name (`passwd`, `etc/…`), or
 *   `.`/`./…` for `DIR/.` (and for `/`, whose contents are what one copies); prepareArchiveCopy
 *   decides from the source's kind and the destination's state into which directory the
 *   archive is extracted and whether its top name is renamed (rebased) — the table of
 *   moby's PrepareArchiveCopy, case by case:
 *
 *   destination exists, is a directory      → extract into it, names as they are (SRC into DEST/,
 *                                              or SRC/. its contents into DEST/)
 *   destination exists (not a dir), src dir  → error: cannot copy a directory to a file
 *   destination exists (not a dir), src file → extract into its parent, renamed to its base (overwrite)
 *   destination absent, src dir              → extract into its parent, renamed to its base (DEST is made)
 *   destination absent, ends with / or /.,
 *     src not a dir                          → error: the destination directory must exist
 *   destination absent, src file             → extract into its parent, renamed to its base
 *
 * The parent of an absent destination must exist and be a directory (checked by the callers'
 * stat, as CopyInfoDestinationPath does); extraction never replaces a directory with a
 * non-directory or the reverse (docker cp's NoOverwriteDirNonDir).
 */

export function hasTrailingSeparator(p: string): boolean {
  return p.length > 0 && p.endsWith("/");
}

/** The path's last element is `.` (`dir/.`, `.`, `dir/./`), Go's filepath.Base(p) == ".". */
export function specifiesCurrentDir(p: string): boolean {
  return goBase(p) === ".";
}

/** A path that says it must be a directory: a trailing `/` or `/.`. */
export function assertsDirectory(p: string): boolean {
  return hasTrailingSeparator(p) || specifiesCurrentDir(p);
}

/** Go's filepath.Clean for `/` paths: no trailing separator, `.` for the empty path. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** Go's filepath.Base: trailing separators dropped, `/` for the root, `.` for the empty path. */
export function goBase(p: string): string {
  if (p === "") return ".";
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** Appends `/.` or `/` to a cleaned path when the original ended so (and it does not already). */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (!specifiesCurrentDir(cleaned) && specifiesCurrentDir(original)) {
    if (!hasTrailingSeparator(out)) out += "/";
    out += ".";
  }
  if (!hasTrailingSeparator(out) && hasTrailingSeparator(original)) out += "/";
  return out;
}

/** moby's SplitPathDirEntry: the cleaned path's directory and base, a trailing `.` kept as the base. */
export function splitPathDirEntry(p: string): { dir: string; base: string } {
  let cleaned = cleanPath(p);
  if (specifiesCurrentDir(p)) cleaned = cleaned === "/" ? "/." : `${cleaned}/.`;
  return { dir: path.posix.dirname(cleaned), base: goBase(cleaned) };
}

/** A path inside a container: absolute, cleaned, its trailing `/` or `/.` kept (moby's ResolvePath's absPath). */
export function containerAbsPath(p: string): string {
  return preserveTrailingDotOrSeparator(cleanPath(path.posix.join("/", p)), p);
}

/**
 * The name the archive of `absPath` gives its top entry: its base, or `.` for `DIR/.` and
 * for the root (whose contents are copied, as if `/.` was written).
 */
export function archiveBaseName(absPath: string): string {
  const base = goBase(absPath);
  return base === "/" ? "." : base;
}

/**
 * moby's GetRebaseName: after a symlink (`-L`) made `resolved` of `original`, keep the
 * original's trailing `/` or `/.` on it, and rename the archive's top entry back to the
 * original's base when the resolution changed it.
 */
export function rebaseAfterLink(original: string, resolved: string): { path: string; rebaseName?: string } {
  let out = resolved;
  if (specifiesCurrentDir(original) && !specifiesCurrentDir(out)) out += "/.";
  if (hasTrailingSeparator(original) && !hasTrailingSeparator(out)) out += "/";
  const rebaseName = goBase(original) !== goBase(out) ? goBase(original) : undefined;
  return rebaseName !== undefined ? { path: out, rebaseName } : { path: out };
}

/** What one end knows of a copy's path (moby's CopyInfo). */
export interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  /** The name the source's top entry must take (after a followed symlink). */
  rebaseName?: string;
}

/** Where an archive is extracted, and the rename of its top entry (`from` → `to`) if any. */
export interface ArchiveCopyPlan {
  dstDir: string;
  rebase?: { from: string; to: string };
}

/**
 * moby's PrepareArchiveCopy (see the table in the header). Errors: InvalidArgument for a
 * directory onto a file, NotFound for a file into a directory that does not exist.
 * `display` names the destination in messages as the user wrote it.
 */
export function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo, display = dst.path): ArchiveCopyPlan {
  const { dir: dstDir, base: dstBase } = splitPathDirEntry(dst.path);
  let { base: srcBase } = splitPathDirEntry(src.path);
  if (srcBase === "/") srcBase = ".";
  const renamed = (): ArchiveCopyPlan => {
    const from = src.rebaseName ?? srcBase;
    return from === dstBase ? { dstDir } : { dstDir, rebase: { from, to: dstBase } };
  };
  if (dst.exists && dst.isDir) return { dstDir: dst.path };
  if (dst.exists && src.isDir) throw invalidArgument(`copy to ${display}: cannot copy a directory to a file`);
  if (dst.exists) return renamed();
  if (src.isDir) return renamed();
  if (assertsDirectory(dst.path)) throw notFound(`copy to ${display}: the destination directory must exist`);
  return renamed();
}

/**
 * The entry `name` of an archive with its top component `from` renamed `to` (moby's
 * RebaseArchiveEntries, by whole components): `from` itself and `from/…` are renamed,
 * other names are kept. `.` as `from` matches `.`, `./…` and (since tar names may drop the
 * `./`) every relative name; a `/`-rooted name is never produced by berth and is kept.
 */
export function rebaseEntryName(name: string, from: string, to: string): string {
  const trimmed = name.replace(/\/+$/, "");
  const slash = name.length !== trimmed.length ? "/" : "";
  if (from === ".") {
    if (trimmed === "." || trimmed === "") return to + slash;
    const rest = trimmed.startsWith("./") ? trimmed.slice(2) : trimmed;
    return `${to}/${rest}${slash}`;
  }
  if (trimmed === from) return to + slash;
  if (trimmed.startsWith(`${from}/`)) return `${to}${trimmed.slice(from.length)}${slash}`;
  return name;
}

/** The parts of `NAME:PATH` / a local path on `berth cp`'s command line (docker's splitCpArg). */
export type CpArg = { kind: "local"; path: string } | { kind: "container"; container: string; path: string };

/**
 * docker's splitCpArg: an absolute path, or one without `:`, is local (so `/a:b` is a local
 * file); otherwise the text before the first `:` is a container name. `-` is local
 * (stdin/stdout). Text before the `:` that starts with `.` is a local relative path
 * (`./file:name.txt`).
 */
export function parseCpArg(arg: string): CpArg {
  if (arg === "-" || arg.startsWith("/")) return { kind: "local", path: arg };
  const i = arg.indexOf(":");
  if (i < 0 || arg.startsWith(".")) return { kind: "local", path: arg };
  if (i === 0) throw invalidArgument(`copy: ${JSON.stringify(arg)} names no container before its ":"`);
  return { kind: "container", container: arg.slice(0, i), path: arg.slice(i + 1) };
}

/** Both arguments checked: exactly one of them names a container. */
export function parseCpArgs(src: string, dst: string): { direction: "from"; container: string; src: string; dst: string } | { direction: "to"; container: string; src: string; dst: string } {
  const s = parseCpArg(src);
  const d = parseCpArg(dst);
  if (s.kind === "container" && d.kind === "container") throw invalidArgument("copy: copying between containers is not supported");
  if (s.kind === "local" && d.kind === "local") throw invalidArgument("copy: one of the paths must name a container as NAME:PATH");
  if (s.kind === "container") {
    if (s.path === "") throw invalidArgument(`copy from ${s.container}: the container path is empty`);
    return { direction: "from", container: s.container, src: s.path, dst: d.path };
  }
  const c = d as Extract<CpArg, { kind: "container" }>;
  if (c.path === "") throw invalidArgument(`copy to ${c.container}: the container path is empty`);
  return { direction: "to", container: c.container, src: s.path, dst: c.path };
}
