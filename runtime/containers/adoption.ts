import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import { capabilitiesUpTo } from "../../lib/capabilities.js";
import { Cgroups } from "./cgroups.js";
import { pathExists, type RuntimeContext } from "./context.js";
import { finalizeLocked } from "./exits.js";
import { clearLeftovers } from "./leftovers.js";
import { bootId, isSameProcess, processStartTime } from "./proc.js";
import { bindNetnsOf, ensureNetns, hasOwnNetns, netnsBound, netnsMadeAtCreate, netnsNameOf, netnsPathOf } from "./netns.js";
import { repairRecordLocked } from "./record-repair.js";
import type { ContainerRecord } from "./records.js";
import { restoreRunState } from "./run-copy.js";

/**
 * Adoption: how a runtime instance takes over the containers an earlier one started.
 *
 * conmon runs in its own session and outlives the process that started it, so containers
 * keep running while no berth runs. `openRuntimeState` then brings every record in line
 * with the facts, under the container's lock, before any operation is served:
 * - a corrupt record (record-shape.ts): quarantined, the container rebuilt from the host or
 *   removed from it (record-repair.ts), then settled like the others;
 * - still running under a live conmon (same pid and start time): adopted as is (same pid);
 * - exit file present: the exit that happened meanwhile is recorded (code, oomKilled,
 *   finishedAt = when conmon wrote it; no reason). The `exited` event it publishes has no
 *   subscriber yet: consumers learn it from list()/inspect();
 * - the host rebooted (see "Reboot or wiped run-root" below): every container recorded
 *   running is reported exited, exit code 255, with REBOOT_REASON; its runc state and
 *   cgroup are dropped, the rootfs stays prepared so the container can be started again;
 * - same boot, but runc's state of a running container is gone (the run-root was emptied
 *   under it): a survivor, see below;
 * - conmon gone without an exit file: exited 255 with a reason, or, if the container's init
 *   still runs, kept running with a reason (it runs unmonitored; no exit code will come);
 * - a start cut short by a crash (record still "created"): adopted as running when runc
 *   already started it under a live conmon, else left created (the next start clears its
 *   leftovers: start.ts).
 *
 * Reboot or wiped run-root. The run-root is a tmpfs that empties on reboot, but also under
 * running containers (systemd's `RuntimeDirectory=` cleanup when the service stops, a
 * manual `rm -rf`), so its emptiness says nothing. The kernel's boot id does: the root
 * keeps the boot it was last opened in (`<root>/containers/boot-id`, written atomically
 * once every record is settled), and every running record the boot it started in. The
 * host rebooted for a record when either differs from the current boot id (a root without
 * `boot-id`, from before this file, goes by the record's alone).
 *
 * Survivors (same boot, runc's state gone). Decision: adopt them *with* runc state, by
 * giving runc back its own state file. Every start copies runc's `state.json` and the
 * bundle's config.json into the persistent root (run-copy.ts); a survivor whose init and
 * conmon are both alive (pid and start time as recorded) and whose copy names that init
 * gets both back, and is adopted as is: same pid, same conmon (its exit file still lands
 * in the recreated exits dir), and stop, kill, exec and remove go through runc as for any
 * container. A survivor that cannot be adopted so (its conmon is gone: nothing would
 * record its exit; or its copy is missing or names another process) is stopped cleanly —
 * conmon first, so no exit file of the old run is left to end a new one, then every
 * process in its cgroup, the cgroup removed, the rootfs unmounted — and reported exited
 * (137, with a reason), so that the controller starts it again, once, into an empty
 * cgroup. A survivor whose init is already dead is reported exited (255: its exit file was
 * lost). In no case do two copies share a cgroup: start.ts also clears any leftover
 * process of the container's cgroup before it starts a run. The watcher's poll applies the
 * same rules when the run-root is emptied while this instance runs.
 *
 * Crash-safe ordering this relies on (start.ts): the record says "running" only after
 * `runc start` returned, and exits are recorded from conmon's file, never from our memory.
 */

export const REBOOT_REASON = "the host rebooted while the container was running";

/** What the run-root needs; recreated by the watcher's poll when it is emptied while open. */
export async function ensureRunRootDirs(ctx: RuntimeContext): Promise<void> {
  await fs.mkdir(ctx.exitsDir, { recursive: true, mode: 0o700 });
  await fs.mkdir(path.join(ctx.runRoot, "runc"), { recursive: true, mode: 0o700 });
  await fs.mkdir(path.join(ctx.runRoot, "containers"), { recursive: true, mode: 0o700 });
  await fs.mkdir(path.join(ctx.runRoot, "sockets"), { recursive: true, mode: 0o700 });
}

/** The file in the root that names the boot the root was last opened in. */
export function bootRecordFile(ctx: RuntimeContext): string {
  return path.join(ctx.records.dir, "boot-id");
}

