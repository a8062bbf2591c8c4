import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import { capabilitiesUpTo } from "../../lib/capabilities.js";
import { Cgroups } from "./cgroups.js";
import { pathExists, type RuntimeContext } from "./context.js";
import { finalizeLocked } from "./exits.js";
import { bootId, isSameProcess, processStartTime } from "./proc.js";
import type { ContainerRecord } from "./records.js";

/**
 * Adoption: how a runtime instance takes over the containers an earlier one started.
 *
 * conmon runs in its own session and outlives the process that started it, so containers
 * keep running while no berth runs. `openRuntimeState` then brings every record in line
 * with the facts, under the container's lock, before any operation is served:
 * - still running under a live conmon (same pid and start time): adopted as is (same pid);
 * - exit file present: the exit that happened meanwhile is recorded (code, oomKilled,
 *   finishedAt = when conmon wrote it; no reason). The `exited` event it publishes has no
 *   subscriber yet: consumers learn it from list()/inspect();
 * - run-root lost (no `boot-id` marker, or one of another boot: the host rebooted or the
 *   tmpfs was wiped): every container recorded running is reported exited, exit code 255,
 *   with REBOOT_REASON; its runc state and cgroup are dropped, the rootfs stays prepared so
 *   the container can be started again;
 * - conmon gone without an exit file: exited 255 with a reason, or, if the container's init
 *   still runs, kept running with a reason (it runs unmonitored; no exit code will come);
 * - a start cut short by a crash (record still "created"): adopted as running when runc
 *   already started it under a live conmon, else left created (the next start cleans up).
 *
 * Crash-safe ordering this relies on (start.ts): the record says "running" only after
 * `runc start` returned, and exits are recorded from conmon's file, never from our memory.
 */

export const REBOOT_REASON = "the host rebooted (or the run-root was lost) while the container was running";

/** Creates the directories, detects a lost run-root, adopts or settles every container. */
export async function openRuntimeState(ctx: RuntimeContext): Promise<void> {
  await fs.mkdir(ctx.root, { recursive: true, mode: 0o700 });
  await ctx.records.init();
  await fs.mkdir(ctx.exitsDir, { recursive: true, mode: 0o700 });
  await fs.mkdir(path.join(ctx.runRoot, "runc"), { recursive: true, mode: 0o700 });
  await fs.mkdir(path.join(ctx.runRoot, "containers"), { recursive: true, mode: 0o700 });
  await fs.mkdir(path.join(ctx.runRoot, "sockets"), { recursive: true, mode: 0o700 });
  ctx.cgroups = await Cgroups.detect();
  ctx.bootId = await bootId();
  const lastCap = Number((await fs.readFile("/proc/sys/kernel/cap_last_cap", "utf8").catch(() => "40")).trim());
  ctx.knownCaps = capabilitiesUpTo(Number.isInteger(lastCap) ? lastCap : 40);

  // The run-root marker: absent or from another boot = everything in the run-root is gone or stale.
  const marker = path.join(ctx.runRoot, "boot-id");
  const recorded = (await fs.readFile(marker, "utf8").catch(() => "")).trim();
  const runRootLost = recorded !== ctx.bootId;
  if (runRootLost) await writeFileAtomic(marker, `${ctx.bootId}\n`);

  for (const rec of await ctx.records.list()) {
    await ctx.lock.run(rec.id, () => settleLocked(ctx, rec.id, runRootLost));
  }
}

/**
 * Brings one record in line with the facts (see the file comment). Caller holds the lock.
 * Also used by the watcher when a conmon dies while this instance runs.
 */
export async function settleLocked(ctx: RuntimeContext, id: string, runRootLost: boolean): Promise<void> {
  const rec = await ctx.records.load(id);
  if (rec?.status === "created" && !runRootLost) return settleInterruptedStart(ctx, rec);
  if (!rec || rec.status !== "running") return;
  if (runRootLost || rec.bootId !== ctx.bootId) {
    // runc state (if the run-root survived on disk) points at dead processes: drop it.
    await ctx.runc.delete(id).catch(() => {});
    await ctx.cgroups.remove(rec.cgroupsPath);
    await ctx.opts.snapshots?.unmount(id).catch(() => {});
    rec.status = "exited";
    rec.exitCode = 255;
    rec.finishedAt = ctx.nowIso();
    rec.reason = REBOOT_REASON;
    await ctx.records.save(rec);
    return;
  }
  if (await pathExists(ctx.exitFile(id))) {
    await finalizeLocked(ctx, id);
    return;
  }
  if (await isSameProcess(rec.conmonPid, rec.conmonStartTime)) return; // adopted: still monitored
  // conmon is gone without an exit file.
  if (await isSameProcess(rec.pid, rec.pidStartTime)) {
    rec.reason = "conmon exited; the container runs unmonitored (no exit code will be recorded)";
    await ctx.records.save(rec);
    return;
  }
  await ctx.runc.delete(id).catch(() => {});
  await ctx.cgroups.remove(rec.cgroupsPath);
  rec.status = "exited";
  rec.exitCode = 255;
  rec.finishedAt = ctx.nowIso();
  rec.reason = "conmon exited without writing an exit file";
  await ctx.records.save(rec);
}

/**
 * A start cut short by a crash after `runc start` and before the record said "running":
 * runc runs the container under a live conmon. Adopt it as running (same pid) rather than
 * letting the next start replace it. A start cut short before `runc start` is left as
 * created: the next start cleans up its remains.
 */
async function settleInterruptedStart(ctx: RuntimeContext, rec: ContainerRecord): Promise<void> {
  const state = await ctx.runc.state(rec.id).catch(() => undefined);
  if (state?.status !== "running") return;
  const bundle = ctx.bundleDir(rec.id);
  const conmonPid = Number((await fs.readFile(path.join(bundle, "conmon.pid"), "utf8").catch(() => "")).trim());
  if (!(conmonPid > 0) || !(await processStartTime(conmonPid))) return;
  const [pidStartTime, conmonStartTime] = await Promise.all([processStartTime(state.pid), processStartTime(conmonPid)]);
  rec.status = "running";
  rec.pid = state.pid;
  rec.conmonPid = conmonPid;
  if (pidStartTime) rec.pidStartTime = pidStartTime;
  if (conmonStartTime) rec.conmonStartTime = conmonStartTime;
  rec.bootId = ctx.bootId;
  rec.startedAt = ctx.nowIso();
  rec.oomKilled = false;
  delete rec.exitCode;
  delete rec.finishedAt;
  await ctx.records.save(rec);
  if (await pathExists(ctx.exitFile(rec.id))) await finalizeLocked(ctx, rec.id);
}
