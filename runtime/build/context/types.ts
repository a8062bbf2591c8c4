/** Types shared by the build-context modules (walker, .dockerignore, COPY/ADD planner). */

/** Where a source tree comes from, which decides how paths that reach out of it are treated. */
export type SourceScope =
  /**
   * The build context: a `..` above the root, an absolute source and a symlink followed out
   * of the root (absolute, or relative and climbing above it) are InvalidArgument errors.
   */
  | "context"
  /**
   * A root file system (`COPY --from`): paths are read as inside a chroot. Absolute sources
   * and absolute symlinks start at the root, `..` at the root stays there.
   */
  | "rootfs";

export type SourceEntryType = "file" | "dir" | "symlink";

/** One file system object of a source tree, as lstat saw it. */
export interface SourceEntry {
  /** Path relative to the walked directory, `/`-separated; `""` for the directory itself. */
  path: string;
  /** Path relative to the source root with every symlink resolved; `""` is the root. */
  realPath: string;
  type: SourceEntryType;
  /** Permission bits including setuid, setgid and sticky (`st_mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes for files, 0 for the others. */
  size: number;
  /** A symlink's target exactly as stored (never resolved). */
  linkTarget?: string;
  mtimeMs: number;
  /** `dev:ino`; the object a later open must find again. */
  identity: string;
  /** `mtime-ns:ctime-ns`: a write changes the ctime, which no one can set back (content hash cache keys). */
  changeStamp: string;
  /** ctime in milliseconds (a hash is cached only when the file was last changed well before). */
  ctimeMs: number;
}

/** Decides which context paths Docker would not send (`.dockerignore`). */
export interface IgnoreMatcher {
  /** `relPath` is relative to the context root, `/`-separated; it is cleaned first. */
  ignores(relPath: string): boolean;
  /** Whether any `!` exception exists, so an ignored directory may still hold sent files. */
  readonly hasExceptions: boolean;
  /** The patterns as Docker keeps them (cleaned, `!` kept), for messages and cache keys. */
  readonly patterns: readonly string[];
}