/** Creates the directories, tells a reboot from a wiped run-root, repairs, adopts or settles every container. */
export async function openRuntimeState(ctx: RuntimeContext): Promise<void> {
  await fs.mkdir(ctx.root, { recursive: true, mode: 0o700 });
  await ctx.records.init();
  await ensureRunRootDirs(ctx);
  ctx.cgroups = await Cgroups.detect();
  ctx.bootId = await bootId();
  const lastCap = Number((await fs.readFile("/proc/sys/kernel/cap_last_cap", "utf8").catch(() => "40")).trim());
  ctx.knownCaps = capabilitiesUpTo(Number.isInteger(lastCap) ? lastCap : 40);

  const recorded = (await fs.readFile(bootRecordFile(ctx), "utf8").catch(() => "")).trim();
  const hostRebooted = recorded !== "" && recorded !== ctx.bootId;

  const { records, corrupt } = await ctx.records.scan();
  for (const id of corrupt) {
    // A record that cannot be repaired now stays corrupt where it is: lookups and the poll retry.
    await ctx.lock.run(id, () => repairRecordLocked(ctx, id, hostRebooted)).catch((err: unknown) => {
      ctx.log.warn({ container: id, err }, "repair of a corrupt container record failed; retried later");
    });
  }
  for (const rec of records) {
    await ctx.lock.run(rec.id, () => settleLocked(ctx, rec.id, hostRebooted));
    if (hasOwnNetns(rec.spec)) {
      await restoreNetns(ctx, rec.id).catch((err: unknown) => ctx.log.warn({ container: rec.id, err }, "making the container's network namespace failed; retried at its start"));
    }
  }
  if (recorded !== ctx.bootId) await writeFileAtomic(bootRecordFile(ctx), `${ctx.bootId}\n`, { mode: 0o600 });
}

/**
 * The namespace of a container whose path lost it: a crash cut its making short (at create,
 * or between a none container's first `runc create` and its binding), or a reboot emptied the
 * tmpfs /run. A running container's is bound from its process — a new one would not be the
 * one it runs in; a bridge container's is made again now, so the network driver can attach
 * it before the container starts; a none container's waits for its next run.
 */
async function restoreNetns(ctx: RuntimeContext, id: string): Promise<void> {
  const name = netnsNameOf(id);
  if (netnsBound(netnsPathOf(name))) return;
  const rec = await ctx.records.load(id);
  if (!rec) return;
  if (rec.status === "running" && rec.pid) await bindNetnsOf(name, rec.pid);
  else if (netnsMadeAtCreate(rec.spec)) await ensureNetns(name);
}

/**
 * Brings one record in line with the facts (see the file comment). `hostRebooted`: the
 * root was last opened in another boot (only `openRuntimeState` knows). Caller holds the
 * lock. Also used by the watcher when a conmon dies or runc's state vanishes while this
 * instance runs. Unavailable when the record is corrupt (repair it first).
 */
export async function settleLocked(ctx: RuntimeContext, id: string, hostRebooted = false): Promise<void> {
  const rec = await ctx.records.load(id);
  if (rec?.status === "created" && !hostRebooted) return settleInterruptedStart(ctx, rec);
  if (!rec || rec.status !== "running") return;
  if (hostRebooted || rec.bootId !== ctx.bootId) {
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
  if (!(await ctx.runc.exists(id))) return settleSurvivorLocked(ctx, rec);
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
 * A container recorded running in this boot whose runc state is gone with the run-root:
 * adopted with its state given back, else stopped cleanly (see "Survivors" above).
 */
async function settleSurvivorLocked(ctx: RuntimeContext, rec: ContainerRecord): Promise<void> {
  const { id } = rec;
  const initAlive = await isSameProcess(rec.pid, rec.pidStartTime);
  const conmonAlive = await isSameProcess(rec.conmonPid, rec.conmonStartTime);
  if (initAlive && conmonAlive && (await restoreRunState(ctx, rec))) {
    ctx.log.info({ container: id, name: rec.name, pid: rec.pid }, "the run-root was emptied under a running container: runc's state restored, adopted");
    return;
  }
  await clearLeftovers(ctx, id, rec.cgroupsPath, [rec.conmonPid]);
  // The init may have ended meanwhile, and its conmon written the exit: the real one.
  if (await pathExists(ctx.exitFile(id))) {
    await finalizeLocked(ctx, id);
    return;
  }
  await ctx.opts.snapshots?.unmount(id).catch(() => {});
  await fs.rm(ctx.bundleDir(id), { recursive: true, force: true });
  const why = !conmonAlive ? "its conmon is gone" : "runc's state could not be restored";
  rec.status = "exited";
  rec.exitCode = initAlive ? 137 : 255;
  rec.finishedAt = ctx.nowIso();
  rec.reason = initAlive
    ? `the run-root was emptied while the container ran and it could not be adopted (${why}): stopped`
    : "the run-root was emptied while the container ran; it has ended since, and its exit code was lost";
  await ctx.records.save(rec);
  ctx.log.warn({ container: id, name: rec.name, reason: rec.reason }, "the run-root was emptied under a running container");
  ctx.hub.publish({ type: "exited", id, name: rec.name, exitCode: rec.exitCode, oomKilled: false, at: rec.finishedAt });
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
