import { randomBytes } from "node:crypto";
import { watch, promises as fs, type FSWatcher } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../../lib/atomic-file.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import { alreadyExists, conflict, failedPrecondition, invalidArgument, isBerthError, notFound, unavailable } from "../../lib/errors.js";
import { ID_RE, isValidName } from "../../lib/names.js";
import type {
  ContainerCreateSpec,
  ContainerRuntime,
  ContainerState,
  ExecOptions,
  ExecResult,
  ImageRecord,
  ImageStore,
  LogLine,
  LogOptions,
  RuntimeEvent,
  SnapshotStore,
  StopOptions,
} from "../types.js";
import { resolveMounts, validateMounts } from "../volumes/mounts.js";
import type { LocalVolumeStore } from "../volumes/types.js";
import { capabilitiesUpTo } from "../../lib/capabilities.js";
import { Cgroups } from "./cgroups.js";
import { conmonArgs, startConmon } from "./conmon.js";
import { writeEtcFiles } from "./etc-files.js";
import { EventHub } from "./events.js";
import { containerRlimits, readHostLimits } from "./host-limits.js";
import { keepRotated, readLogs } from "./k8s-log.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { OciProcess, OciSpec } from "./oci-types.js";
import { bootId, isSameProcess, processStartTime } from "./proc.js";
import { RecordStore, stateOf, type ContainerRecord } from "./records.js";
import { mkdirAllInRootfs } from "./rootfs-path.js";
import { normalizeSignal } from "../../lib/signals.js";
import { Runc } from "./runc.js";
import { settleAll } from "./settle-all.js";
import { buildOciSpec, containerHostname, containerWorkingDir } from "./spec-builder.js";
import { resolveUserInRootfs } from "./user.js";

/**
 * berth's container runtime over conmon + runc (see conmon.ts for the protocol).
 *
 * State: records under `<root>/containers/<id>/` (persistent, with the k8s-file log);
 * per-run state under `<runRoot>` (tmpfs): `exits/<id>` written by conmon, `runc/` (runc's
 * --root), `containers/<id>/` (bundle: config.json, pid files, persist dir, /etc files).
 *
 * Lifecycle: create (image → snapshots → rootfs, record "created") → start (spec, conmon
 * runs `runc create`, we run `runc start`, record "running") → exit (conmon writes the exit
 * file; we learn it from the watcher, inspect, stop or the next open; record "exited"; runc
 * state is deleted so the container can be started again) → remove.
 *
 * Survival: conmon runs in its own session and outlives this process. `openContainerRuntime`
 * adopts running containers (same pid), learns exits that happened meanwhile from exit
 * files, and reports containers whose run-root vanished (reboot) as exited with a reason.
 *
 * Concurrency: operations on one container are serialized in-process. One runtime instance
 * per root at a time (a second process on the same root may race on records).
 * Facts only: nothing here restarts a container.
 */

export interface ContainerRuntimeOptions {
  /** Persistent state dir (records, logs, volumes). */
  root: string;
  /** Per-boot state dir, on tmpfs in production (exit files, runc state, bundles). */
  runRoot: string;
  images?: ImageStore;
  snapshots?: SnapshotStore;
  volumes?: LocalVolumeStore;
  runcPath?: string;
  conmonPath?: string;
  /** Parent cgroup of every container: `/<cgroupParent>/<id>`. */
  cgroupParent?: string;
  /** conmon's --log-size-max per container log, bytes (one previous generation is kept). */
  logSizeMax?: number;
  /** Slow poll for exits, conmon liveness and log rotation, ms. */
  pollIntervalMs?: number;
  /** Further paths bind mounts must never expose (e.g. the API socket). */
  protectedPaths?: string[];
  clock?: Clock;
}

export function defaultContainerRuntimeOptions() {
  return {
    runcPath: "/usr/sbin/runc",
    conmonPath: "/usr/bin/conmon",
    cgroupParent: "berth",
    logSizeMax: 10 * 1024 * 1024,
    pollIntervalMs: 2000,
    conmonTimeoutMs: 60_000,
    /** Extra wait for the exit file after SIGKILL. */
    killWaitMs: 30_000,
    defaultStopGraceMs: 10_000,
    execMaxOutputBytes: 1024 * 1024,
  };
}

