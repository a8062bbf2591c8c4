import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeJsonAtomic } from "../../lib/atomic-file.js";
import { failedPrecondition, internal } from "../../lib/errors.js";
import { BEFORE_RUN_TIMEOUT_MS, type StartOptions } from "../types.js";
import { resolveMounts } from "../volumes/mounts.js";
import { conmonArgs, startConmon } from "./conmon.js";
import { checkInitBinary } from "./init-binary.js";
import { loggedPhaseTimer } from "./options.js";
import type { RuntimeContext } from "./context.js";
import { readEtcFiles, writeEtcFiles } from "./etc-files.js";
import { bindHeldNetns, bindNetnsOf, ensureNetns, holdNetnsOf, hasOwnNetns, netnsBound, netnsMadeAtCreate, netnsNameOf, netnsPathOf, sharedContainerId } from "./netns.js";
import { containerRlimits, readHostLimits } from "./host-limits.js";
import { keepRotated } from "./k8s-log.js";
import { clearLeftovers } from "./leftovers.js";
import { processStartTime } from "./proc.js";
import { identityOf } from "./record-shape.js";
import type { ContainerRecord } from "./records.js";
import { mkdirAllInRootfs } from "./rootfs-path.js";
import { saveRunCopy } from "./run-copy.js";
import { settleAll } from "./settle-all.js";
import { buildOciSpec, containerHostname, containerWorkingDir } from "./spec-builder.js";
import { resolveUserInRootfs } from "./user.js";

/**
 * start of a created or exited container (caller holds its lock): clear a previous run's
 * leftovers, mount the rootfs, build config.json, let conmon run `runc create`, run
 * `runc start`, and only then record "running" (pid, start times, boot id) and publish
 * `started`. The run's config carries the record's fixed part (RECORD_ANNOTATION), and a
 * copy of it and of runc's state goes to the root (run-copy.ts), for record-repair.ts and
 * for adopting the container should the run-root be emptied under it (adoption.ts).
 *
 * Crash-safe ordering: the record says "running" only once `runc start` returned. A crash
 * before that leaves the record "created"; the next open adopts the container if runc did
 * start it (adoption.ts), else the next start kills the waiting conmon and cleans up. On a
 * failure here, runc's state and the cgroup are deleted before the error propagates.
 *
 * `options.beforeRun` runs between `runc create` and `runc start`, with the id in
 * `ctx.beforeRun` so that an attach may connect to conmon's socket (attach.ts): it then
 * sees the process's output from its first byte. Bounded, and its failure is only logged.
 *
 * One copy per cgroup: before a run starts, every process an earlier run left in the
 * container's cgroup is killed, and its conmon before them (leftovers.ts) — whether or not
 * runc's state still names them — so that no old conmon's exit file can end the new run.
 */
