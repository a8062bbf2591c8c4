/**
 * berth's controller, composed: the stores (desired state, status, events, indexes), the
 * reconcile loop with one reconciler per kind, the runtime event watch and the periodic
 * resync that only enqueue keys, and the service facade the API serves. Nothing here
 * decides anything: the reconcilers do (docs/architecture.md has the picture).
 *
 * Lifecycle: `open` → `start` → `stop` (reconciling and probing stop; containers keep
 * running, and the next controller on the same root adopts them).
 */
import type { Logger } from "pino";
import type { Clock } from "../lib/clock.js";
import { errorMessage, isBerthError } from "../lib/errors.js";
import type { ControllerApi } from "./api/types.js";
import { ControllerService } from "./api/service.js";
import { NetnsProber } from "./health/netns-prober.js";
import { ProbeDispatcher } from "./health/probers.js";
import { isOwned, LABELS } from "./labels.js";
import { Semaphore } from "./loop/concurrency-limiter.js";
import { ReconcileLoop } from "./loop/driver.js";
import { recordFailure } from "./reconcilers/condition.js";
import type { ControllerRuntime, ReconcilerDeps } from "./reconcilers/context.js";
import { ContainerReconciler } from "./reconcilers/container/reconciler.js";
import { HealthCheckReconciler } from "./reconcilers/healthcheck/reconciler.js";
import { ImageReconciler } from "./reconcilers/image/reconciler.js";
import { NetworkReconciler } from "./reconcilers/network/reconciler.js";
import { VolumeReconciler } from "./reconcilers/volume/reconciler.js";
import { DesiredStore } from "./store/desired-store.js";
import { EventLog } from "./store/event-log.js";
import { DesiredIndexes } from "./store/indexes.js";
import { kindOfKey, nameOfKey } from "./store/keys.js";
import { StatusStore } from "./store/status-store.js";
import { StartAttachments } from "./reconcilers/container/start-attachments.js";

export type { ControllerRuntime } from "./reconcilers/context.js";

export interface ControllerOptions {
  /** Reconciles running at once. */
  concurrency: number;
  /** Every object is re-checked this often (drift), ± `resyncJitter`. */
  resyncMs: number;
  resyncJitter: number;
  /** Probes running at once across all containers. */
  probeConcurrency: number;
  /** How long `berth stop|start|restart` waits for its action before answering with the status. */
  userActionTimeoutMs: number;
  /** Accept privileged containers from every apply. */
  allowPrivileged: boolean;
  /** Accept bind sources that expose the host from every apply (`berth daemon --allow-host-binds`). */
  allowHostBinds: boolean;
  version: string;
  root: string;
  runRoot: string;
  /** The API socket (bind sources must not expose it); empty: `<runRoot>/berth.sock`. */
  socketPath: string;
}

export function defaultControllerOptions(): ControllerOptions {
  return {
    concurrency: 4,
    resyncMs: 10_000,
    resyncJitter: 0.2,
    probeConcurrency: 8,
    userActionTimeoutMs: 120_000,
    allowPrivileged: false,
    allowHostBinds: false,
    version: "0.0.0",
    root: "",
    runRoot: "",
    socketPath: "",
  };
}

export class Controller {
  /** What the API server serves. */
  readonly api: ControllerApi;
  readonly containers: ContainerReconciler;
  /** What happened, for the API's event stream (and tests). */
  readonly events: EventLog;
  private readonly loop: ReconcileLoop;
  private readonly deps: ReconcilerDeps;
  private readonly stopping = new AbortController();
  private watch: Promise<void> | undefined;
  private cancelResync: (() => void) | undefined;

