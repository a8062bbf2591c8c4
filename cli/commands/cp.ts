/**
 * `berth cp NAME:PATH LOCAL` and `berth cp LOCAL NAME:PATH`: docker cp's client half. The
 * daemon serves the stat, the tar and the extraction of container paths (runtime/containers/
 * copy.ts); the local side is packed and unpacked here, with docker cp's path rules
 * (runtime/containers/copy-paths.ts, moby's pkg/archive) deciding where the archive goes and
 * how its top entry is named.
 *
 * The local tree is the user's: its own symlinks on the way to the destination are followed
 * as docker's CopyInfoDestinationPath does. What comes from the container is not trusted:
 * entries are extracted by extractTar (no `..`, no absolute names, no parent that is a
 * symlink, nothing created by a call that follows a link), so a container cannot make cp
 * write outside the destination.
 *
 * Ownership, as docker cp documents it (moby/moby#34096: Docker's own implementation has the
 * two swapped since 17.06; berth does what the documentation says): into a container the
 * files are owned by its root, with -a by the uid/gid they have here; out of a container
 * they are the invoking user's, with -a the container's uid/gid (which needs root here).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { failedPrecondition, invalidArgument, isBerthError, notFound } from "../../lib/errors.js";
import { openSourceRoot } from "../../runtime/build/context/walk.js";
import { defaultExtractOptions, extractTar, isGoDir, isGoSymlink, packTree } from "../../runtime/containers/copy-archive.js";
import {
  archiveBaseName,
  assertsDirectory,
  containerAbsPath,
  parseCpArgs,
  prepareArchiveCopy,
  preserveTrailingDotOrSeparator,
  rebaseAfterLink,
  rebaseEntryName,
  splitPathDirEntry,
  type CopyInfo,
} from "../../runtime/containers/copy-paths.js";
import type { ContainerPathStat } from "../../controller/api/protocol.js";
import type { CommandContext } from "../client.js";

export interface CpOptions {
  archive?: boolean;
  followLink?: boolean;
  quiet?: boolean;
}

export async function runCp(ctx: CommandContext, src: string, dst: string, o: CpOptions): Promise<number> {
  const args = parseCpArgs(src, dst);
  const bytes = args.direction === "from" ? await copyFrom(ctx, args.container, args.src, args.dst, o) : await copyTo(ctx, args.container, args.src, args.dst, o);
  if (!o.quiet && bytes !== undefined) ctx.stderr.write(`Successfully copied ${humanBytes(bytes)} to ${args.direction === "from" ? args.dst : `${args.container}:${args.dst}`}\n`);
  return 0;
}

/** A local path made absolute with its trailing `/` or `/.` kept (docker's resolveLocalPath). */
function localAbs(p: string): string {
  return preserveTrailingDotOrSeparator(path.resolve(p), p);
}

async function copyFrom(ctx: CommandContext, name: string, srcPath: string, dst: string, o: CpOptions): Promise<number | undefined> {
  let rebaseName: string | undefined;
  if (o.followLink) {
    const st = await ctx.client.statContainerPath(name, srcPath).catch(() => undefined);
    if (st && isGoSymlink(st.mode)) {
      const r = rebaseAfterLink(srcPath, st.linkTarget);
      srcPath = r.path;
      rebaseName = r.rebaseName;
    }
  }
  if (dst === "-") {
    if ((ctx.stdout as { isTTY?: boolean }).isTTY) throw invalidArgument(`copy from ${name}:${srcPath}: refusing to write a tar to a terminal; redirect standard output`);
    const { tar } = await ctx.client.archiveContainerPath(name, srcPath);
    await pipeline(tar, ctx.stdout as unknown as NodeJS.WritableStream);
    return undefined;
  }
  const dstPath = localAbs(dst);
  const dstInfo = await localDestinationInfo(dstPath, dst);
  const { stat, tar } = await ctx.client.archiveContainerPath(name, srcPath);
  const srcInfo: CopyInfo = { path: srcPath, exists: true, isDir: isGoDir(stat.mode), ...(rebaseName ? { rebaseName } : {}) };
  let plan;
  try {
    plan = prepareArchiveCopy(srcInfo, dstInfo, dst);
  } catch (err) {
    for await (const _ of tar) break; // let the answer go
    throw err;
  }
  const renames: [string, string][] = [];
  // the daemon names the top entry by the path's base (archiveBaseName); -L renames it back to the link's
  if (rebaseName) renames.push([archiveBaseName(containerAbsPath(srcPath)), rebaseName]);
  if (plan.rebase) renames.push([plan.rebase.from, plan.rebase.to]);
  const rename = renames.length ? (n: string) => renames.reduce((acc, [from, to]) => rebaseEntryName(acc, from, to), n) : undefined;
  const root = await openSourceRoot("/", { scope: "rootfs", label: "the local file system", purpose: "copy" });
  let n = 0;
  try {
    const dirEntry = await root.resolve(plan.dstDir, { followFinal: true, what: `copy to ${dst}` });
    if (dirEntry.type !== "dir") throw invalidArgument(`copy to ${dst}: ${plan.dstDir} is not a directory`);
    const dir = await root.openDirectory(dirEntry, `copy to ${dst}`);
    try {
      await extractTar(dir.fd, tar, {
        ...defaultExtractOptions(),
        owner: o.archive ? "preserve" : "none",
        what: `copy ${name}:${srcPath} to ${dst}`,
        ...(rename ? { rename } : {}),
        onBytes: (b) => (n += b),
      });
    } finally {
      await dir.close();
    }
  } finally {
    await root.close();
  }
  return n;
}

