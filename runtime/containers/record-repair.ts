import { netnsNameOf, removeNetns } from "./netns.js";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { settleLocked } from "./adoption.js";
import { pathExists, type RuntimeContext } from "./context.js";
import { bundleConmonPid, clearLeftovers } from "./leftovers.js";
import { conmonPidsOf, isConmonOf, isSameProcess, processStartTime } from "./proc.js";
import { noteQuarantineOutcome } from "./quarantine.js";
import type { RecordIdentity } from "./record-shape.js";
import type { ContainerRecord } from "./records.js";
import { copiedInit, readIdentity } from "./run-copy.js";

/**
 * A corrupt record (records.ts `read` says "corrupt": not JSON, or of another shape) is
 * quarantined and the container it stood for is rebuilt from what the host still has, or
 * removed from the host — never left running unmanaged, and never wedging its name.
 *
 * 1. Quarantine: the bad bytes go to `<root>/quarantine/containers/<id>-<time>/` first
 *    (quarantine.ts: a hard link to the file, fsynced) — the record file itself is then
 *    replaced by one rename (rebuilt) or removed last (removed). So at every instant the
 *    container has a record (bad or rebuilt) until it is off the host, and a crash midway
 *    leaves the bad record in place, repaired again at the next open: a plain move into
 *    the quarantine would leave a window with a running container and no record at all.
 *    Logged as a warning with the problem and the outcome.
 * 2. Rebuild, when the fixed part of the record can be had — from the RECORD_ANNOTATION of
 *    the last run's OCI config (the bundle, else the run copy in the root: run-copy.ts) —
 *    and the name is not held by another container. The state comes from the host:
 *    runc's state (running: pid; created: a start cut short), conmon's pid file and exit
 *    file, the copied runc state's init (a survivor of an emptied run-root). A container
 *    found running is recorded running and then settled by adoption.ts's rules (exit file,
 *    conmon liveness, lost runc state); one that is not is recorded exited (its exit code
 *    from the exit file, else 255) with a reason, ready to be started again.
 * 3. Otherwise remove it from the host, as `remove` would but without the record: runc
 *    state (killing the container), conmon, every process of the cgroup `/<parent>/<id>`,
 *    the writable layer, volume references, names, bundle, exit file; then the container's
 *    directory (logs) moves into the quarantine entry. `removed` is published under the
 *    name that was reserved for it, if any, so the controller looks at once.
 * A container never started has no OCI config anywhere, so it is removed (it had no
 * process); the controller creates it again from its manifest.
 */

/**
 * Repairs the record of `id` if it is corrupt (see the file comment) and returns the record
 * now in place, undefined when there is none (removed, or there was none). Caller holds the
 * container's lock. `hostRebooted` as for `settleLocked`. Throws for I/O errors (the
 * record then stays corrupt in place, to be repaired again).
 */
export async function repairRecordLocked(ctx: RuntimeContext, id: string, hostRebooted = false): Promise<ContainerRecord | undefined> {
  const read = await ctx.records.read(id);
  if (read.state !== "corrupt") return read.state === "ok" ? read.record : undefined;
  const qdir = await ctx.records.quarantine(id, read.problem, ctx.nowIso());
  const identity = await readIdentity(ctx, id);
  const nameHeld = identity ? await nameHeldElsewhere(ctx, identity.name, id) : false;
  let outcome: string;
  if (identity && !nameHeld) {
    const rec = await rebuild(ctx, identity, `the container's record was corrupt (${read.problem}); rebuilt from its last run`);
    outcome = `rebuilt from the last run's OCI config as ${rec.status}`;
    await settleLocked(ctx, id, hostRebooted);
  } else {
    const names = await removeFromHost(ctx, id, qdir);
    const why = identity ? `its name ${identity.name} is held by another container` : "no OCI config of a run names its spec";
    outcome = `removed from the host (${why})`;
    if (names[0]) ctx.hub.publish({ type: "removed", id, name: names[0], at: ctx.nowIso() });
  }
  await noteQuarantineOutcome(qdir, outcome).catch(() => {});
  ctx.log.warn({ container: id, name: identity?.name, quarantine: qdir, problem: read.problem, outcome }, "corrupt container record quarantined");
  const now = await ctx.records.read(id);
  return now.state === "ok" ? now.record : undefined;
}