  private constructor(
    runtime: ControllerRuntime,
    desired: DesiredStore,
    private readonly status: StatusStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
  ) {
    const events = (this.events = new EventLog(clock));
    this.loop = new ReconcileLoop({
      clock,
      logger: log,
      options: { concurrency: options.concurrency },
      onError: (key, err, terminal) => this.onReconcileError(key, err, terminal),
      priorityOf: (key) => reconcilePriority(desired, key, this.deps.indexes),
    });
    const startedAtMs = clock.now();
    this.deps = {
      runtime,
      desired,
      indexes: new DesiredIndexes(desired),
      status,
      events,
      clock,
      enqueue: (key) => this.loop.enqueue(key),
      daemonStartedAtMs: startedAtMs,
      startAttachments: new StartAttachments(),
    };
    const prober = new NetnsProber(
      new ProbeDispatcher((container, argv, o) =>
        runtime.containers.exec(container, { argv, timeoutMs: o.timeoutMs, maxOutputBytes: o.maxOutputBytes, signal: o.signal }),
      ),
    );
    this.containers = new ContainerReconciler(this.deps, {
      prober,
      probeLimiter: new Semaphore(options.probeConcurrency),
      intentTimeoutMs: options.userActionTimeoutMs,
    });
    for (const r of [this.containers, new ImageReconciler(this.deps), new VolumeReconciler(this.deps), new NetworkReconciler(this.deps), new HealthCheckReconciler(this.deps)]) {
      this.loop.register(r);
    }
    this.api = new ControllerService(this.deps, this.containers, { ...options, startedAtMs });
  }

  /** Opens the stores under `stateDir` (desired.json, status.json). */
  static async open(init: { runtime: ControllerRuntime; stateDir: string; clock: Clock; logger: Logger; options?: Partial<ControllerOptions> }): Promise<Controller> {
    const desired = await DesiredStore.open(init.stateDir);
    const status = await StatusStore.open(init.stateDir);
    // Addresses and ports of containers removed while no daemon ran (or reserved by a create
    // a crash cut short) go back to the pools, before any reconcile reserves new ones.
    const live = (await init.runtime.containers.list()).map((c) => c.name);
    const released = await init.runtime.networks.releaseExcept(live);
    if (released.length) init.logger.info({ containers: released }, "released the network addresses and ports of containers that are gone");
    return new Controller(init.runtime, desired, status, init.clock, init.logger, { ...defaultControllerOptions(), ...init.options });
  }

  /** A controller over in-memory stores (unit tests against a fake runtime). */
  static inMemory(init: { runtime: ControllerRuntime; clock: Clock; logger: Logger; options?: Partial<ControllerOptions> }): Controller {
    return new Controller(init.runtime, DesiredStore.inMemory(), StatusStore.inMemory(), init.clock, init.logger, { ...defaultControllerOptions(), ...init.options });
  }

  /** Starts the workers, the runtime event watch and the resync; enqueues every object. */
  start(): void {
    this.reportRecovery();
    this.loop.start();
    this.watch = this.watchRuntime();
    void this.guardOrphans().finally(() => this.scheduleResync(0));
  }

  /** What the desired store recovered from at open, in the log and as an event. */
  private reportRecovery() {
    const r = this.deps.desired.recovery;
    for (const q of r.quarantined) {
      const what = r.lost ? "the desired state is lost" : `recovered the last acknowledged state (${r.objects} objects) from the ${r.source} copy`;
      const message = `${q.file}: ${q.problem}; moved to ${q.movedTo}; ${what}`;
      this.log.warn({ file: q.file, movedTo: q.movedTo, problem: q.problem, source: r.source, lost: r.lost }, "desired state: a bad copy was quarantined");
      this.deps.events.record("Warning", r.lost ? "DesiredStateLost" : "DesiredStateRecovered", "store/desired", message);
    }
  }

  /** After a lost desired state: the stacks whose running containers are kept until applied again. */
  private async guardOrphans(): Promise<void> {
    const g = this.deps.desired.orphanGuard();
    if (!g) return;
    try {
      if (g.stacks === null) {
        const owned = (await this.deps.runtime.containers.list()).filter((c) => isOwned(c.labels));
        await this.deps.desired.setOrphanStacks(owned.map((c) => c.labels[LABELS.stack] ?? ""));
      }
      const stacks = this.deps.desired.orphanGuard()?.stacks ?? [];
      if (stacks.length) {
        const message = `the desired state was lost: containers of ${stacks.map((s) => `stack ${s}`).join(", ")} keep running unmanaged until their stack is applied again`;
        this.log.warn({ stacks }, message);
        this.deps.events.record("Warning", "DesiredStateLost", "store/desired", message);
      }
    } catch (err) {
      this.log.warn({ err }, "listing containers after a lost desired state failed; every container is kept");
    }
  }

