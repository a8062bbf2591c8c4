/**
 * `berth cp` on the daemon's side: the stat, the tar and the extraction of a path of a
 * container's file system, as Docker's `/containers/{id}/archive` serves them, safe against
 * the container (CVE-2018-15664).
 *
 * Which tree:
 * - A running container: `/proc/<pid>/root` of its init process, opened once as the root
 *   descriptor of a SourceRoot (walk.ts). That descriptor is the container's root in its own
 *   mount namespace, so lookups under it see exactly what the container sees — its overlay
 *   rootfs, volumes, binds, tmpfs mounts, read-only mounts (a write there is EROFS, a
 *   FailedPrecondition, where Docker refuses a read-only volume) — with nothing of berth's
 *   re-implementing the container's mount table. The pid is checked against the record's
 *   start time after the open: a pid reused by a host process after the container exited
 *   would hand out the host's root, so a mismatch closes it and fails (FailedPrecondition).
 *   The kernel pseudo file systems (/proc, /sys) are not copied: a path under them is
 *   refused and a walk leaves them empty; devices, FIFOs and sockets are left out of walks.
 * - A stopped container: its merged overlay view (the snapshot store's mount, as export.ts
 *   uses: the kernel applies whiteouts and copy-up, so a write lands in the writable layer
 *   as the container would have made it; reading the upper layer over the image layers by
 *   hand would need berth to re-implement overlayfs for writes too). Volumes, binds and
 *   tmpfs are not mounted then, and what lies under their mount points in the rootfs is
 *   hidden while the container runs: a path under one is refused (FailedPrecondition naming
 *   the mount) and a walk leaves the mount point empty, so nothing is written where the
 *   container would never see it. Unmounted again after when this mounted it.
 *
 * Paths inside the tree are resolved by SourceRoot in its "rootfs" scope: component by
 * component under directory descriptors with lstat, symlinks expanded by hand as the
 * container sees them (absolute targets from the container's root, `..` stopping there, at
 * most 40 links), every open O_NOFOLLOW and checked by fstat; writes go through
 * copy-archive.ts's extractTar, which never follows a link. A container swapping a path
 * component for a symlink during the copy can make it fail, never lead it out.
 *
 * Docker's path rules (copy-paths.ts): the path is made absolute and cleaned with its
 * trailing `/` or `/.` kept; symlinks before the last component are followed, the last one
 * only when the path asserts a directory (`link/`): the archive of a symlink is the link.
 *
 * Concurrency: each operation runs under the container's lock (as export and commit do):
 * start, stop's clean-up and remove wait for it.
 */
import * as path from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { failedPrecondition, invalidArgument, isBerthError } from "../../lib/errors.js";
import { openSourceRoot, type SourceRoot, type WalkOptions } from "../build/context/walk.js";
import type { SourceEntry } from "../build/context/types.js";
import { defaultExtractOptions, extractTar, packTree, pathStatOf, type PathStat } from "./copy-archive.js";
import { archiveBaseName, assertsDirectory, containerAbsPath, goBase } from "./copy-paths.js";
import type { RuntimeContext } from "./context.js";
import { isSameProcess } from "./proc.js";
import type { ContainerRecord } from "./records.js";

/** Kernel file systems of a running container, never copied. */
const PSEUDO = ["proc", "sys"];

interface ContainerTree {
  root: SourceRoot;
  running: boolean;
  /** Container paths (no leading `/`) a path must not be under, with why. */
  refused: { at: string; why: string }[];
  release(): Promise<void>;
}

async function openTree(ctx: RuntimeContext, rec: ContainerRecord, what: string): Promise<ContainerTree> {
  const label = `container ${rec.name}`;
  if (rec.status === "running") {
    const root = await openSourceRoot(`/proc/${rec.pid}/root`, { scope: "rootfs", label, purpose: "copy" }).catch((err: unknown) => {
      throw failedPrecondition(`${what}: container ${rec.name} is no longer running`, { cause: err });
    });
    if (!(await isSameProcess(rec.pid, rec.pidStartTime))) {
      await root.close();
      throw failedPrecondition(`${what}: container ${rec.name} is no longer running`);
    }
    return { root, running: true, refused: PSEUDO.map((at) => ({ at, why: `/${at} is a kernel file system of the container, which berth does not copy` })), release: () => root.close() };
  }
  const snapshots = ctx.opts.snapshots;
  if (!snapshots) throw failedPrecondition(`${what}: the runtime has no snapshot store`);
  const { rootfs } = await snapshots.mount(rec.id);
  let root: SourceRoot;
  try {
    root = await openSourceRoot(rootfs, { scope: "rootfs", label, purpose: "copy" });
  } catch (err) {
    await snapshots.unmount(rec.id).catch(() => {});
    throw err;
  }
  const refused = rec.spec.mounts.map((m) => ({
    at: path.posix.normalize(m.target).replace(/^\/+|\/+$/g, ""),
    why: `${m.target} is a ${m.type} mount of the container, which is mounted only while it runs (start it to copy ${m.type === "tmpfs" ? "to or from it" : "its contents as the container sees them"})`,
  }));
  return {
    root,
    running: false,
    refused,
    release: async () => {
      await root.close();
      await snapshots.unmount(rec.id);
    },
  };
}

function under(realPath: string, at: string): boolean {
  return at === "" || realPath === at || realPath.startsWith(`${at}/`);
}

function checkAllowed(tree: ContainerTree, entry: SourceEntry, what: string): void {
  for (const r of tree.refused) {
    if (r.at !== "" && under(entry.realPath, r.at)) {
      throw failedPrecondition(`${what}: ${r.why}`);
    }
  }
}