/** docker's CopyInfoDestinationPath on the local side: symlinks followed (at most 10), an absent path's parent must be a directory. */
async function localDestinationInfo(dstPath: string, display: string): Promise<CopyInfo> {
  let p = dstPath;
  for (let i = 0; ; i++) {
    let st;
    try {
      st = await fs.lstat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      const parent = splitPathDirEntry(p).dir;
      const pst = await fs.stat(parent).catch((e: NodeJS.ErrnoException) => {
        throw notFound(`copy to ${display}: the directory ${parent} does not exist`, { cause: e });
      });
      if (!pst.isDirectory()) throw invalidArgument(`copy to ${display}: ${parent} is not a directory`);
      return { path: p, exists: false, isDir: false };
    }
    if (!st.isSymbolicLink()) {
      if (assertsDirectory(p) && !st.isDirectory()) throw invalidArgument(`copy to ${display}: not a directory`);
      return { path: p, exists: true, isDir: st.isDirectory() };
    }
    if (i >= 10) throw invalidArgument(`copy to ${display}: too many symlinks`);
    const target = await fs.readlink(p);
    p = preserveTrailingDotOrSeparator(path.isAbsolute(target) ? path.normalize(target) : path.join(splitPathDirEntry(p).dir, target), p);
  }
}

async function copyTo(ctx: CommandContext, name: string, src: string, dstPath: string, o: CpOptions): Promise<number | undefined> {
  // The destination as the container sees it: one symlink level followed here, as docker's client does.
  const dstInfo: CopyInfo = { path: dstPath, exists: false, isDir: false };
  let st: ContainerPathStat | undefined = await statOrUndefined(ctx, name, dstPath);
  if (st && isGoSymlink(st.mode)) {
    dstInfo.path = st.linkTarget;
    st = await statOrUndefined(ctx, name, st.linkTarget);
  }
  if (st) {
    // the daemon's stats are of directories, symlinks (a link to a link) and regular files only
    if (isGoSymlink(st.mode)) throw invalidArgument(`copy to ${name}:${dstPath}: the destination must be a directory or a regular file`);
    dstInfo.exists = true;
    dstInfo.isDir = isGoDir(st.mode);
  }
  if (src === "-") {
    if (!dstInfo.isDir) throw invalidArgument(`copy to ${name}:${dstPath}: the destination must be a directory`);
    await ctx.client.extractToContainer(name, dstInfo.path, ctx.stdin, { copyUIDGID: !!o.archive });
    return undefined;
  }
  const srcInfo = await localSourceInfo(src, !!o.followLink);
  const plan = prepareArchiveCopy(srcInfo, dstInfo, `${name}:${dstPath}`);
  let top = srcInfo.rebaseName ?? archiveBaseName(srcInfo.path);
  if (plan.rebase) top = rebaseEntryName(top, plan.rebase.from, plan.rebase.to);
  const root = await openSourceRoot("/", { scope: "rootfs", label: "the local file system", purpose: "copy" });
  let n = 0;
  try {
    const entry = await root.resolve(srcInfo.path, { followFinal: assertsDirectory(srcInfo.path), what: `copy ${src}` });
    const tarStream = (await import("tar-stream")).default;
    const pack = tarStream.pack();
    const packing = packTree(root, entry, top, pack, { walk: { skipSpecial: true, what: `copy ${src}` }, onBytes: (b) => (n += b) }).then(
      () => pack.finalize(),
      (err: unknown) => pack.destroy(err as Error),
    );
    await Promise.all([ctx.client.extractToContainer(name, plan.dstDir, pack as unknown as AsyncIterable<Uint8Array>, { copyUIDGID: !!o.archive }), packing]);
  } finally {
    await root.close();
  }
  return n;
}

async function statOrUndefined(ctx: CommandContext, name: string, p: string): Promise<ContainerPathStat | undefined> {
  try {
    return await ctx.client.statContainerPath(name, p);
  } catch (err) {
    if (isBerthError(err, "NotFound")) return undefined;
    throw err;
  }
}

/** docker's CopyInfoSourcePath: the parent's symlinks resolved (all of them with -L), the source must exist. */
async function localSourceInfo(src: string, followLink: boolean): Promise<CopyInfo> {
  const abs = localAbs(src);
  const real = (p: string) =>
    fs.realpath(p).catch((err: NodeJS.ErrnoException) => {
      throw (err.code === "ENOENT" ? notFound : invalidArgument)(`copy ${src}: ${err.code === "ENOENT" ? "no such file or directory" : err.message}`, { cause: err });
    });
  let resolved: string;
  let rebaseName: string | undefined;
  if (followLink) {
    const r = rebaseAfterLink(abs, await real(abs));
    resolved = r.path;
    rebaseName = r.rebaseName;
  } else {
    const cut = abs.lastIndexOf("/");
    const dir = abs.slice(0, cut + 1);
    const base = abs.slice(cut + 1);
    const rdir = await real(dir);
    resolved = (rdir === "/" ? "" : rdir) + "/" + base;
    if (abs.endsWith("/") && path.basename(abs) !== path.basename(resolved)) rebaseName = path.basename(abs);
  }
  let st;
  try {
    st = await fs.lstat(assertsDirectory(resolved) ? resolved : resolved.replace(/\/+$/, "") || "/");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw notFound(`copy ${src}: no such file or directory`, { cause: err });
    if (code === "ENOTDIR") throw invalidArgument(`copy ${src}: not a directory`, { cause: err });
    throw err;
  }
  if (!st.isDirectory() && !st.isFile() && !st.isSymbolicLink()) throw failedPrecondition(`copy ${src}: not a regular file, directory or symlink`);
  return { path: resolved, exists: true, isDir: st.isDirectory(), ...(rebaseName ? { rebaseName } : {}) };
}

function humanBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}