  /** Stops reconciling and probing; the runtime and its containers are left as they are. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error("controller stopping"));
    this.cancelResync?.();
    await this.loop.stop();
    await this.watch;
    await this.containers.stop();
    await this.status.flush();
  }

  /** True while a key is queued or being reconciled. */
  busy(): boolean {
    return this.loop.busy();
  }

  /** Resolves when no key is queued or being reconciled (tests and `up`). */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  private onReconcileError(key: string, err: unknown, terminal: boolean) {
    const kind = kindOfKey(key);
    if (!kind || !this.deps.desired.get(key)) return;
    const reason = terminal ? (isBerthError(err) ? err.kind : "Failed") : "ReconcileError";
    recordFailure(this.deps, key, kind, { reason, message: errorMessage(err), failed: terminal });
    // Those that judge this object's condition (containers using a failed image, say) re-plan.
    for (const k of this.deps.indexes.watchersOf(key)) this.loop.enqueue(k);
    if (terminal && kind === "Container") this.containers.abandonIntent(key);
  }

  private async watchRuntime(): Promise<void> {
    try {
      for await (const e of this.deps.runtime.containers.events(this.stopping.signal)) {
        const key = `container/${e.name}`;
        if (e.type === "exited" && this.deps.desired.get(key)) {
          this.deps.events.record(e.exitCode === 0 ? "Normal" : "Warning", "Died", key, `exited with code ${e.exitCode}${e.oomKilled ? " (OOM killed)" : ""}`);
        }
        this.loop.enqueue(key);
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
    for (const o of this.deps.desired.list()) this.loop.enqueue(o.key);
    try {
      for (const c of await this.deps.runtime.containers.list()) {
        const key = c.labels[LABELS.object]!;
        if (isOwned(c.labels) && !this.deps.desired.get(key)) this.loop.enqueue(key);
      }
    } catch (err) {
      this.log.warn({ err }, "resync: listing containers failed");
    }
  }
}

/**
 * The order of ready work (lower first): what containers wait for — networks and volumes,
 * the one whose containers start the longest chain first, then images and health checks —
 * then containers by the length of the chain of dependents that waits on them, longest first
 * (list scheduling by the critical path): in an apply of a whole stack, `db` that `api` ←
 * `web` ← `proxy` wait for is created and started before a leaf no one waits for, and each
 * level of the chain before the leaves of the level above.
 */
export function reconcilePriority(desired: DesiredStore, key: string, graph: PriorityGraph): number {
  const o = desired.get(key)?.object;
  if (!o) return 0;
  const chainOf = (containerKey: string) => Math.min(MAX_CHAIN, dependentChain(nameOfKey(containerKey), (name) => graph.dependentsOf(name)));
  if (o.kind === "Container") return MAX_CHAIN + 1 - chainOf(key);
  // A network or volume: before every container, the one whose containers start the longest chain first.
  const users = o.kind === "Network" ? graph.containersOnNetwork(o.metadata.name) : o.kind === "Volume" ? graph.containersUsingVolume(o.metadata.name) : [];
  return users.length ? -(1 + Math.max(...users.map(chainOf))) : 0;
}

/** What reconcilePriority reads of the desired objects' relations (store/indexes.ts). */
export interface PriorityGraph {
  dependentsOf(name: string): string[];
  containersOnNetwork(name: string): string[];
  containersUsingVolume(name: string): string[];
}

const MAX_CHAIN = 64;

/** Levels of containers that wait, through dependsOn, on container `name` (0: none). A cycle is cut where it closes. */
export function dependentChain(name: string, dependentsOf: (name: string) => string[], memo = new Map<string, number>(), path = new Set<string>()): number {
  const known = memo.get(name);
  if (known !== undefined) return known;
  if (path.size >= MAX_CHAIN) return 0;
  path.add(name);
  let longest = 0;
  for (const k of dependentsOf(name)) {
    const dependent = nameOfKey(k);
    if (!path.has(dependent)) longest = Math.max(longest, 1 + dependentChain(dependent, dependentsOf, memo, path));
  }
  path.delete(name);
  memo.set(name, longest);
  return longest;
}
