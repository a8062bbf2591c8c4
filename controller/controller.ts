import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import PQueue from "p-queue";
import type { Logger } from "pino";
import type { Clock } from "../lib/clock.js";
import {
  BerthError,
  errorMessage,
  isBerthError,
  notFound,
  notImplemented,
  TerminalError,
  failedPrecondition,
} from "../lib/errors.js";
import { parseEnvFile } from "../lib/env-file.js";
import { KIND_NAMES, type Kind } from "../schemas/kinds.js";
import type { ContainerRuntime, ContainerState, ImageRecord, ImageRuntimeConfig, ImageStore, VolumeStore } from "../runtime/types.js";
import type {
  ApplyRequest,
  ApplyResponse,
  ChangeEntry,
  ContainerStatusView,
  EventRecord,
  ExecRequest,
  GenericStatusView,
  ImagePruneResponse,
  ImageRemoveResponse,
  ObjectView,
  VersionInfo,
} from "./api/protocol.js";
import type { ControllerApi } from "./api/server.js";
import { anonymousVolumeName, toCreateSpec } from "./container-spec.js";
import { readiness } from "./dependencies.js";
import { DesiredStore } from "./desired-store.js";
import { EventLog } from "./event-log.js";
import { HealthMonitor } from "./health/health-monitor.js";
import { NetnsProber } from "./health/netns-prober.js";
import { ProbeDispatcher } from "./health/probers.js";
import type { HealthState } from "./health/types.js";
import { detectArchiveFormat, toImageConfig } from "./image-source.js";
import { isOwned, LABELS } from "./labels.js";
import { loadManifestTexts } from "./manifests/load.js";
import {
  objectKey,
  type AnyObject,
  type ContainerObject,
  type HealthCheckObject,
  type ImageObject,
  type VolumeObject,
} from "./manifests/model.js";
import { exitInfo as exitOf, planContainer } from "./plan.js";
import { decideRestart } from "./restart-policy.js";
import { effectiveHealthcheck, healthcheckHash, specHash } from "./spec-hash.js";
import { StatusStore, type ObjectStatus } from "./status-store.js";
import { Semaphore } from "./concurrency-limiter.js";
import { WorkQueue } from "./workqueue.js";
import { emptyRestartRecord, type Action, type DependencyState, type StoredObject } from "./types.js";

/** The runtime as the controller uses it: facts and operations, no policy. */
export interface ControllerRuntime {
  containers: ContainerRuntime;
  images: ImageStore;
  volumes: VolumeStore;
}

export interface ControllerOptions {
  /** Reconciles running at once (p-queue). */
  concurrency: number;
  /** Every object is re-checked this often (drift), ± `resyncJitter`. */
  resyncMs: number;
  resyncJitter: number;
  /** Probes running at once across all containers. */
  probeConcurrency: number;
  /** Accept privileged containers from every apply. */
  allowPrivileged: boolean;
  version: string;
  root: string;
  runRoot: string;
}

export function defaultControllerOptions(): ControllerOptions {
  return {
    concurrency: 4,
    resyncMs: 10_000,
    resyncJitter: 0.2,
    probeConcurrency: 8,
    allowPrivileged: false,
    version: "0.0.0",
    root: "",
    runRoot: "",
  };
}

interface Monitor {
  monitor: HealthMonitor;
  containerId: string;
  startedAt: string;
  checkHash: string;
}

const MAX_ENV_FILE_BYTES = 1024 * 1024;
const kindOfKey = (key: string): Kind => Object.values(KIND_NAMES).find((n) => key.startsWith(`${n.singular}/`))!.kind;
const nameOfKey = (key: string) => key.slice(key.indexOf("/") + 1);

/**
 * berth's controller: the desired store, a keyed work queue, one reconciler per kind, health
 * monitors, and the API the daemon serves. Level-based (STYLE #1): a reconcile reads the
 * desired object and the runtime's facts itself, so missed or duplicated events cannot
 * cause wrong results; runtime events, health transitions and a jittered periodic resync
 * only enqueue keys. Lifecycle: `open` → `start` → `stop` (containers keep running).
 */
export class Controller implements ControllerApi {
  private readonly queue: WorkQueue<string>;
  private readonly workers: PQueue;
  private readonly eventLog: EventLog;
  private readonly monitors = new Map<string, Monitor>();
  private readonly observed = new Map<string, ContainerState>();
  /** Containers deleted from the desired state whose runtime container is not gone yet. */
  private readonly terminating = new Map<string, StoredObject>();
  private readonly prober: NetnsProber;
  private readonly probeLimiter: Semaphore;
  private readonly startedAtMs: number;
  private readonly stopping = new AbortController();
  private loops: Promise<unknown>[] = [];
  private cancelResync: (() => void) | undefined;

  private constructor(
    private readonly runtime: ControllerRuntime,
    private readonly desired: DesiredStore,
    private readonly status: StatusStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
  ) {
    this.queue = new WorkQueue<string>(clock);
    this.workers = new PQueue({ concurrency: options.concurrency });
    this.eventLog = new EventLog(clock);
    this.probeLimiter = new Semaphore(options.probeConcurrency);
    this.prober = new NetnsProber(
      new ProbeDispatcher((container, argv, o) =>
        runtime.containers.exec(container, { argv, timeoutMs: o.timeoutMs, maxOutputBytes: o.maxOutputBytes, signal: o.signal }),
      ),
    );
    this.startedAtMs = clock.now();
  }

