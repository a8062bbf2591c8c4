/**
 * What every runtime scenario and contender shares: the image name, bounded waits and
 * processes, limited concurrency, and the busybox rootfs fixture (a dir for runc bundles and
 * its gzip tarball for the image imports).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { which } from "../../test/helpers/host.js";
import { mustRun } from "../proc.js";
import type { BenchEnv } from "./types.js";

export const IMAGE = "localhost/berth-bench/busybox:1";
export const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const APPLETS = ["sh", "sleep", "echo", "cat", "ls", "true"];

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms}ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs `cmd` (see mustRun); its stdout. */
export async function must(cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<string> {
  return (await mustRun(cmd, args, timeoutMs, env ? { env } : {})).stdout;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function eachLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** A minimal busybox rootfs dir (the runc bundle's rootfs) and a gzip tarball of it. */
export async function makeBusybox(env: BenchEnv): Promise<void> {
  const busybox = which("busybox");
  if (!busybox) throw new Error("busybox is not installed (apt-get install busybox-static)");
  const r = env.rootfsDir;
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "usr/bin"]) await fs.mkdir(path.join(r, d), { recursive: true });
  await fs.chmod(path.join(r, "tmp"), 0o1777);
  await fs.copyFile(busybox, path.join(r, "bin/busybox"));
  await fs.chmod(path.join(r, "bin/busybox"), 0o755);
  for (const a of APPLETS) await fs.symlink("busybox", path.join(r, "bin", a));
  await fs.writeFile(path.join(r, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await fs.writeFile(path.join(r, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await must("tar", ["--numeric-owner", "-C", r, "-czf", env.rootfsTgz, "."], env.timeoutMs);
}