export async function startLocked(ctx: RuntimeContext, rec: ContainerRecord, options: StartOptions = {}): Promise<void> {
  const { id, spec } = rec;
  const t = loggedPhaseTimer(ctx, "start", spec.name);
  const snapshots = ctx.opts.snapshots;
  if (!snapshots) throw failedPrecondition(`start container ${spec.name}: the runtime has no snapshot store`);
  const bundle = ctx.bundleDir(id);
  // A conmon of a start cut short (berth killed before `runc start`) still waits on this
  // container; once runc deletes it, that conmon would write an exit file that the new run
  // would take for its own. Kill it first (the bundle's, the record's, or found in /proc
  // when the cgroup still has processes), and the processes, then clear the leftovers.
  await clearLeftovers(ctx, id, rec.cgroupsPath, [rec.conmonPid]);
  // A previous run's leftovers: runc state (then its cgroup), exit file, bundle.
  await settleAll([
    ctx.runc.delete(id).then(() => ctx.cgroups.remove(rec.cgroupsPath)),
    fs.rm(ctx.exitFile(id), { force: true }),
    fs.rm(bundle, { recursive: true, force: true }),
  ]);
  await fs.mkdir(path.join(bundle, "persist"), { recursive: true, mode: 0o700 });
  t.mark("leftovers");

  // Independent inputs of the spec, gathered concurrently (start latency is mostly waiting).
  // The init binary may have gone since the create (a package removed): said before anything runs.
  if (spec.init) await checkInitBinary(ctx.opts.initPath, spec.name, "start");
  const network = await networkOf(ctx, rec);
  t.mark("netns");
  const hostname = network.hostname ?? containerHostname(id, spec, os.hostname());
  const [{ rootfs, user }, mounts, etcFiles, hostLimits, swapAccounting] = await settleAll([
    snapshots.mount(id).then(async ({ rootfs }) => {
      const user = await resolveUserInRootfs(rootfs, spec.user ?? rec.imageConfig.User);
      await mkdirAllInRootfs(rootfs, containerWorkingDir(rec.imageConfig, spec));
      return { rootfs, user };
    }),
    resolveMounts(spec.mounts, {
      container: spec.name,
      ...(ctx.opts.volumes ? { volumes: ctx.opts.volumes } : {}),
      protectedPaths: [ctx.root, ctx.runRoot, ...(ctx.opts.protectedPaths ?? [])],
    }),
    writeEtcFiles(path.join(bundle, "etc"), spec, hostname, network.shared),
    readHostLimits(),
    ctx.cgroups.swapAccounting(),
  ]);
  t.mark("mount+inputs");
  const oci = buildOciSpec({
    id,
    spec,
    image: rec.imageConfig,
    rootfs,
    user,
    mounts,
    etcFiles,
    rlimits: containerRlimits(hostLimits),
    cgroupsPath: rec.cgroupsPath,
    hostHostname: os.hostname(),
    knownCapabilities: ctx.knownCaps,
    swapAccounting,
    identity: identityOf(rec),
    hostname,
    ...(network.netns ? { netns: network.netns } : {}),
    ...(spec.init ? { initBinary: ctx.opts.initPath } : {}),
  });
  await writeJsonAtomic(path.join(bundle, "config.json"), oci, { mode: 0o600 });
  t.mark("spec");

  const conmonPidFile = path.join(bundle, "conmon.pid");
  const started = await startConmon({
    conmonPath: ctx.opts.conmonPath,
    args: conmonArgs({
      id,
      name: spec.name,
      runcPath: ctx.opts.runcPath,
      runcRoot: ctx.runc.root,
      bundle,
      containerPidFile: path.join(bundle, "pidfile"),
      conmonPidFile,
      exitDir: ctx.exitsDir,
      persistDir: path.join(bundle, "persist"),
      logPath: ctx.logPath(id),
      logSizeMax: ctx.opts.logSizeMax,
      socketDir: path.join(ctx.runRoot, "sockets"),
      ...(spec.tty ? { terminal: true } : {}),
      // stdinOnce closes a pipe, not a terminal (moby's attach: CloseStdin && !TTY).
      ...(spec.stdin ? { stdin: true, leaveStdinOpen: !(spec.stdinOnce === true && spec.tty !== true) } : {}),
    }),
    cwd: bundle,
    stderrFile: path.join(bundle, "conmon.err"),
    conmonPidFile,
    timeoutMs: ctx.opts.conmonTimeoutMs,
  }).catch(async (err) => {
    await ctx.runc.delete(id).catch(() => {});
    await ctx.cgroups.remove(rec.cgroupsPath);
    throw err;
  });
  // The start times identify the processes (pid reuse); `runc start` execs in the same
  // pid, so they can be read while it runs.
  t.mark("conmon+create");
  const startTimes = Promise.all([processStartTime(started.pid), processStartTime(started.conmonPid)]);
  // A none container's first run made its namespace: held now (its init waits for `runc
  // start`, so it is there), bound to its path while runc starts it.
  const held = network.bindAfterCreate ? await holdNetnsOf(started.pid).catch(() => undefined) : undefined;
  const bound = network.bindAfterCreate ? (held ? bindHeldNetns(network.bindAfterCreate, held) : Promise.reject(internal(`start container ${spec.name}: its network namespace is gone`))) : undefined;
  try {
    if (options.beforeRun) await beforeRun(ctx, rec, options.beforeRun);
    await settleAll([ctx.runc.start(id), ...(bound ? [bound] : [])]);
    t.mark("runc start");
  } catch (err) {
    await startTimes.catch(() => {});
    await bound?.catch(() => {});
    await ctx.runc.delete(id).catch(() => {});
    await ctx.cgroups.remove(rec.cgroupsPath);
    throw err;
  } finally {
    await held?.close();
  }
  const [pidStartTime, conmonStartTime] = await startTimes;
  const rotated = keepRotated(ctx.logPath(id)).catch(() => {});
  rec.status = "running";
  rec.pid = started.pid;
  rec.conmonPid = started.conmonPid;
  if (pidStartTime) rec.pidStartTime = pidStartTime;
  else delete rec.pidStartTime;
  if (conmonStartTime) rec.conmonStartTime = conmonStartTime;
  else delete rec.conmonStartTime;
  rec.bootId = ctx.bootId;
  rec.startedAt = ctx.nowIso();
  rec.oomKilled = false;
  delete rec.exitCode;
  delete rec.finishedAt;
  delete rec.reason;
  // The copy is an aid: a start does not fail for it (adoption then stops rather than adopts).
  const copied = saveRunCopy(ctx, id).catch(() => {});
  await settleAll([ctx.records.save(rec), rotated, copied]);
  t.mark("records");
  t.done();
  ctx.hub.publish({ type: "started", id, name: spec.name, pid: started.pid, at: rec.startedAt });
}

