import { promises as fs } from "node:fs";
import * as path from "node:path";
import { pathExists, type RuntimeContext } from "./context.js";
import { keepRotated } from "./k8s-log.js";
import type { ContainerRecord } from "./records.js";

/**
 * Exits: conmon writes `<runRoot>/exits/<id>` (the exit code as text) when the container's
 * init ends; berth learns it from the watcher (watcher.ts), inspect, stop or the next open
 * (adoption.ts), whichever comes first, and records it once (the lookups every public
 * operation starts with apply any exit already written: lookup.ts).
 */

/**
 * Records the exit of a running container from conmon's files and frees its runc state
 * and cgroup (so it can be started again). Caller holds the container's lock. Idempotent:
 * no-op unless running with an exit file. Publishes `exited` once per run.
 */
export async function finalizeLocked(ctx: RuntimeContext, id: string): Promise<ContainerRecord | undefined> {
  const rec = await ctx.records.load(id);
  if (!rec || rec.status !== "running") return rec;
  const file = ctx.exitFile(id);
  let text: string;
  let st;
  try {
    text = await fs.readFile(file, "utf8");
    st = await fs.stat(file);
  } catch {
    return rec;
  }
  const code = Number.parseInt(text.trim(), 10);
  const oomFile = await pathExists(path.join(ctx.bundleDir(id), "persist", "oom"));
  const oomCount = await ctx.cgroups.oomKillCount(rec.cgroupsPath);
  await ctx.runc.delete(id);
  await ctx.cgroups.remove(rec.cgroupsPath);
  await keepRotated(ctx.logPath(id)).catch(() => {});
  // The rootfs stays prepared (kept across restarts); start mounts it again.
  await ctx.opts.snapshots?.unmount(id).catch(() => {});
  rec.status = "exited";
  rec.exitCode = Number.isNaN(code) ? 255 : code;
  rec.oomKilled = oomFile || oomCount > 0;
  rec.finishedAt = st.mtime.toISOString();
  delete rec.reason;
  await ctx.records.save(rec);
  ctx.hub.publish({ type: "exited", id, name: rec.name, exitCode: rec.exitCode, oomKilled: rec.oomKilled, at: rec.finishedAt });
  return rec;
}

/**
 * Waits up to `ms` (on the context's clock) for the exit file of `id`, or for its record to
 * stop saying running. True when it exited. Rejects with the signal's reason when aborted.
 */
export async function waitExitFile(ctx: RuntimeContext, id: string, ms: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = ctx.clock.now() + ms;
  for (;;) {
    signal?.throwIfAborted();
    if (await pathExists(ctx.exitFile(id))) return true;
    const rec = await ctx.records.load(id);
    if (!rec || rec.status !== "running") return true;
    if (ctx.clock.now() >= deadline) return false;
    await ctx.clock.sleep(Math.min(50, Math.max(1, deadline - ctx.clock.now())), signal);
  }
}