  /** Opens the stores under `stateDir` (desired.json, status.json). */
  static async open(init: {
    runtime: ControllerRuntime;
    stateDir: string;
    clock: Clock;
    logger: Logger;
    options?: Partial<ControllerOptions>;
  }): Promise<Controller> {
    const desired = await DesiredStore.open(init.stateDir);
    const status = await StatusStore.open(init.stateDir);
    return new Controller(init.runtime, desired, status, init.clock, init.logger, { ...defaultControllerOptions(), ...init.options });
  }

  /** Starts the workers, the runtime event watch and the resync; enqueues every object. */
  start(): void {
    this.loops.push(this.workLoop(), this.watchRuntime());
    this.scheduleResync(0);
  }

  /** Stops reconciling and probing; the runtime and its containers are left as they are. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error("controller stopping"));
    this.cancelResync?.();
    this.queue.shutDown();
    await Promise.allSettled(this.loops);
    await this.workers.onIdle();
    await Promise.all([...this.monitors.values()].map((m) => m.monitor.stop()));
    this.monitors.clear();
    await this.status.flush();
  }

  /** Resolves when no key is queued, delayed-due or being reconciled (tests and `up`). */
  async idle(): Promise<void> {
    while (this.queue.len() > 0 || this.queue.inFlight() > 0 || this.workers.size > 0 || this.workers.pending > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // ------------------------------------------------------------------ loops

  private async workLoop(): Promise<void> {
    const signal = this.stopping.signal;
    for (;;) {
      await this.workers.onSizeLessThan(1);
      let key: string;
      try {
        key = await this.queue.get(signal);
      } catch {
        return; // shut down
      }
      void this.workers.add(async () => {
        try {
          await this.reconcile(key);
        } finally {
          this.queue.done(key);
        }
      });
    }
  }

  private async watchRuntime(): Promise<void> {
    try {
      for await (const e of this.runtime.containers.events(this.stopping.signal)) {
        const key = `container/${e.name}`;
        if (e.type === "exited") {
          const owned = this.desired.get(key) !== undefined;
          if (owned) {
            this.eventLog.record(
              e.exitCode === 0 ? "Normal" : "Warning",
              "Died",
              key,
              `exited with code ${e.exitCode}${e.oomKilled ? " (OOM killed)" : ""}`,
            );
          }
        }
        this.queue.add(key);
      }
    } catch (err) {
      if (!this.stopping.signal.aborted) this.log.error({ err }, "runtime event watch ended");
    }
  }

  private scheduleResync(delayMs: number) {
    if (this.stopping.signal.aborted) return;
    this.cancelResync = this.clock.setTimer(delayMs, () => {
      void this.resync().finally(() => {
        const j = this.options.resyncJitter;
        this.scheduleResync(this.options.resyncMs * (1 - j + Math.random() * 2 * j));
      });
    });
  }

  /** Enqueues every desired object, and every berth-owned container no longer desired. */
  private async resync(): Promise<void> {
    for (const o of this.desired.list()) this.queue.add(o.key);
    try {
      for (const c of await this.runtime.containers.list()) {
        if (isOwned(c.labels) && !this.desired.get(c.labels[LABELS.object]!)) this.queue.add(c.labels[LABELS.object]!);
      }
    } catch (err) {
      this.log.warn({ err }, "resync: listing containers failed");
    }
  }

  // ------------------------------------------------------------------ reconcile

  private async reconcile(key: string): Promise<void> {
    const log = this.log.child({ key, reconcileId: createHash("sha1").update(`${key}${this.clock.now()}${Math.random()}`).digest("hex").slice(0, 8) });
    const kind = kindOfKey(key);
    try {
      switch (kind) {
        case "Container":
          await this.reconcileContainer(key, log);
          break;
        case "Image":
          await this.reconcileImage(key, log);
          break;
        case "Volume":
          await this.reconcileVolume(key, log);
          break;
        case "Network":
          this.reconcileNetwork(key);
          break;
        case "HealthCheck":
          this.reconcileHealthCheck(key);
          break;
      }
      this.queue.forget(key);
    } catch (err) {
      const terminal = err instanceof TerminalError || isBerthError(err, "NotImplemented") || isBerthError(err, "InvalidArgument");
      const message = errorMessage(err);
      const prev = this.status.get(key);
      if (this.desired.get(key)) {
        this.status.update(key, (s) => {
          s.reason = terminal ? (err as BerthError).kind ?? "Failed" : "ReconcileError";
          s.message = message;
          s.failed = terminal;
          s.ready = false;
        });
        if (prev.message !== message) this.eventLog.record("Warning", terminal ? "Failed" : "ReconcileError", key, message);
      }
      if (terminal) {
        log.warn({ err: message }, "reconcile failed; waiting for a change");
      } else {
        log.error({ err }, "reconcile failed; will retry");
        this.queue.addRateLimited(key);
      }
    }
  }

  private async inspect(name: string): Promise<ContainerState | undefined> {
    try {
      return await this.runtime.containers.inspect(name);
    } catch (err) {
      if (isBerthError(err, "NotFound")) return undefined;
      throw err;
    }
  }

  private async imageOf(ref: string): Promise<ImageRecord | undefined> {
    try {
      return await this.runtime.images.get(ref);
    } catch (err) {
      if (isBerthError(err, "NotFound")) return undefined;
      throw err;
    }
  }

  /** The HealthCheck object attached to a container: by name first, then by selector (name order). */
  private attachedCheck(obj: ContainerObject): HealthCheckObject | undefined {
    const checks = this.desired
      .list({ kind: "HealthCheck" })
      .map((s) => s.object as HealthCheckObject)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const byName = checks.find((c) => "name" in c.spec.target && c.spec.target.name === obj.metadata.name);
    if (byName) return byName;
    return checks.find(
      (c) => "selector" in c.spec.target && Object.entries(c.spec.target.selector.matchLabels).every(([k, v]) => obj.metadata.labels[k] === v),
    );
  }

  private effective(obj: ContainerObject) {
    const attached = this.attachedCheck(obj);
    return effectiveHealthcheck(obj.spec, attached ? attached.spec : undefined);
  }

  private async readEnvFiles(obj: ContainerObject): Promise<{ parsed: Record<string, { name: string; value: string }[]>; digests: Record<string, string> }> {
    const parsed: Record<string, { name: string; value: string }[]> = {};
    const digests: Record<string, string> = {};
    for (const f of obj.spec.envFiles) {
      let text: string;
      try {
        const st = await fs.stat(f);
        if (st.size > MAX_ENV_FILE_BYTES) throw new Error(`over ${MAX_ENV_FILE_BYTES} bytes`);
        text = await fs.readFile(f, "utf8");
      } catch (err) {
        throw new TerminalError("InvalidArgument", `read env file ${f}: ${errorMessage(err)}`);
      }
      try {
        parsed[f] = parseEnvFile(text, f);
      } catch (err) {
        throw new TerminalError("InvalidArgument", errorMessage(err));
      }
      digests[f] = createHash("sha256").update(text).digest("hex");
    }
    return { parsed, digests };
  }

  private healthOf(key: string, observed: ContainerState | undefined): HealthState | undefined {
    const m = this.monitors.get(key);
    if (!m || !observed || observed.status !== "running" || m.containerId !== observed.id || m.startedAt !== observed.startedAt) return undefined;
    return m.monitor.state;
  }

  private dependencyState(name: string): DependencyState {
    const key = `container/${name}`;
    const stored = this.desired.get(key);
    const obs = this.observed.get(key);
    const st = this.status.get(key);
    if (!stored) return { declared: false, status: "absent", hasHealthcheck: false, restartPending: false };
    const obj = stored.object as ContainerObject;
    const eff = this.effective(obj);
    const health = this.healthOf(key, obs)?.status;
    const dep: DependencyState = {
      declared: true,
      status: obs ? obs.status : "absent",
      hasHealthcheck: eff.check !== undefined,
      restartPending: st.nextRestartAtMs !== undefined,
    };
    if (obs?.exitCode !== undefined) dep.exitCode = obs.exitCode;
    if (health) dep.health = health;
    if (st.failed && st.message) dep.failure = st.message;
    return dep;
  }

  private async reconcileContainer(key: string, log: Logger): Promise<void> {
    const name = nameOfKey(key);
    const stored = this.desired.get(key);
    const obj = stored?.object as ContainerObject | undefined;
    let observed = await this.inspect(name);
    const now = this.clock.now();

    if (!obj) {
      await this.stopMonitor(key);
      const actions = planContainer(undefined, observed, now, {
        key,
        restart: emptyRestartRecord(),
        dependencies: [],
        daemonStartedAtMs: this.startedAtMs,
      });
      for (const a of actions) {
        if (a.type === "stop") await this.runtime.containers.stop(observed!.id);
        if (a.type === "remove") {
          await this.runtime.containers.remove(observed!.id, { force: true });
          this.eventLog.record("Normal", "Removed", key, a.reason);
        }
      }
      this.observed.delete(key);
      this.status.delete(key);
      this.terminating.delete(key);
      return;
    }

    const image = await this.imageOf(obj.spec.image);
    const env = await this.readEnvFiles(obj);
    const hash = image
      ? specHash({ spec: obj.spec, imageDigest: image.digest, labels: obj.metadata.labels, envFileDigests: env.digests })
      : undefined;
    const eff = this.effective(obj);
    const st = this.status.get(key);
    const health = this.healthOf(key, observed)?.status;
    const dependencies = obj.spec.dependsOn.map((d) => readiness(d, new Map([[d.name, this.dependencyState(d.name)]])));
    const ctx = {
      key,
      restart: st.restart,
      ...(health ? { health } : {}),
      onUnhealthy: eff.onUnhealthy,
      dependencies,
      daemonStartedAtMs: this.startedAtMs,
    };
    const actions = planContainer({ spec: obj.spec, specHash: hash }, observed, now, ctx);
    let waitAction: Extract<Action, { type: "wait" }> | undefined;

    for (const a of actions) {
      log.debug({ action: a.type, reason: a.reason }, "action");
      switch (a.type) {
        case "pull": {
          const provider = this.desired.list({ kind: "Image" }).find((s) => (s.object as ImageObject).spec.reference === obj.spec.image);
          if (provider) {
            const ps = this.status.get(provider.key);
            waitAction = ps.failed
              ? { type: "wait", failed: true, reason: `image ${obj.spec.image} (${provider.key}) failed: ${ps.message ?? ps.reason ?? "unknown"}` }
              : { type: "wait", reason: `waiting for ${provider.key} to provide ${obj.spec.image}` };
          } else {
            waitAction = {
              type: "wait",
              failed: true,
              reason: `image ${obj.spec.image} is not present: declare an Image object that provides it, or load it with berth image load/import`,
            };
          }
          break;
        }
        case "create":
          observed = await this.create(key, obj, stored!.stack, hash!, env.parsed);
          break;
        case "recreate": {
          if (observed) {
            await this.stopMonitor(key);
            if (observed.status === "running") await this.runtime.containers.stop(observed.id);
            await this.runtime.containers.remove(observed.id, { force: true });
          }
          observed = await this.create(key, obj, stored!.stack, hash!, env.parsed, a.reason);
          if (a.start) observed = await this.startContainer(key, observed, obj, false);
          break;
        }
        case "start": {
          const policyRestart = observed?.status === "exited";
          observed = await this.startContainer(key, observed!, obj, policyRestart);
          break;
        }
        case "stop": {
          this.status.update(key, (s) => {
            if (a.cause) s.restart.lastStop = { cause: a.cause, atMs: this.clock.now() };
          });
          this.eventLog.record("Warning", a.cause?.startsWith("unhealthy") ? "Unhealthy" : "Killing", key, a.reason);
          await this.stopMonitor(key);
          observed = await this.runtime.containers.stop(observed!.id);
          // The exit is handled by the next reconcile (restart policy and backoff).
          this.queue.add(key);
          break;
        }
        case "remove":
          await this.runtime.containers.remove(observed!.id, { force: true });
          observed = undefined;
          break;
        case "wait":
          waitAction = a;
          if (a.untilMs !== undefined) this.queue.addAfter(key, Math.max(1, a.untilMs - this.clock.now()));
          break;
      }
    }

    if (observed) this.observed.set(key, observed);
    else this.observed.delete(key);
    await this.syncMonitor(key, obj, observed);
    this.recordContainerStatus(key, obj, observed, waitAction);
    // Dependents judge this container's state: let them re-plan.
    for (const other of this.desired.list({ kind: "Container" })) {
      if ((other.object as ContainerObject).spec.dependsOn.some((d) => d.name === name)) this.queue.add(other.key);
    }
  }

  private async ensureVolumes(obj: ContainerObject, stack: string): Promise<void> {
    for (const m of obj.spec.mounts) {
      if (m.type !== "volume") continue;
      const volName = m.source ?? anonymousVolumeName(obj.metadata.name, m.target);
      const declared = this.desired.get(`volume/${volName}`);
      if (declared) {
        const vs = this.status.get(declared.key);
        if (!vs.ready) throw failedPrecondition(`create container ${obj.metadata.name}: volume ${volName} is not ready${vs.message ? `: ${vs.message}` : ""}`);
        continue;
      }
      try {
        await this.runtime.volumes.inspect(volName);
      } catch (err) {
        if (!isBerthError(err, "NotFound")) throw err;
        // Like `docker run -v name:/path`: an undeclared named volume is created on demand.
        await this.runtime.volumes.create(volName, { labels: { [LABELS.stack]: stack } });
      }
    }
  }

  private async create(
    key: string,
    obj: ContainerObject,
    stack: string,
    hash: string,
    envFiles: Record<string, { name: string; value: string }[]>,
    why = "created",
  ): Promise<ContainerState> {
    await this.ensureVolumes(obj, stack);
    const spec = toCreateSpec(obj, { stack, specHash: hash, envFiles });
    const created = await this.runtime.containers.create(spec);
    this.status.update(key, (s) => {
      s.restart = emptyRestartRecord();
      delete s.health;
      delete s.nextRestartAtMs;
      delete s.lastRestartAtMs;
    });
    this.eventLog.record("Normal", why === "created" ? "Created" : "Recreated", key, why === "created" ? `created container ${created.id.slice(0, 12)}` : `${why}: recreated as ${created.id.slice(0, 12)}`);
    return created;
  }

  private async startContainer(key: string, observed: ContainerState, obj: ContainerObject, policyRestart: boolean): Promise<ContainerState> {
    const st = this.status.get(key);
    if (policyRestart) {
      const d = decideRestart({ policy: obj.spec.restartPolicy, exit: exitOf(observed), record: st.restart, daemonStartedAtMs: this.startedAtMs });
      this.status.update(key, (s) => {
        s.restart.restartCount += 1;
        s.restart.lastBackoffMs = d.delayMs;
        delete s.restart.lastStop;
        s.lastRestartAtMs = this.clock.now();
      });
    }
    const started = await this.runtime.containers.start(observed.id);
    this.status.update(key, (s) => {
      delete s.nextRestartAtMs;
      delete s.health;
    });
    this.eventLog.record("Normal", policyRestart ? "Restarted" : "Started", key, policyRestart ? `restarted (restart ${this.status.get(key).restart.restartCount})` : `started, pid ${started.pid ?? "?"}`);
    return started;
  }

  private async stopMonitor(key: string): Promise<void> {
    const m = this.monitors.get(key);
    if (!m) return;
    this.monitors.delete(key);
    await m.monitor.stop();
  }

  /** One health monitor per running container with an effective check, for its current run. */
  private async syncMonitor(key: string, obj: ContainerObject, observed: ContainerState | undefined): Promise<void> {
    const { check } = this.effective(obj);
    const existing = this.monitors.get(key);
    const want = observed?.status === "running" && check !== undefined && observed.startedAt !== undefined;
    if (!want) {
      if (existing) await this.stopMonitor(key);
      return;
    }
    const checkHash = healthcheckHash(check);
    if (existing && existing.containerId === observed!.id && existing.startedAt === observed!.startedAt && existing.checkHash === checkHash) return;
    if (existing) await this.stopMonitor(key);
    const runStartedAtMs = Date.parse(observed!.startedAt!);
    const monitor = new HealthMonitor(
      {
        clock: this.clock,
        prober: this.prober,
        check: check!,
        // http/tcp probes go to 127.0.0.1 of the container's own network: the host's with
        // networkMode host, else inside its namespace (entered through its pid).
        target: {
          container: observed!.id,
          host: "127.0.0.1",
          ...(obj.spec.networkMode !== "host" && observed!.pid ? { netnsPid: observed!.pid } : {}),
        },
        containerStartedAtMs: runStartedAtMs,
        onTransition: (t, state) => {
          this.status.update(key, (s) => {
            s.health = { status: state.status, log: state.log, runStartedAtMs };
          });
          const last = t.output.trim().split("\n").pop() ?? "";
          this.eventLog.record(t.to === "unhealthy" ? "Warning" : "Normal", t.to === "healthy" ? "Healthy" : t.to === "unhealthy" ? "Unhealthy" : "HealthStarting", key, `health ${t.from} → ${t.to}${last ? `: ${last.slice(0, 200)}` : ""}`);
          this.queue.add(key);
        },
      },
      {
        limiter: this.probeLimiter,
        onResult: (state) => this.status.update(key, (s) => void (s.health = { status: state.status, log: state.log, runStartedAtMs })),
        onError: (err) => this.log.warn({ key, err }, "health probe error"),
      },
    );
    this.monitors.set(key, { monitor, containerId: observed!.id, startedAt: observed!.startedAt!, checkHash });
    this.status.update(key, (s) => void (s.health = { status: "starting", log: [], runStartedAtMs }));
    monitor.start();
  }

  private recordContainerStatus(key: string, obj: ContainerObject, observed: ContainerState | undefined, wait: Extract<Action, { type: "wait" }> | undefined) {
    const prev = this.status.get(key);
    this.status.update(key, (s) => {
      s.failed = wait?.failed ?? false;
      if (wait) {
        const backingOff = wait.untilMs !== undefined;
        s.reason = backingOff ? "CrashLoopBackOff" : wait.failed ? (wait.dependency ? "DependencyFailed" : "Failed") : wait.dependency ? "WaitingForDependency" : "Waiting";
        s.message = backingOff ? `back-off ${Math.max(0, wait.untilMs! - this.clock.now())}ms restarting: ${wait.reason}` : wait.reason;
        if (backingOff) s.nextRestartAtMs = wait.untilMs!;
        else delete s.nextRestartAtMs;
      } else {
        delete s.reason;
        delete s.message;
        delete s.nextRestartAtMs;
        if (observed?.status === "exited" && observed.oomKilled) {
          s.reason = "OOMKilled";
          s.message = "the kernel OOM killer ended the container";
        }
        if (observed?.reason) s.message = observed.reason;
      }
      s.ready = observed?.status === "running" && (this.effective(obj).check === undefined || this.healthOf(key, observed)?.status === "healthy");
    });
    const next = this.status.get(key);
    if (next.reason !== prev.reason && next.reason && next.message) {
      this.eventLog.record(next.failed || next.reason === "CrashLoopBackOff" ? "Warning" : "Normal", next.reason === "CrashLoopBackOff" ? "BackOff" : next.reason, key, next.message);
    }
  }

  // ------------------------------------------------------------------ other kinds

  private async reconcileImage(key: string, log: Logger): Promise<void> {
    const stored = this.desired.get(key);
    if (!stored) {
      this.status.delete(key); // images are kept, as Compose and Kubernetes keep them
      return;
    }
    const obj = stored.object as ImageObject;
    const { reference, source, pullPolicy } = obj.spec;
    const present = await this.imageOf(reference);
    const st = this.status.get(key);
    const fresh = st.details?.importedGeneration === stored.generation;
    const needed = !present || (pullPolicy === "always" && !fresh);
    if (!needed) {
      this.markReady(key, present!, st.details?.importedGeneration as number | undefined);
      this.requeueUsers(reference);
      return;
    }
    if (pullPolicy === "never") throw new TerminalError("FailedPrecondition", `image ${reference} is not present and pullPolicy is never`);
    if (source.type !== "import") {
      if (present) {
        this.markReady(key, present, undefined);
        return;
      }
      throw notImplemented(`${source.type === "pull" ? "pull" : "build"} image ${reference}: ${source.type === "pull" ? "registry pulls" : "Dockerfile builds"} are not supported yet; import the image (Image import, or berth image load)`);
    }
    try {
      await fs.stat(source.path);
    } catch (err) {
      // Retried at the next resync (the file may appear); no retry storm, no stack traces.
      throw new TerminalError("NotFound", `import image ${reference}: ${source.path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : errorMessage(err)}`);
    }
    const format = source.format === "auto" ? await detectArchiveFormat(source.path).catch((err) => {
      throw new TerminalError("InvalidArgument", `import image ${reference}: ${source.path}: ${errorMessage(err)}`);
    }) : source.format;
    log.info({ path: source.path, format }, "importing image");
    let rec: ImageRecord;
    if (format === "rootfs") {
      rec = await this.runtime.images.importRootfs(source.path, reference, { config: toImageConfig(source.config) });
    } else {
      const loaded = await this.runtime.images.load(source.path);
      const match = loaded.find((i) => i.references.includes(reference)) ?? (loaded.length === 1 ? loaded[0] : undefined);
      if (!match) throw new TerminalError("InvalidArgument", `import image ${reference}: ${source.path} holds ${loaded.length} images and none is named ${reference}`);
      rec = match.references.includes(reference) ? match : await this.runtime.images.tag(match.digest, reference);
    }
    this.eventLog.record("Normal", "Imported", key, `imported ${reference} from ${path.basename(source.path)} (${format})`);
    this.markReady(key, rec, stored.generation);
    this.requeueUsers(reference);
  }

  private markReady(key: string, rec: ImageRecord, importedGeneration: number | undefined) {
    this.status.update(key, (s) => {
      s.ready = true;
      s.failed = false;
      delete s.reason;
      delete s.message;
      s.details = { digest: rec.digest, id: rec.configDigest, size: rec.size, ...(importedGeneration !== undefined ? { importedGeneration } : {}) };
    });
  }

  private requeueUsers(reference: string) {
    for (const c of this.desired.list({ kind: "Container" })) if ((c.object as ContainerObject).spec.image === reference) this.queue.add(c.key);
  }

  private async reconcileVolume(key: string, log: Logger): Promise<void> {
    const name = nameOfKey(key);
    const stored = this.desired.get(key);
    if (!stored) {
      try {
        const v = await this.runtime.volumes.inspect(name);
        if (v.labels[LABELS.object] === key) {
          await this.runtime.volumes.remove(name);
          this.eventLog.record("Normal", "Removed", key, `removed volume ${name}`);
        }
      } catch (err) {
        if (isBerthError(err, "FailedPrecondition")) {
          log.info("volume in use; will retry");
          this.queue.addAfter(key, 2000);
          return;
        }
        if (!isBerthError(err, "NotFound")) throw err;
      }
      this.status.delete(key);
      return;
    }
    const obj = stored.object as VolumeObject;
    const o = obj.spec.options;
    const options: Record<string, string> = {};
    if (o.type) options.type = o.type;
    if (o.sizeBytes !== undefined) options.size = String(o.sizeBytes);
    if (o.mode !== undefined) options.mode = o.mode.toString(8).padStart(4, "0");
    if (o.device || o.o || o.uid !== undefined || o.gid !== undefined) {
      throw notImplemented(`create volume ${name}: options device, o, uid and gid are not supported yet (only type: tmpfs with size and mode)`);
    }
    const created = await this.runtime.volumes.inspect(name).catch((err) => (isBerthError(err, "NotFound") ? undefined : Promise.reject(err)));
    const rec = created ?? (await this.runtime.volumes.create(name, { labels: { ...obj.metadata.labels, [LABELS.stack]: stored.stack, [LABELS.object]: key }, options }));
    if (!created) this.eventLog.record("Normal", "Created", key, `created volume ${name}`);
    this.status.update(key, (s) => {
      s.ready = true;
      s.failed = false;
      delete s.reason;
      delete s.message;
      s.details = { mountpoint: rec.mountpoint };
    });
    for (const c of this.desired.list({ kind: "Container" })) {
      if ((c.object as ContainerObject).spec.mounts.some((m) => m.type === "volume" && m.source === name)) this.queue.add(c.key);
    }
  }

  private reconcileNetwork(key: string): void {
    if (!this.desired.get(key)) {
      this.status.delete(key);
      return;
    }
    throw notImplemented(`create network ${nameOfKey(key)}: bridge networks are not supported yet; containers can use networkMode host or none`);
  }

  private reconcileHealthCheck(key: string): void {
    const stored = this.desired.get(key);
    const matched: string[] = [];
    for (const c of this.desired.list({ kind: "Container" })) {
      const obj = c.object as ContainerObject;
      if (stored && this.attachedCheck(obj)?.metadata.name === stored.name) matched.push(obj.metadata.name);
      this.queue.add(c.key); // attach or detach
    }
    if (!stored) {
      this.status.delete(key);
      return;
    }
    this.status.update(key, (s) => {
      s.ready = true;
      s.failed = false;
      s.details = { matched };
    });
  }

  // ------------------------------------------------------------------ API

  version(): VersionInfo {
    return {
      version: this.options.version,
      pid: process.pid,
      root: this.options.root,
      runRoot: this.options.runRoot,
      startedAt: new Date(this.startedAtMs).toISOString(),
    };
  }

  async apply(req: ApplyRequest): Promise<ApplyResponse> {
    const loaded = loadManifestTexts(req.files, { allowPrivileged: this.options.allowPrivileged || !!req.allowPrivileged });
    const dryRun = !!req.dryRun;
    if (loaded.diagnostics.some((d) => d.severity === "error")) return { dryRun, changes: [], diagnostics: loaded.diagnostics };
    const objects = loaded.objects.map(stripSource);
    const before = new Map(this.desired.list().map((s) => [s.key, s]));
    const cs = await this.desired.apply(req.stack, objects, { prune: !!req.prune, dryRun });
    const changes: ChangeEntry[] = cs.entries.map((e) => ({ kind: e.kind, name: e.name, action: e.action }));
    const res: ApplyResponse = { dryRun, changes, diagnostics: loaded.diagnostics };
    if (dryRun) {
      const after = new Map(objects.map((o) => [objectKey(o), o]));
      res.diffs = cs.entries
        .filter((e) => e.action !== "unchanged")
        .map((e) => {
          const b = before.get(e.key)?.object;
          const a = e.action === "deleted" ? undefined : after.get(e.key);
          return { kind: e.kind, name: e.name, ...(b ? { before: view(b) } : {}), ...(a ? { after: view(a) } : {}) };
        });
      return res;
    }
    for (const e of cs.entries) {
      if (e.action === "deleted") this.markTerminating(before.get(e.key));
      if (e.action !== "unchanged") this.eventLog.record("Normal", e.action === "deleted" ? "Deleted" : "Applied", e.key, `${e.key} ${e.action} (stack ${req.stack})`);
      this.queue.add(e.key);
    }
    return res;
  }

  async list(kind: Kind, selector: Record<string, string>): Promise<ObjectView[]> {
    const terminating = [...this.terminating.values()].filter((s) => s.kind === kind && !this.desired.get(s.key));
    return [...this.desired.list({ kind }), ...terminating]
      .filter((s) => Object.entries(selector).every(([k, v]) => s.object.metadata.labels[k] === v))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => this.viewOf(s));
  }

  async get(kind: Kind, name: string): Promise<ObjectView> {
    const key = `${KIND_NAMES[kind].singular}/${name}`;
    const s = this.desired.get(key) ?? this.terminating.get(key);
    if (!s) throw notFound(`get ${KIND_NAMES[kind].singular} ${name}: not found`, { object: { kind, name } });
    return this.viewOf(s);
  }

  /** A deleted container stays visible (reason Terminating) until its runtime container is gone. */
  private markTerminating(s: StoredObject | undefined) {
    if (s?.kind === "Container" && this.observed.has(s.key)) this.terminating.set(s.key, s);
  }

  async delete(kind: Kind, name: string): Promise<ChangeEntry> {
    const key = `${KIND_NAMES[kind].singular}/${name}`;
    this.markTerminating(this.desired.get(key));
    const e = await this.desired.delete(key);
    if (!e) throw notFound(`delete ${KIND_NAMES[kind].singular} ${name}: not found`, { object: { kind, name } });
    this.eventLog.record("Normal", "Deleted", key, `${key} deleted`);
    this.queue.add(key);
    if (kind === "HealthCheck") this.reconcileHealthCheck(key);
    return { kind, name, action: "deleted" };
  }

  events(options: { watch: boolean; signal: AbortSignal }): AsyncIterable<EventRecord> {
    return this.eventLog.stream(options);
  }

  logs(name: string, options: { follow: boolean; tail?: number; since?: number; signal: AbortSignal }) {
    this.requireContainer(name);
    return this.runtime.containers.logs(name, options);
  }

  async exec(name: string, req: ExecRequest, signal: AbortSignal) {
    this.requireContainer(name);
    return this.runtime.containers.exec(name, {
      argv: req.argv,
      ...(req.env ? { env: req.env } : {}),
      ...(req.user ? { user: req.user } : {}),
      ...(req.workingDir ? { workingDir: req.workingDir } : {}),
      ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
      signal,
    });
  }

  /** `berth stop|start|restart`: user intent recorded on the restart record, then acted on. */
  async act(name: string, action: "stop" | "start" | "restart"): Promise<ObjectView> {
    const stored = this.requireContainer(name);
    const key = stored.key;
    const observed = await this.inspect(name);
    if (action === "stop" || action === "restart") {
      this.status.update(key, (s) => {
        s.restart.lastStop = { cause: "user", atMs: this.clock.now() };
        delete s.nextRestartAtMs;
      });
      await this.stopMonitor(key);
      if (observed?.status === "running") await this.runtime.containers.stop(observed.id);
      this.eventLog.record("Normal", "Stopped", key, "stopped by the user");
    }
    if (action === "start" || action === "restart") {
      this.status.update(key, (s) => {
        s.restart = emptyRestartRecord();
        delete s.nextRestartAtMs;
        s.failed = false;
      });
      if (observed && observed.status !== "running") {
        await this.runtime.containers.start(observed.id);
        this.eventLog.record("Normal", "Started", key, "started by the user");
      }
    }
    this.queue.add(key);
    return this.viewOf(this.desired.get(key)!);
  }

  // The image store, for `berth image` while the daemon holds the root lock. Plain delegation:
  // the store serializes its own mutations, and Image objects reconcile through it too.

  listImages(): Promise<ImageRecord[]> {
    return this.runtime.images.list();
  }

  async inspectImages(refs: string[]): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const ref of refs) out.push(await this.runtime.images.get(ref));
    return out;
  }

  loadImages(file: string, signal: AbortSignal): Promise<ImageRecord[]> {
    return this.runtime.images.load(file, { signal });
  }

  importImage(rootfs: AsyncIterable<Uint8Array>, reference: string, config: ImageRuntimeConfig, signal: AbortSignal): Promise<ImageRecord> {
    return this.runtime.images.importRootfs(rootfs, reference, { config, signal });
  }

  saveImages(refs: string[], outFile: string): Promise<void> {
    return this.runtime.images.save(refs, outFile);
  }

  tagImage(source: string, target: string): Promise<ImageRecord> {
    return this.runtime.images.tag(source, target);
  }

  removeImage(ref: string, options: { force: boolean }): Promise<ImageRemoveResponse> {
    return this.runtime.images.remove(ref, options);
  }

  /** As `berth image prune` without a daemon: dangling images, or with `all` every unused one. */
  pruneImages(options: { all: boolean }): Promise<ImagePruneResponse> {
    return this.runtime.images.prune(options.all ? { all: true } : { dangling: true });
  }

  private requireContainer(name: string): StoredObject {
    const s = this.desired.get(`container/${name}`);
    if (!s) throw notFound(`get container ${name}: not found`, { object: { kind: "Container", name } });
    return s;
  }

  private viewOf(s: StoredObject): ObjectView {
    const st = this.status.get(s.key);
    return {
      apiVersion: "berth/v1",
      kind: s.kind,
      metadata: {
        name: s.name,
        labels: s.object.metadata.labels,
        annotations: s.object.metadata.annotations,
        stack: s.stack,
        generation: s.generation,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
      },
      spec: s.object.spec,
      status: s.kind === "Container" ? this.containerStatus(s, st) : genericStatus(st),
    };
  }

  private containerStatus(s: StoredObject, st: ObjectStatus): ContainerStatusView {
    const obs = this.observed.get(s.key);
    if (!this.desired.get(s.key)) {
      return { phase: obs?.status === "running" ? "Running" : "Exited", health: "none", restartCount: st.restart.restartCount, reason: "Terminating", message: "deleted: the container is being stopped and removed" };
    }
    const obj = s.object as ContainerObject;
    const eff = this.effective(obj);
    const health = this.healthOf(s.key, obs);
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    let phase: ContainerStatusView["phase"];
    if (st.failed) phase = "Failed";
    else if (!obs || obs.status === "created" || obs.status === "unknown") phase = "Pending";
    else if (obs.status === "running") phase = "Running";
    else phase = st.nextRestartAtMs !== undefined ? "Restarting" : "Exited";
    const v: ContainerStatusView = {
      phase,
      health: eff.check ? (obs?.status === "running" ? (health?.status ?? st.health?.status ?? "starting") : "none") : "none",
      restartCount: st.restart.restartCount,
    };
    const set = <K extends keyof ContainerStatusView>(k: K, val: ContainerStatusView[K] | undefined) => {
      if (val !== undefined) v[k] = val;
    };
    set("lastRestartAt", iso(st.lastRestartAtMs));
    set("nextRestartAt", iso(st.nextRestartAtMs));
    set("exitCode", obs?.status === "exited" ? obs.exitCode : undefined);
    set("oomKilled", obs?.oomKilled || undefined);
    set("pid", obs?.status === "running" ? obs.pid : undefined);
    set("startedAt", obs?.startedAt);
    set("finishedAt", obs?.status === "exited" ? obs.finishedAt : undefined);
    set("reason", st.reason);
    set("message", st.message);
    set("containerId", obs?.id);
    set("imageDigest", obs?.imageDigest);
    set("specHash", obs?.labels[LABELS.specHash]);
    const log = health?.log ?? st.health?.log;
    if (eff.check && log) {
      set(
        "healthResults",
        log.slice(-5).map((l) => ({ start: new Date(l.startedAtMs).toISOString(), end: new Date(l.endedAtMs).toISOString(), result: l.result, output: l.output })),
      );
    }
    return v;
  }
}

function genericStatus(st: ObjectStatus): GenericStatusView {
  const v: GenericStatusView = { ready: !!st.ready };
  if (st.reason) v.reason = st.reason;
  if (st.message) v.message = st.message;
  if (st.details) for (const [k, val] of Object.entries(st.details)) if (k !== "importedGeneration") v[k] = val;
  return v;
}

/** The desired store compares objects; where they were read from is not part of them. */
function stripSource(o: AnyObject): AnyObject {
  const { source: _source, ...rest } = o;
  return rest as AnyObject;
}

function view(o: AnyObject) {
  return { metadata: o.metadata, spec: o.spec };
}
