import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { RuntimeContext } from "./context.js";
import { conmonPidsOf, isConmonOf, killAndWait } from "./proc.js";

/**
 * What an earlier run of a container may leave on the host where runc's state no longer
 * names it (the run-root was emptied, or a start was cut short): its conmon, and processes
 * in the container's cgroup. `clearLeftovers` ends them — conmon first, so that it writes no
 * exit file a later run would take for its own — and removes the cgroup. Real time, not
 * the context's clock: it waits for processes to die.
 */

/** The pid in the bundle's conmon.pid, if any. */
export async function bundleConmonPid(ctx: RuntimeContext, id: string): Promise<number | undefined> {
  const pid = Number((await fs.readFile(path.join(ctx.bundleDir(id), "conmon.pid"), "utf8").catch(() => "")).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * SIGKILLs the conmon(s) of container `id` (those given, the bundle's, and — when the
 * cgroup still has processes, so a lost conmon may still watch them — any found in /proc)
 * and waits until they are dead; then SIGKILLs every process in `cgroupsPath` until it is
 * empty, and removes it. Caller holds the container's lock and knows no run of it is to
 * survive. Idempotent; cheap when there is nothing to do (one read per cgroup hierarchy).
 * Returns the pids it found in the cgroup.
 */
export async function clearLeftovers(ctx: RuntimeContext, id: string, cgroupsPath: string, conmons: (number | undefined)[] = []): Promise<number[]> {
  const procs = await ctx.cgroups.procs(cgroupsPath);
  const candidates = new Set<number>();
  for (const p of [...conmons, await bundleConmonPid(ctx, id)]) if (p && (await isConmonOf(p, id))) candidates.add(p);
  if (procs.length > 0) for (const p of await conmonPidsOf(id)) candidates.add(p);
  if (candidates.size > 0) await killAndWait([...candidates]);
  let left = procs;
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await killAndWait(left, 200);
    left = await ctx.cgroups.procs(cgroupsPath);
  }
  await ctx.cgroups.remove(cgroupsPath);
  return procs;
}
