/**
 * A berth runtime on a fresh root for one round: opened with the bench's cgroup parent and a
 * loopback-only registry guard; `dispose()` closes it, removes any container a build left
 * (runc state, conmon), unmounts and deletes the root. The cgroup parent itself is removed
 * once, by the suite (index.ts). dispose is idempotent and never throws.
 */
import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import { loopbackOnly } from "../../runtime/registry/testing.js";
import { pidsMentioning, removeCgroupTrees, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";

export interface BerthRoot {
  root: string;
  runRoot: string;
  rt: Runtime;
  /** Closes the runtime only (releases the root lock; the root stays for another process). */
  close(): Promise<void>;
  dispose(): Promise<void>;
}

export interface BerthRootOptions {
  root: string;
  runRoot: string;
  cgroupParent: string;
  /** Every URL the registry client connects to (each must be loopback: the guard refuses others). */
  seen: URL[];
}

/** Options of openRuntime the bench and its child process share. */
export function runtimeOptions(o: BerthRootOptions) {
  return { root: o.root, runRoot: o.runRoot, owner: "berth bench build", cgroupParent: o.cgroupParent, registry: { guard: loopbackOnly(o.seen) } };
}

export async function openBerthRoot(o: BerthRootOptions): Promise<BerthRoot> {
  let rt: Runtime | undefined;
  let closed = false;
  let disposed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await rt?.close().catch(() => {});
  };
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await close();
    await cleanBerthDirs(o);
    await fs.rm(o.root, { recursive: true, force: true }).catch(() => {});
    await fs.rm(o.runRoot, { recursive: true, force: true }).catch(() => {});
  };
  try {
    await fs.mkdir(o.runRoot, { recursive: true });
    rt = await openRuntime(runtimeOptions(o));
    return { root: o.root, runRoot: o.runRoot, rt, close, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Containers, processes and mounts left under a berth root and run-root (a failed build, a killed child). */
export async function cleanBerthDirs(o: Pick<BerthRootOptions, "root" | "runRoot" | "cgroupParent">): Promise<void> {
  const runcRoot = path.join(o.runRoot, "runc");
  if (existsSync(runcRoot)) {
    const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
    for (const id of ids) {
      await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: 30_000 });
      await removeCgroupTrees(`${o.cgroupParent}/${id}`);
    }
  }
  for (const p of [...(await pidsMentioning(o.runRoot)), ...(await pidsMentioning(o.root))]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {}
  }
  await unmountAllUnder(o.root);
  await unmountAllUnder(o.runRoot);
}