/** True when `name` is reserved for a container other than `id` that has a record. */
async function nameHeldElsewhere(ctx: RuntimeContext, name: string, id: string): Promise<boolean> {
  const holder = await ctx.records.idOfName(name);
  if (!holder || holder === id) return false;
  return (await ctx.records.read(holder)).state !== "missing";
}

/** Saves a record for `identity` with the state the host shows, and takes its name and volumes. */
async function rebuild(ctx: RuntimeContext, identity: RecordIdentity, reason: string): Promise<ContainerRecord> {
  const { id } = identity;
  const rec: ContainerRecord = { ...identity, status: "exited", oomKilled: false };
  const state = await ctx.runc.state(id).catch(() => undefined);
  const exitFile = await pathExists(ctx.exitFile(id));
  const copied = state ? undefined : await copiedInit(ctx, id);
  if (state?.status === "created") {
    rec.status = "created"; // a start cut short: the next start clears its leftovers
  } else if (state || exitFile || (copied && (await isSameProcess(copied.pid, copied.startTime)))) {
    // It runs, or ran in this boot: recorded running, then settled (adoption.ts).
    const pid = state?.pid || copied?.pid;
    rec.status = "running";
    rec.bootId = ctx.bootId;
    if (pid) {
      rec.pid = pid;
      const st = await processStartTime(pid);
      if (st) rec.pidStartTime = st;
    }
    // runc's creation time: a start is `runc create` then at once `runc start`.
    const created = (state as { created?: unknown } | undefined)?.created;
    if (state?.status === "running" || state?.status === "paused") rec.startedAt = typeof created === "string" ? created : ctx.nowIso();
    const conmon = await findConmon(ctx, id);
    if (conmon) {
      rec.conmonPid = conmon;
      const st = await processStartTime(conmon);
      if (st) rec.conmonStartTime = st;
    }
  } else {
    await clearLeftovers(ctx, id, identity.cgroupsPath);
    await ctx.opts.snapshots?.unmount(id).catch(() => {});
    rec.exitCode = 255;
    rec.finishedAt = ctx.nowIso();
    rec.reason = `${reason}; it was not running`;
  }
  const holder = await ctx.records.idOfName(identity.name);
  if (holder !== id) {
    // Unreserved, or reserved by a create that crashed before its record (nameHeldElsewhere said no record holds it).
    if (holder) await ctx.records.releaseName(identity.name, holder);
    await ctx.records.reserveName(identity.name, id);
  }
  for (const v of identity.volumes) await ctx.opts.volumes?.acquire(v, id);
  await ctx.records.save(rec);
  return rec;
}

/** The live conmon of container `id`: the bundle's pid file, else a scan of /proc. */
async function findConmon(ctx: RuntimeContext, id: string): Promise<number | undefined> {
  const fromBundle = await bundleConmonPid(ctx, id);
  if (fromBundle && (await isConmonOf(fromBundle, id))) return fromBundle;
  return (await conmonPidsOf(id))[0];
}

/** Removes container `id` from the host without its record (see the file comment); returns the names it held. */
async function removeFromHost(ctx: RuntimeContext, id: string, qdir: string): Promise<string[]> {
  const cgroupsPath = `/${ctx.opts.cgroupParent}/${id}`;
  await ctx.runc.delete(id).catch(() => {});
  await clearLeftovers(ctx, id, cgroupsPath);
  await ctx.opts.snapshots?.removeContainerLayer(id);
  await removeNetns(netnsNameOf(id)).catch(() => {});
  const volumes = ctx.opts.volumes;
  if (volumes) {
    for (const v of await volumes.list()) {
      if ((await volumes.users(v.name)).includes(id)) await volumes.release(v.name, id);
    }
  }
  const names = await ctx.records.namesOf(id);
  for (const n of names) await ctx.records.releaseName(n, id);
  await fs.rm(ctx.bundleDir(id), { recursive: true, force: true });
  await fs.rm(ctx.exitFile(id), { force: true });
  // The record last: the directory (logs, run copy, the bad record) joins the quarantine entry.
  const dir = ctx.records.containerDir(id);
  await fs.rename(dir, path.join(qdir, "files")).catch(() => ctx.records.remove(id));
  return names;
}