function walkOptions(tree: ContainerTree, what: string): WalkOptions {
  // a running container's tree changes under the walk: what changed is left out (never followed)
  return { what, skipSpecial: true, skipChanged: tree.running, prune: (realPath) => tree.refused.some((r) => r.at === realPath) };
}

/** Resolves `absPath` as Docker's ResolvePath + lstat do (see the header). */
async function resolvePath(tree: ContainerTree, absPath: string, what: string): Promise<SourceEntry> {
  const entry = await tree.root.resolve(absPath, { followFinal: assertsDirectory(absPath), what });
  if (assertsDirectory(absPath) && entry.type !== "dir") throw invalidArgument(`${what}: not a directory`);
  checkAllowed(tree, entry, what);
  return entry;
}

/** Where a symlink entry leads, absolute in the container (lexically, when it dangles: the copy may create it). */
async function linkTargetOf(tree: ContainerTree, absPath: string, entry: SourceEntry, what: string): Promise<string> {
  if (entry.type !== "symlink") return "";
  try {
    const target = await tree.root.resolve(absPath, { followFinal: true, what });
    return `/${target.realPath}`;
  } catch (err) {
    if (!isBerthError(err, "NotFound")) throw err;
    const t = entry.linkTarget ?? "";
    const parent = path.posix.dirname(`/${entry.realPath}`);
    return path.posix.normalize(t.startsWith("/") ? t : path.posix.join(parent, t));
  }
}

function inTree<T>(ctx: RuntimeContext, rec: ContainerRecord, what: string, body: (tree: ContainerTree) => Promise<T>): Promise<T> {
  return (async () => {
    const tree = await openTree(ctx, rec, what);
    try {
      return await body(tree);
    } finally {
      await tree.release();
    }
  })();
}

/** Docker's ContainerStatPath of `userPath`; the caller holds the container's lock. NotFound when absent. */
export function statContainerPathLocked(ctx: RuntimeContext, rec: ContainerRecord, userPath: string): Promise<PathStat> {
  const absPath = containerAbsPath(userPath);
  const what = `stat ${rec.name}:${userPath}`;
  return inTree(ctx, rec, what, async (tree) => {
    const entry = await resolvePath(tree, absPath, what);
    return pathStatOf(entry, goBase(absPath), await linkTargetOf(tree, absPath, entry, what));
  });
}

/**
 * Docker's CopyFromContainer: the tar of `userPath` (its top entry named by the path's base,
 * or `.` for `DIR/.` and `/`) into `out`, after `onStat` was called with its stat. Errors
 * before `onStat` (NotFound, FailedPrecondition) leave `out` untouched; a failure after it
 * destroys `out`. The caller holds the container's lock.
 */
export function archiveContainerPathLocked(
  ctx: RuntimeContext,
  rec: ContainerRecord,
  userPath: string,
  out: Writable,
  options: { signal?: AbortSignal; onStat?: (stat: PathStat) => void } = {},
): Promise<void> {
  const absPath = containerAbsPath(userPath);
  const what = `copy from ${rec.name}:${userPath}`;
  return inTree(ctx, rec, what, async (tree) => {
    const entry = await resolvePath(tree, absPath, what);
    options.onStat?.(pathStatOf(entry, goBase(absPath), await linkTargetOf(tree, absPath, entry, what)));
    const tar = (await import("tar-stream")).default;
    const pack = tar.pack();
    const packing = packTree(tree.root, entry, archiveBaseName(absPath), pack, { walk: walkOptions(tree, what), ...(options.signal ? { signal: options.signal } : {}) }).then(
      () => pack.finalize(),
      (err: unknown) => pack.destroy(err as Error),
    );
    try {
      await Promise.all([options.signal ? pipeline(pack, out, { signal: options.signal }) : pipeline(pack, out), packing]);
    } catch (err) {
      out.destroy(err as Error);
      throw err;
    }
  });
}

/**
 * Docker's CopyToContainer: extracts `tar` into the directory `userPath` (the last
 * component not followed unless the path ends in `/`, as Docker's extraction point), with
 * the entries' owners when `copyUIDGID`, else owned by the container's root. Errors:
 * NotFound, InvalidArgument (not a directory, a bad entry, a directory onto a file or the
 * reverse), FailedPrecondition (read-only, a mount of a stopped container, not running any
 * more). The caller holds the container's lock.
 */
export function extractToContainerLocked(
  ctx: RuntimeContext,
  rec: ContainerRecord,
  userPath: string,
  tar: Readable | AsyncIterable<Uint8Array>,
  options: { copyUIDGID?: boolean } = {},
): Promise<number> {
  const absPath = containerAbsPath(userPath);
  const what = `copy to ${rec.name}:${userPath}`;
  if (rec.status !== "running" && rec.spec.readOnlyRootfs) throw failedPrecondition(`${what}: the container's root file system is read-only`);
  return inTree(ctx, rec, what, async (tree) => {
    const entry = await resolvePath(tree, absPath, what);
    if (entry.type !== "dir") throw invalidArgument(`${what}: the extraction point is not a directory`);
    const dir = await tree.root.openDirectory(entry, what);
    try {
      return await extractTar(dir.fd, tar, {
        ...defaultExtractOptions(),
        owner: options.copyUIDGID ? "preserve" : { uid: 0, gid: 0 },
        what,
        onSkip: (name, why) => ctx.log.info({ container: rec.name, entry: name, why }, "copy: entry skipped"),
      });
    } finally {
      await dir.close();
    }
  });
}