/** The start's hook, bounded; the process runs whatever it does. */
async function beforeRun(ctx: RuntimeContext, rec: ContainerRecord, hook: () => Promise<void>): Promise<void> {
  ctx.beforeRun.add(rec.id);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), BEFORE_RUN_TIMEOUT_MS)));
    const r = await Promise.race([hook().then(() => "done" as const), timedOut]);
    if (r === "timeout") ctx.log.warn({ container: rec.spec.name }, `start: the before-run hook took over ${BEFORE_RUN_TIMEOUT_MS} ms; running the process without waiting for it`);
  } catch (err) {
    ctx.log.warn({ container: rec.spec.name, err }, "start: the before-run hook failed; running the process anyway");
  } finally {
    clearTimeout(timer);
    ctx.beforeRun.delete(rec.id);
  }
}

/**
 * The network namespace a run joins: its own (made again if a reboot emptied /run), the one
 * of the container it shares — with that one's hostname, hosts and resolv.conf — or the
 * host's. Sharing a container that was never started, or was removed: FailedPrecondition.
 */
async function networkOf(ctx: RuntimeContext, rec: ContainerRecord): Promise<{ netns?: string; bindAfterCreate?: string; hostname?: string; shared?: { hosts: string; resolvConf: string } }> {
  if (rec.spec.networkMode === "host") return { netns: "host" };
  if (hasOwnNetns(rec.spec)) {
    const name = netnsNameOf(rec.id);
    if (netnsBound(netnsPathOf(name))) return { netns: netnsPathOf(name) };
    // bridge: made before the run (the driver attaches it at its start, after this); none: by the run
    return netnsMadeAtCreate(rec.spec) ? { netns: await ensureNetns(name) } : { bindAfterCreate: name };
  }
  let target = rec;
  for (let depth = 0; depth < 8; depth++) {
    const next = sharedContainerId(target.spec);
    if (next === undefined) break;
    const found = await ctx.records.load(next);
    if (!found) throw failedPrecondition(`start container ${rec.spec.name}: the container whose network it shares (${next.slice(0, 12)}) was removed`);
    target = found;
  }
  const name = rec.spec.name;
  if (target.spec.networkMode === "host") return { netns: "host" };
  if (!hasOwnNetns(target.spec)) throw failedPrecondition(`start container ${name}: too many containers in a chain of shared networks`);
  const netns = netnsPathOf(netnsNameOf(target.id));
  const files = await readEtcFiles(path.join(ctx.bundleDir(target.id), "etc"));
  if (target.status !== "running" || !target.pid || !files) {
    throw failedPrecondition(`start container ${name}: container ${target.spec.name}, whose network it shares, is not running`);
  }
  // Running but unbound: a crash came between its first run and the binding (netns.ts).
  if (!netnsBound(netns)) await bindNetnsOf(netnsNameOf(target.id), target.pid);
  return { netns, hostname: (await fs.readFile(path.join(ctx.bundleDir(target.id), "etc", "hostname"), "utf8")).trim(), shared: files };
}
