import { promises as fs, constants as fsc } from "node:fs";
import * as path from "node:path";
import { failedPrecondition, invalidArgument, notFound } from "../../lib/errors.js";

/**
 * Path resolution inside a container rootfs that can never escape it, after
 * filepath-securejoin: every component is lstat'ed under the rootfs, symlinks are expanded
 * by hand with absolute targets taken as rootfs-relative, and `..` stops at the rootfs.
 *
 * Contract: the result is a host path lexically inside `rootfs`. It is safe against
 * symlinks that exist when it runs; a rootfs being modified concurrently (a running
 * container) can still race it between resolve and use, so readers additionally open the
 * final component with O_NOFOLLOW and check the file type on the open descriptor.
 */

const MAX_SYMLINKS = 40;

/** Resolves `unsafePath` (container view, absolute or relative to /) to a host path under `rootfs`. */
export async function secureResolve(rootfs: string, unsafePath: string): Promise<string> {
  const root = path.resolve(rootfs);
  let pending = splitComponents(unsafePath);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === "..") {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, comp);
    let st;
    try {
      st = await fs.lstat(candidate);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        // Missing: it cannot be a symlink. Keep walking, a later ".." may climb back out.
        resolved.push(comp);
        continue;
      }
      throw err;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw invalidArgument(`resolve ${unsafePath} in rootfs: too many symlinks`);
      const target = await fs.readlink(candidate);
      const targetComps = splitComponents(target);
      if (path.posix.isAbsolute(target)) resolved.length = 0;
      pending = [...targetComps, ...pending];
      continue;
    }
    resolved.push(comp);
  }
  return path.join(root, ...resolved);
}

function splitComponents(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * Reads a regular file inside the rootfs, at most `maxBytes` (larger files are refused
 * with FailedPrecondition). NotFound when absent; FailedPrecondition when not a regular file.
 */
export async function readFileInRootfs(rootfs: string, unsafePath: string, maxBytes = 1024 * 1024): Promise<Buffer> {
  const host = await secureResolve(rootfs, unsafePath);
  let fh;
  try {
    fh = await fs.open(host, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw notFound(`read ${unsafePath} in rootfs: no such file`, { cause: err });
    if (code === "ELOOP") throw failedPrecondition(`read ${unsafePath} in rootfs: is a symlink`, { cause: err });
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw failedPrecondition(`read ${unsafePath} in rootfs: not a regular file`);
    if (st.size > maxBytes) throw failedPrecondition(`read ${unsafePath} in rootfs: larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total >= buf.length) throw failedPrecondition(`read ${unsafePath} in rootfs: larger than ${maxBytes} bytes`);
    }
    return buf.subarray(0, total);
  } finally {
    await fh.close();
  }
}

/** Like readFileInRootfs but undefined when the file does not exist. */
export async function readFileInRootfsIfExists(rootfs: string, unsafePath: string, maxBytes?: number): Promise<Buffer | undefined> {
  try {
    return await readFileInRootfs(rootfs, unsafePath, maxBytes);
  } catch (err) {
    if ((err as { kind?: string }).kind === "NotFound") return undefined;
    throw err;
  }
}

/**
 * `mkdir -p` of a directory inside the rootfs, never through a symlink that leads out of
 * it (each component is re-resolved securely before it is created). Idempotent.
 * FailedPrecondition when a component exists and is not a directory.
 */
export async function mkdirAllInRootfs(rootfs: string, unsafePath: string, mode = 0o755, depth = 0): Promise<string> {
  if (depth > MAX_SYMLINKS) throw invalidArgument(`create directory ${unsafePath} in rootfs: too many symlinks`);
  const root = path.resolve(rootfs);
  const comps = splitComponents(unsafePath);
  let current = "/";
  let host = root;
  for (const comp of comps) {
    current = path.posix.join(current, comp);
    host = await secureResolve(rootfs, current);
    try {
      await fs.mkdir(host, { mode });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && host !== root) {
        // A symlink led to a path whose parents are missing: create them, inside the rootfs.
        await mkdirAllInRootfs(rootfs, `/${path.relative(root, path.dirname(host))}`, mode, depth + 1);
        await fs.mkdir(host, { mode }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "EEXIST") throw e;
        });
      } else if (code !== "EEXIST") throw err;
    }
    const st = await fs.lstat(host);
    if (!st.isDirectory()) throw failedPrecondition(`create directory ${unsafePath} in rootfs: ${current} is not a directory`);
  }
  return host;
}