const REBOOT_REASON = "the host rebooted (or the run-root was lost) while the container was running";

export class ConmonRuncRuntime implements ContainerRuntime {
  private readonly root: string;
  private readonly runRoot: string;
  private readonly records: RecordStore;
  private readonly runc: Runc;
  private readonly lock = new KeyedMutex();
  private readonly hub = new EventHub();
  private readonly clock: Clock;
  private readonly opts: ReturnType<typeof defaultContainerRuntimeOptions> & ContainerRuntimeOptions;
  private cgroups!: Cgroups;
  private bootId = "";
  private watcher: FSWatcher | undefined;
  private cancelPoll: (() => void) | undefined;
  private closed = false;
  private knownCaps: string[] = [];
  /** Ids whose exit is being finalized, to coalesce watcher and poll. */
  private finalizing = new Set<string>();

  constructor(options: ContainerRuntimeOptions) {
    const d = defaultContainerRuntimeOptions();
    this.opts = { ...d, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof this.opts;
    if (!isValidName(this.opts.cgroupParent)) throw invalidArgument(`invalid cgroup parent ${JSON.stringify(this.opts.cgroupParent)}`);
    this.root = path.resolve(options.root);
    this.runRoot = path.resolve(options.runRoot);
    this.records = new RecordStore(this.root);
    this.runc = new Runc(this.opts.runcPath, path.join(this.runRoot, "runc"));
    this.clock = options.clock ?? systemClock;
  }

  // ------------------------------------------------------------------ paths

  private get exitsDir() {
    return path.join(this.runRoot, "exits");
  }
  private bundleDir(id: string) {
    return path.join(this.runRoot, "containers", id);
  }
  private exitFile(id: string) {
    return path.join(this.exitsDir, id);
  }
  private logPath(id: string) {
    return path.join(this.records.containerDir(id), "ctr.log");
  }

  // ------------------------------------------------------------------ open / adopt

  /** Creates the directories, detects a lost run-root, adopts or settles every container, starts watching. */
  async open(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    await this.records.init();
    await fs.mkdir(this.exitsDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(this.runRoot, "runc"), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(this.runRoot, "containers"), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(this.runRoot, "sockets"), { recursive: true, mode: 0o700 });
    this.cgroups = await Cgroups.detect();
    this.bootId = await bootId();
    const lastCap = Number((await fs.readFile("/proc/sys/kernel/cap_last_cap", "utf8").catch(() => "40")).trim());
    this.knownCaps = capabilitiesUpTo(Number.isInteger(lastCap) ? lastCap : 40);

    // The run-root marker: absent or from another boot = everything in the run-root is gone or stale.
    const marker = path.join(this.runRoot, "boot-id");
    const recorded = (await fs.readFile(marker, "utf8").catch(() => "")).trim();
    const runRootLost = recorded !== this.bootId;
    if (runRootLost) await writeFileAtomic(marker, `${this.bootId}\n`);

    for (const rec of await this.records.list()) {
      await this.lock.run(rec.id, () => this.settle(rec.id, runRootLost));
    }
    this.startWatching();
  }

  /**
   * Brings one record in line with the facts after (re)opening: learns an exit from the exit
   * file, marks containers lost with the run-root as exited, keeps live ones (adoption).
   */
  private async settle(id: string, runRootLost: boolean): Promise<void> {
    const rec = await this.records.load(id);
    if (rec?.status === "created" && !runRootLost) return this.settleInterruptedStart(rec);
    if (!rec || rec.status !== "running") return;
    if (runRootLost || rec.bootId !== this.bootId) {
      // runc state (if the run-root survived on disk) points at dead processes: drop it.
      await this.runc.delete(id).catch(() => {});
      await this.cgroups.remove(rec.cgroupsPath);
      await this.opts.snapshots?.unmount(id).catch(() => {});
      rec.status = "exited";
      rec.exitCode = 255;
      rec.finishedAt = new Date(this.clock.now()).toISOString();
      rec.reason = REBOOT_REASON;
      await this.records.save(rec);
      return;
    }
    if (await this.exists(this.exitFile(id))) {
      await this.finalizeLocked(id);
      return;
    }
    if (await isSameProcess(rec.conmonPid, rec.conmonStartTime)) return; // adopted: still monitored
    // conmon is gone without an exit file.
    if (await isSameProcess(rec.pid, rec.pidStartTime)) {
      rec.reason = "conmon exited; the container runs unmonitored (no exit code will be recorded)";
      await this.records.save(rec);
      return;
    }
    await this.runc.delete(id).catch(() => {});
    await this.cgroups.remove(rec.cgroupsPath);
    rec.status = "exited";
    rec.exitCode = 255;
    rec.finishedAt = new Date(this.clock.now()).toISOString();
    rec.reason = "conmon exited without writing an exit file";
    await this.records.save(rec);
  }

  /**
   * A start cut short by a crash after `runc start` and before the record said "running":
   * runc runs the container under a live conmon. Adopt it as running (same pid) rather than
   * letting the next start replace it. A start cut short before `runc start` is left as
   * created: the next start cleans up its remains.
   */
  private async settleInterruptedStart(rec: ContainerRecord): Promise<void> {
    const state = await this.runc.state(rec.id).catch(() => undefined);
    if (state?.status !== "running") return;
    const bundle = this.bundleDir(rec.id);
    const conmonPid = Number((await fs.readFile(path.join(bundle, "conmon.pid"), "utf8").catch(() => "")).trim());
    if (!(conmonPid > 0) || !(await processStartTime(conmonPid))) return;
    const [pidStartTime, conmonStartTime] = await Promise.all([processStartTime(state.pid), processStartTime(conmonPid)]);
    rec.status = "running";
    rec.pid = state.pid;
    rec.conmonPid = conmonPid;
    if (pidStartTime) rec.pidStartTime = pidStartTime;
    if (conmonStartTime) rec.conmonStartTime = conmonStartTime;
    rec.bootId = this.bootId;
    rec.startedAt = new Date(this.clock.now()).toISOString();
    rec.oomKilled = false;
    delete rec.exitCode;
    delete rec.finishedAt;
    await this.records.save(rec);
    if (await this.exists(this.exitFile(rec.id))) await this.finalizeLocked(rec.id);
  }

  /**
   * SIGKILLs the conmon of an earlier run of container `id` still alive (found by the
   * bundle's conmon.pid, checked by its command line to rule out pid reuse) and waits until
   * it is dead (a zombie counts: it writes nothing more).
   */
  private async killStaleConmon(id: string): Promise<void> {
    const pid = Number((await fs.readFile(path.join(this.bundleDir(id), "conmon.pid"), "utf8").catch(() => "")).trim());
    if (!(pid > 0)) return;
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes("conmon") || !cmdline.includes(id)) return;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      return;
    }
    const alive = async () => {
      const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    };
    for (let i = 0; i < 250 && (await alive()); i++) await new Promise((r) => setTimeout(r, 20));
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.exitsDir, (_event, filename) => {
        const id = filename?.toString();
        if (id && ID_RE.test(id)) void this.onExit(id);
      });
      this.watcher.on("error", () => {});
    } catch {
      this.watcher = undefined; // the poll below still sees every exit
    }
    const tick = () => {
      if (this.closed) return;
      void this.poll().finally(() => {
        if (!this.closed) this.cancelPoll = this.clock.setTimer(this.opts.pollIntervalMs, tick);
      });
    };
    this.cancelPoll = this.clock.setTimer(this.opts.pollIntervalMs, tick);
  }

  private async poll(): Promise<void> {
    for (const rec of await this.records.list().catch(() => [] as ContainerRecord[])) {
      if (this.closed) return;
      if (rec.status !== "running") continue;
      await keepRotated(this.logPath(rec.id)).catch(() => {});
      if (await this.exists(this.exitFile(rec.id))) await this.onExit(rec.id);
      else if (!rec.reason && !(await isSameProcess(rec.conmonPid, rec.conmonStartTime))) {
        // Monitor died without writing an exit file: settle it like after a restart.
        await this.lock.run(rec.id, () => this.settle(rec.id, false)).catch(() => {});
      }
    }
  }

  private async onExit(id: string): Promise<void> {
    if (this.closed || this.finalizing.has(id)) return;
    if (!(await this.exists(this.exitFile(id)))) return;
    this.finalizing.add(id);
    try {
      await this.lock.run(id, () => this.finalizeLocked(id));
    } catch {
      // Retried by the next poll.
    } finally {
      this.finalizing.delete(id);
    }
  }

  /**
   * Records the exit of a running container from conmon's files and frees its runc state
   * and cgroup. Caller holds the lock. Idempotent: no-op unless running with an exit file.
   */
  private async finalizeLocked(id: string): Promise<ContainerRecord | undefined> {
    const rec = await this.records.load(id);
    if (!rec || rec.status !== "running") return rec;
    const file = this.exitFile(id);
    let text: string;
    let st;
    try {
      text = await fs.readFile(file, "utf8");
      st = await fs.stat(file);
    } catch {
      return rec;
    }
    const code = Number.parseInt(text.trim(), 10);
    const oomFile = await this.exists(path.join(this.bundleDir(id), "persist", "oom"));
    const oomCount = await this.cgroups.oomKillCount(rec.cgroupsPath);
    await this.runc.delete(id);
    await this.cgroups.remove(rec.cgroupsPath);
    await keepRotated(this.logPath(id)).catch(() => {});
    // The rootfs stays prepared (kept across restarts); start mounts it again.
    await this.opts.snapshots?.unmount(id).catch(() => {});
    rec.status = "exited";
    rec.exitCode = Number.isNaN(code) ? 255 : code;
    rec.oomKilled = oomFile || oomCount > 0;
    rec.finishedAt = st.mtime.toISOString();
    delete rec.reason;
    await this.records.save(rec);
    this.hub.publish({ type: "exited", id, name: rec.name, exitCode: rec.exitCode, oomKilled: rec.oomKilled, at: rec.finishedAt });
    return rec;
  }

  // ------------------------------------------------------------------ lookups

  private async exists(p: string): Promise<boolean> {
    try {
      await fs.access(p);
      return true;
    } catch {
      return false;
    }
  }

  private async resolveId(idOrName: string, verb: string): Promise<string> {
    if (typeof idOrName === "string" && ID_RE.test(idOrName) && (await this.records.load(idOrName))) return idOrName;
    if (isValidName(idOrName)) {
      const id = await this.records.idOfName(idOrName);
      if (id && (await this.records.load(id))) return id;
    }
    if (typeof idOrName === "string" && /^[a-f0-9]{12,63}$/.test(idOrName)) {
      const matches = (await this.records.list()).filter((r) => r.id.startsWith(idOrName));
      if (matches.length === 1) return matches[0]!.id;
    }
    throw notFound(`${verb} container ${idOrName}: not found`, { object: { kind: "container", name: String(idOrName) } });
  }

  /** Record with any exit already written by conmon applied. */
  private async current(id: string): Promise<ContainerRecord> {
    const rec = await this.records.mustLoad(id);
    if (rec.status === "running" && (await this.exists(this.exitFile(id)))) {
      return (await this.lock.run(id, () => this.finalizeLocked(id))) ?? rec;
    }
    return rec;
  }

  // ------------------------------------------------------------------ create

  async create(spec: ContainerCreateSpec): Promise<ContainerState> {
    this.assertOpen();
    if (!isValidName(spec.name)) {
      throw invalidArgument(`create container ${JSON.stringify(spec.name)}: invalid name`, { object: { kind: "container", name: String(spec.name) } });
    }
    for (const [k, v] of Object.entries(spec.labels ?? {})) {
      if (typeof v !== "string") throw invalidArgument(`create container ${spec.name}: label ${k} must be a string`);
    }
    if (spec.stopSignal !== undefined && !normalizeSignal(spec.stopSignal)) {
      throw invalidArgument(`create container ${spec.name}: invalid stop signal ${JSON.stringify(spec.stopSignal)}`);
    }
    validateMounts(spec.mounts, spec.name);
    if (!this.opts.images || !this.opts.snapshots) {
      throw failedPrecondition(`create container ${spec.name}: the runtime has no image or snapshot store`);
    }
    const holder = await this.records.idOfName(spec.name);
    if (holder && !(await this.records.load(holder))) {
      // A create that crashed between reserving the name and saving the record.
      await this.records.releaseName(spec.name, holder);
    } else if (holder) {
      throw alreadyExists(`create container ${spec.name}: the name is in use`, { object: { kind: "container", name: spec.name } });
    }
    const image = await this.opts.images.get(spec.image);
    const id = randomBytes(32).toString("hex");
    const cgroupsPath = `/${this.opts.cgroupParent}/${id}`;
    // Everything pure about the spec is checked now, before anything is allocated.
    buildOciSpec({
      id,
      spec,
      image: image.config,
      rootfs: "/",
      user: { uid: 0, gid: 0, additionalGids: [], home: "/" },
      mounts: [],
      etcFiles: { hosts: "/", resolvConf: "/", hostname: "/" },
      rlimits: [],
      cgroupsPath,
      hostHostname: os.hostname(),
      knownCapabilities: this.knownCaps,
    });

    await this.unpackImage(image);
    const volumes = [...new Set(spec.mounts.flatMap((m) => (m.type === "volume" ? [m.source] : [])))];
    try {
      // The name and the writable layer are independent; on failure (e.g. the name was taken
      // meanwhile: AlreadyExists) both are undone below, the name only if it is ours.
      await settleAll([this.records.reserveName(spec.name, id), this.opts.snapshots.prepare(id, image.chainIds)]);
      for (const v of volumes) {
        if (!this.opts.volumes) throw failedPrecondition(`create container ${spec.name}: volume ${v} needs a volume store`);
        await this.opts.volumes.acquire(v, id);
      }
      const rec: ContainerRecord = {
        version: 1,
        id,
        name: spec.name,
        spec: structuredClone(spec),
        imageDigest: image.digest,
        imageConfig: image.config,
        chainIds: image.chainIds,
        cgroupsPath,
        createdAt: new Date(this.clock.now()).toISOString(),
        status: "created",
        oomKilled: false,
        volumes,
      };
      await this.records.save(rec);
      return stateOf(rec);
    } catch (err) {
      await this.opts.snapshots.removeContainerLayer(id).catch(() => {});
      for (const v of volumes) await this.opts.volumes?.release(v, id).catch(() => {});
      await this.records.remove(id).catch(() => {});
      await this.records.releaseName(spec.name, id).catch(() => {});
      throw err;
    }
  }

  private async unpackImage(image: ImageRecord): Promise<void> {
    const snapshots = this.opts.snapshots!;
    let parent: string | undefined;
    for (let i = 0; i < image.layers.length; i++) {
      const chainId = image.chainIds[i]!;
      if (!(await snapshots.has(chainId))) await snapshots.unpack(parent, image.layers[i]!, image.diffIds[i]!);
      parent = chainId;
    }
  }

  // ------------------------------------------------------------------ start

  async start(idOrName: string): Promise<ContainerState> {
    this.assertOpen();
    const id = await this.resolveId(idOrName, "start");
    await this.current(id);
    return this.lock.run(id, async () => {
      const rec = await this.records.mustLoad(id);
      if (rec.status === "running") return stateOf(rec);
      await this.startLocked(rec);
      return stateOf(rec);
    });
  }

  private async startLocked(rec: ContainerRecord): Promise<void> {
    const { id, spec } = rec;
    if (!this.opts.snapshots) throw failedPrecondition(`start container ${spec.name}: the runtime has no snapshot store`);
    const bundle = this.bundleDir(id);
    // A conmon of a start cut short (berth killed before `runc start`) still waits on this
    // container; once runc deletes it, that conmon would write an exit file that the new run
    // would take for its own. Kill it first, then clear the leftovers.
    await this.killStaleConmon(id);
    // A previous run's leftovers: runc state (then its cgroup), exit file, bundle.
    await settleAll([
      this.runc.delete(id).then(() => this.cgroups.remove(rec.cgroupsPath)),
      fs.rm(this.exitFile(id), { force: true }),
      fs.rm(bundle, { recursive: true, force: true }),
    ]);
    await fs.mkdir(path.join(bundle, "persist"), { recursive: true, mode: 0o700 });

    // Independent inputs of the spec, gathered concurrently (start latency is mostly waiting).
    const hostname = containerHostname(id, spec, os.hostname());
    const snapshots = this.opts.snapshots;
    const [{ rootfs, user }, mounts, etcFiles, hostLimits, swapAccounting] = await settleAll([
      snapshots.mount(id).then(async ({ rootfs }) => {
        const user = await resolveUserInRootfs(rootfs, spec.user ?? rec.imageConfig.User);
        await mkdirAllInRootfs(rootfs, containerWorkingDir(rec.imageConfig, spec));
        return { rootfs, user };
      }),
      resolveMounts(spec.mounts, {
        container: spec.name,
        ...(this.opts.volumes ? { volumes: this.opts.volumes } : {}),
        protectedPaths: [this.root, this.runRoot, ...(this.opts.protectedPaths ?? [])],
      }),
      writeEtcFiles(path.join(bundle, "etc"), spec.networkMode, hostname),
      readHostLimits(),
      this.cgroups.swapAccounting(),
    ]);
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
      knownCapabilities: this.knownCaps,
      swapAccounting,
    });
    await writeJsonAtomic(path.join(bundle, "config.json"), oci, { mode: 0o600 });

    const conmonPidFile = path.join(bundle, "conmon.pid");
    const started = await startConmon({
      conmonPath: this.opts.conmonPath,
      args: conmonArgs({
        id,
        name: spec.name,
        runcPath: this.opts.runcPath,
        runcRoot: this.runc.root,
        bundle,
        containerPidFile: path.join(bundle, "pidfile"),
        conmonPidFile,
        exitDir: this.exitsDir,
        persistDir: path.join(bundle, "persist"),
        logPath: this.logPath(id),
        logSizeMax: this.opts.logSizeMax,
        socketDir: path.join(this.runRoot, "sockets"),
      }),
      cwd: bundle,
      stderrFile: path.join(bundle, "conmon.err"),
      conmonPidFile,
      timeoutMs: this.opts.conmonTimeoutMs,
    }).catch(async (err) => {
      await this.runc.delete(id).catch(() => {});
      await this.cgroups.remove(rec.cgroupsPath);
      throw err;
    });
    // The start times identify the processes (pid reuse); `runc start` execs in the same
    // pid, so they can be read while it runs.
    const startTimes = Promise.all([processStartTime(started.pid), processStartTime(started.conmonPid)]);
    try {
      await this.runc.start(id);
    } catch (err) {
      await startTimes.catch(() => {});
      await this.runc.delete(id).catch(() => {});
      await this.cgroups.remove(rec.cgroupsPath);
      throw err;
    }
    const [pidStartTime, conmonStartTime] = await startTimes;
    const rotated = keepRotated(this.logPath(id)).catch(() => {});
    rec.status = "running";
    rec.pid = started.pid;
    rec.conmonPid = started.conmonPid;
    if (pidStartTime) rec.pidStartTime = pidStartTime;
    else delete rec.pidStartTime;
    if (conmonStartTime) rec.conmonStartTime = conmonStartTime;
    else delete rec.conmonStartTime;
    rec.bootId = this.bootId;
    rec.startedAt = new Date(this.clock.now()).toISOString();
    rec.oomKilled = false;
    delete rec.exitCode;
    delete rec.finishedAt;
    delete rec.reason;
    await settleAll([this.records.save(rec), rotated]);
    this.hub.publish({ type: "started", id, name: spec.name, pid: started.pid, at: rec.startedAt });
  }

  // ------------------------------------------------------------------ stop / kill

  async stop(idOrName: string, options: StopOptions = {}): Promise<ContainerState> {
    this.assertOpen();
    const id = await this.resolveId(idOrName, "stop");
    const rec = await this.current(id);
    if (rec.status !== "running") return stateOf(rec);
    let sig: string | undefined;
    if (options.signal !== undefined) {
      sig = normalizeSignal(options.signal);
      if (!sig) throw invalidArgument(`stop container ${rec.name}: invalid signal ${JSON.stringify(options.signal)}`);
    } else {
      // An image's StopSignal is not ours to validate at create: fall back to SIGTERM.
      sig = normalizeSignal(rec.spec.stopSignal ?? rec.imageConfig.StopSignal ?? "SIGTERM") ?? "SIGTERM";
    }
    const grace = options.graceMs ?? rec.spec.stopGracePeriodMs ?? this.opts.defaultStopGraceMs;
    if (sig !== "SIGKILL" && grace > 0) {
      await this.runc.kill(id, sig).catch(() => {});
      if (await this.waitExitFile(id, grace)) return stateOf((await this.lock.run(id, () => this.finalizeLocked(id)))!);
    }
    // --all: also processes that escaped init's process group (pid namespace ends with init anyway).
    await this.runc.kill(id, "SIGKILL", true).catch(() => {});
    if (!(await this.waitExitFile(id, this.opts.killWaitMs))) {
      throw unavailable(`stop container ${rec.name}: no exit reported ${this.opts.killWaitMs}ms after SIGKILL`);
    }
    return stateOf((await this.lock.run(id, () => this.finalizeLocked(id)))!);
  }

  private async waitExitFile(id: string, ms: number): Promise<boolean> {
    const deadline = this.clock.now() + ms;
    for (;;) {
      if (await this.exists(this.exitFile(id))) return true;
      const rec = await this.records.load(id);
      if (!rec || rec.status !== "running") return true;
      if (this.clock.now() >= deadline) return false;
      await this.clock.sleep(Math.min(50, Math.max(1, deadline - this.clock.now())));
    }
  }

  async kill(idOrName: string, signal: string): Promise<void> {
    this.assertOpen();
    const id = await this.resolveId(idOrName, "kill");
    const sig = normalizeSignal(signal);
    if (!sig) throw invalidArgument(`kill container ${idOrName}: invalid signal ${JSON.stringify(signal)}`);
    const rec = await this.current(id);
    if (rec.status !== "running") throw failedPrecondition(`kill container ${rec.name}: not running`, { object: { kind: "container", name: rec.name } });
    await this.runc.kill(id, sig);
  }

  // ------------------------------------------------------------------ remove

  async remove(idOrName: string, options: { force?: boolean } = {}): Promise<void> {
    this.assertOpen();
    let id: string;
    try {
      id = await this.resolveId(idOrName, "remove");
    } catch (err) {
      if (options.force && isBerthError(err, "NotFound")) return;
      throw err;
    }
    const first = await this.current(id);
    if (first.status === "running") {
      if (!options.force) {
        throw failedPrecondition(`remove container ${first.name}: running (stop it first, or force)`, { object: { kind: "container", name: first.name } });
      }
      await this.stop(id, { signal: "SIGKILL", graceMs: 0 });
    }
    await this.lock.run(id, async () => {
      const rec = await this.records.load(id);
      if (!rec) return;
      if (rec.status === "running") throw conflict(`remove container ${rec.name}: it was started again meanwhile`);
      await this.runc.delete(id);
      await this.cgroups.remove(rec.cgroupsPath);
      await this.opts.snapshots?.removeContainerLayer(id);
      for (const v of rec.volumes) await this.opts.volumes?.release(v, id);
      await fs.rm(this.bundleDir(id), { recursive: true, force: true });
      await fs.rm(this.exitFile(id), { force: true });
      await this.records.releaseName(rec.name, id);
      await this.records.remove(id);
      this.hub.publish({ type: "removed", id, name: rec.name, at: new Date(this.clock.now()).toISOString() });
    });
  }

  // ------------------------------------------------------------------ inspect / list

  async inspect(idOrName: string): Promise<ContainerState> {
    this.assertOpen();
    return stateOf(await this.current(await this.resolveId(idOrName, "inspect")));
  }

  async list(labels?: Record<string, string>): Promise<ContainerState[]> {
    this.assertOpen();
    const out: ContainerState[] = [];
    for (const r of await this.records.list()) {
      if (labels && !Object.entries(labels).every(([k, v]) => r.spec.labels[k] === v)) continue;
      out.push(stateOf(await this.current(r.id).catch(() => r)));
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  // ------------------------------------------------------------------ exec

  async exec(idOrName: string, options: ExecOptions): Promise<ExecResult> {
    this.assertOpen();
    const id = await this.resolveId(idOrName, "exec");
    const rec = await this.current(id);
    if (rec.status !== "running") throw failedPrecondition(`exec in container ${rec.name}: not running`, { object: { kind: "container", name: rec.name } });
    if (!Array.isArray(options.argv) || options.argv.length === 0 || options.argv.some((a) => typeof a !== "string" || a.includes("\0"))) {
      throw invalidArgument(`exec in container ${rec.name}: argv must be a non-empty list of strings`);
    }
    const bundle = this.bundleDir(id);
    const config = JSON.parse(await fs.readFile(path.join(bundle, "config.json"), "utf8")) as OciSpec;
    const env = new Map(config.process.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as const));
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (!k || k.includes("=") || k.includes("\0") || v.includes("\0")) throw invalidArgument(`exec in container ${rec.name}: invalid env ${JSON.stringify(k)}`);
      env.set(k, v);
    }
    let user = config.process.user;
    if (options.user !== undefined) {
      const u = await resolveUserInRootfs(config.root.path, options.user);
      user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
    }
    const cwd = options.workingDir ?? config.process.cwd;
    if (!cwd.startsWith("/")) throw invalidArgument(`exec in container ${rec.name}: workingDir must be absolute`);
    const proc: OciProcess = {
      ...config.process,
      terminal: false,
      user,
      args: options.argv,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      cwd,
    };
    const tag = randomBytes(6).toString("hex");
    const processFile = path.join(bundle, `exec-${tag}.json`);
    const pidFile = path.join(bundle, `exec-${tag}.pid`);
    await fs.writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
    try {
      return await this.runc.exec(id, processFile, pidFile, {
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        maxOutputBytes: options.maxOutputBytes ?? this.opts.execMaxOutputBytes,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } finally {
      await fs.rm(processFile, { force: true });
      await fs.rm(pidFile, { force: true });
    }
  }

  // ------------------------------------------------------------------ logs / events

  async *logs(idOrName: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    this.assertOpen();
    const id = await this.resolveId(idOrName, "read logs of");
    yield* readLogs(this.logPath(id), {
      ...options,
      clock: this.clock,
      isRunning: async () => {
        try {
          return (await this.current(id)).status === "running";
        } catch {
          return false;
        }
      },
    });
  }

  events(signal?: AbortSignal): AsyncIterable<RuntimeEvent> {
    return this.hub.subscribe(signal);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.cancelPoll?.();
    this.hub.close();
  }

  private assertOpen(): void {
    if (this.closed) throw failedPrecondition("container runtime: closed");
  }
}

/** Opens the runtime: adopts running containers, settles exited ones, starts watching exits. */
export async function openContainerRuntime(options: ContainerRuntimeOptions): Promise<ConmonRuncRuntime> {
  const rt = new ConmonRuncRuntime(options);
  await rt.open();
  return rt;
}
