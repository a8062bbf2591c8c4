/**
 * The Container reconciler: observe (observe.ts) → plan (plan.ts, pure) → act
 * (lifecycle.ts) → record (status-view.ts), then let the containers that depend on this one
 * re-plan. It also owns what the controller knows about containers between reconciles: the
 * last observed state of each (for dependents and views), the health monitors of running
 * containers, deleted containers still on the host, and pending user actions.
 *
 * Level-based (STYLE #1): every reconcile reads the desired object, the runtime container,
 * the image and the health of the current run afresh; runtime events, health transitions,
 * a dependency's change and the resync only enqueue the key.
 */
import type { ContainerState, ImageHealthcheck } from "../../../runtime/types.js";
import type { ContainerStatusView } from "../../api/protocol.js";
import { readiness, type DependencyState } from "../../dependencies.js";
import { MonitorManager } from "../../health/monitor-manager.js";
import type { HealthLogEntry, HealthTransition, Prober } from "../../health/types.js";
import type { ConcurrencyLimiter, ReconcileContext, ReconcileResult, Reconciler } from "../../loop/types.js";
import type { ContainerObject } from "../../manifests/model.js";
import { LABELS, ownedBy } from "../../labels.js";
import { keyOf, nameOfKey } from "../../store/keys.js";
import type { UserAction } from "../../store/status-records.js";
import type { StoredObject } from "../../store/types.js";
import type { ReconcilerDeps } from "../context.js";
import { UserIntents } from "./intents.js";
import { ContainerLifecycle } from "./lifecycle.js";
import { ContainerNetworking, networkPlanOf } from "./networking.js";
import { effectiveCheckOf, findImage, imageAvailability, inspectContainer, readEnvFiles } from "./observe.js";
import { planContainer } from "./plan.js";
import { specHash } from "./spec-hash.js";
import { containerCondition, containerStatusView } from "./status-view.js";
import type { Action } from "./types.js";

export interface ContainerReconcilerInit {
  prober: Prober;
  /** Bounds probes across all containers. */
  probeLimiter: ConcurrencyLimiter;
  /** How long a user action may take before the API answers with the status it finds. */
  intentTimeoutMs: number;
}

export class ContainerReconciler implements Reconciler {
  readonly kind = "Container" as const;
  readonly monitors: MonitorManager;
  readonly intents: UserIntents;
  private readonly lifecycle: ContainerLifecycle;
  private readonly networking: ContainerNetworking;
  private readonly observed = new Map<string, ContainerState>();
  /** The HEALTHCHECK of each container's image, as last seen (a container without a check of its own uses it). */
  private readonly imageChecks = new Map<string, ImageHealthcheck>();
  /** Deleted from the desired state; their runtime container is not gone yet. */
  private readonly terminating = new Map<string, StoredObject>();

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly init: ContainerReconcilerInit,
  ) {
    this.monitors = new MonitorManager({
      clock: deps.clock,
      prober: init.prober,
      limiter: init.probeLimiter,
      onTransition: (key, t, state, runStartedAtMs) => this.onHealthTransition(key, t, state.log, runStartedAtMs),
      onResult: (key, state, runStartedAtMs) => deps.status.update(key, "Container", (s) => void (s.health = { status: state.status, log: state.log, runStartedAtMs })),
      onError: () => {},
    });
    this.intents = new UserIntents(deps.status, deps.clock);
    this.networking = new ContainerNetworking(deps);
    this.lifecycle = new ContainerLifecycle(deps, this.monitors, this.networking);
  }

  async reconcile(key: string, { signal, log }: ReconcileContext): Promise<ReconcileResult> {
    const d = this.deps;
    const name = nameOfKey(key);
    const stored = d.desired.get(key);
    let observed = await inspectContainer(d.runtime.containers, name);
    if (!stored) return this.reconcileDeleted(key, observed, signal);

    const obj = stored.object as ContainerObject;
    const image = await findImage(d.runtime.images, obj.spec.image);
    const env = await readEnvFiles(obj);
    // Sharing a container's network: its id is part of the hash (recreated with it).
    const shared = await this.networking.sharedTarget(obj, stored.stack).catch(() => undefined);
    const hash = image
      ? specHash({ spec: obj.spec, imageDigest: image.digest, labels: obj.metadata.labels, envFileDigests: env.digests, ...(shared ? { sharedNetworkOf: shared.id } : {}) })
      : undefined;
    // the image's HEALTHCHECK, for a container that declares none (kept for the sync views below)
    if (image?.config.Healthcheck) this.imageChecks.set(key, image.config.Healthcheck);
    else if (image) this.imageChecks.delete(key);
    const eff = effectiveCheckOf(obj, d.indexes, this.imageChecks.get(key));
    const st = d.status.get(key, "Container");
    const health = this.monitors.health(key, observed)?.status;
    const intent = st.intent;
    let actions = planContainer({ spec: obj.spec, specHash: hash }, observed, d.clock.now(), {
      key,
      image: imageAvailability(image, obj.spec.image, d.indexes, d.status),
      restart: st.restart,
      ...(health ? { health } : {}),
      onUnhealthy: eff.onUnhealthy,
      dependencies: obj.spec.dependsOn.map((dep) => readiness(dep, new Map([[dep.name, this.dependencyState(dep.name)]]))),
      daemonStartedAtMs: d.daemonStartedAtMs,
      ...(intent ? { intent: intent.action } : {}),
    });

    // Made only once the networks and volumes it declares are ready: until then it waits,
    // named in its status, and their reconcile enqueues it — not an error retried with backoff.
    if (actions.some((a) => a.type === "create" || a.type === "recreate")) {
      const pending = this.prerequisiteWait(obj, stored.stack);
      if (pending) actions = [pending];
    }

    // An optional dependency not waited for is said once, when the container starts without it.
    if (actions.some((a) => a.type === "start" && a.by === "create") || actions.some((a) => a.type === "recreate" && a.start)) {
      for (const dep of obj.spec.dependsOn) {
        const r = readiness(dep, new Map([[dep.name, this.dependencyState(dep.name)]]));
        if (r.skipped) d.events.record("Warning", "DependencySkipped", key, r.reason);
      }
    }
    let wait: Extract<Action, { type: "wait" }> | undefined;
    const exposed = image?.config.ExposedPorts;
    const target = { key, stack: stored.stack, obj, specHash: hash ?? "", envFiles: env.parsed, signal, ...(exposed ? { exposed } : {}) };
    for (const a of actions) {
      log.debug({ action: a.type, reason: a.reason }, "action");
      if (a.type === "wait") wait = a;
      observed = await this.lifecycle.perform(a, observed, target);
    }
    // Ports are applied in place (no recreate): published again when they differ. Before the
    // intent settles: the API answers a user action with the view this reconcile leaves.
    if (observed) await this.networking.record(key, obj, stored.stack, await this.networking.syncPorts(obj, stored.stack, exposed));
    if (intent) {
      if (intent.action !== "stop") {
        // The user's start or restart also lifts an earlier user stop where nothing ran yet (an image to wait for).
        d.status.update(key, "Container", (s) => {
          if (s.restart.lastStop?.cause === "user") delete s.restart.lastStop;
        });
      }
      this.intents.settle(key, intent);
    }

    if (observed) this.observed.set(key, observed);
    else this.observed.delete(key);
    await this.syncMonitor(key, obj, observed, eff.check);
    this.recordCondition(key, stored.generation, observed, wait, eff.check !== undefined);
    for (const k of d.indexes.dependentsOf(name)) d.enqueue(k);

    if (wait?.untilMs !== undefined) return { requeueAfterMs: Math.max(1, wait.untilMs - d.clock.now()) };
    // Stopped for an unhealthy restart: the exit is planned next (the restart backoff).
    if (actions.some((a) => a.type === "stop" && a.cause === "unhealthy-restart")) return { requeueAfterMs: 0 };
    return {};
  }

  private async reconcileDeleted(key: string, observed: ContainerState | undefined, signal: AbortSignal): Promise<ReconcileResult> {
    const d = this.deps;
    await this.monitors.stop(key);
    if (observed && ownedBy(observed.labels, key) && d.desired.keepsOrphansOf(observed.labels[LABELS.stack])) {
      // The desired state was lost (store/desired-store.ts): what is not known is not pruned
      // until its stack is applied again.
      this.observed.delete(key);
      return {};
    }
    const actions = planContainer(undefined, observed, d.clock.now(), {
      key,
      image: { present: false },
      restart: d.status.get(key, "Container").restart,
      dependencies: [],
      daemonStartedAtMs: d.daemonStartedAtMs,
    });
    for (const a of actions) {
      if (a.type === "stop") await d.runtime.containers.stop(observed!.id, { signal });
      if (a.type === "remove") {
        await d.runtime.containers.remove(observed!.id, { force: true });
        d.events.record("Normal", "Removed", key, a.reason);
      }
    }
    const stack = this.terminating.get(key)?.stack ?? observed?.labels[LABELS.stack];
    await this.networking.release(nameOfKey(key), stack);
    this.observed.delete(key);
    this.imageChecks.delete(key);
    this.terminating.delete(key);
    d.status.delete(key);
    this.intents.forget(key);
    for (const k of d.indexes.dependentsOf(nameOfKey(key))) d.enqueue(k);
    return {};
  }

  private async syncMonitor(key: string, obj: ContainerObject, observed: ContainerState | undefined, check: ContainerObject["spec"]["healthcheck"]) {
    const running = observed?.status === "running" && observed.startedAt !== undefined;
    const run =
      running && check
        ? {
            containerId: observed.id,
            startedAt: observed.startedAt!,
            check,
            target: probeTarget(observed, obj, this.deps.status.get(key, "Container").net),
          }
        : undefined;
    if (await this.monitors.sync(key, run)) {
      const runStartedAtMs = Date.parse(run!.startedAt);
      this.deps.status.update(key, "Container", (s) => void (s.health = { status: "starting", log: [], runStartedAtMs }));
    }
  }

  private recordCondition(key: string, generation: number, observed: ContainerState | undefined, wait: Extract<Action, { type: "wait" }> | undefined, hasCheck: boolean) {
    const d = this.deps;
    const prev = d.status.get(key, "Container");
    const cond = containerCondition({ wait, observed, hasCheck, health: this.monitors.health(key, observed), now: d.clock.now() });
    const next = d.status.update(key, "Container", (s) => {
      delete s.reason;
      delete s.message;
      delete s.nextRestartAtMs;
      Object.assign(s, cond);
      s.observedGeneration = generation;
    });
    if (next.reason !== prev.reason && next.reason && next.message) {
      const warning = next.failed || next.reason === "CrashLoopBackOff";
      d.events.record(warning ? "Warning" : "Normal", next.reason === "CrashLoopBackOff" ? "BackOff" : next.reason, key, next.message);
    }
  }

  private onHealthTransition(key: string, t: HealthTransition, log: HealthLogEntry[], runStartedAtMs: number) {
    this.deps.status.update(key, "Container", (s) => void (s.health = { status: t.to, log, runStartedAtMs }));
    const last = t.output.trim().split("\n").pop() ?? "";
    const reason = t.to === "healthy" ? "Healthy" : t.to === "unhealthy" ? "Unhealthy" : "HealthStarting";
    this.deps.events.record(t.to === "unhealthy" ? "Warning" : "Normal", reason, key, `health ${t.from} → ${t.to}${last ? `: ${last.slice(0, 200)}` : ""}`);
    this.deps.enqueue(key);
  }

  /** The wait for the first declared network or volume of `obj` that is not ready; undefined when all are. */
  private prerequisiteWait(obj: ContainerObject, stack: string): Extract<Action, { type: "wait" }> | undefined {
    const d = this.deps;
    const plan = networkPlanOf(obj, stack);
    const declared = [
      ...(plan.mode === "bridge" ? plan.networks.map((n) => ({ key: keyOf("Network", n.name), kind: "Network" as const, name: n.name, what: "network" })) : []),
      ...obj.spec.mounts.flatMap((m) => (m.type === "volume" && m.source ? [{ key: keyOf("Volume", m.source), kind: "Volume" as const, name: m.source, what: "volume" }] : [])),
    ];
    for (const p of declared) {
      if (!d.desired.get(p.key)) continue; // not declared: implicit (made on demand) or refused by the create
      const st = d.status.get(p.key, p.kind);
      if (!st.ready) return { type: "wait", reason: `waits for ${p.what} ${p.name}${st.message ? `: ${st.message}` : " to be ready"}` };
    }
    return undefined;
  }

  /** What a dependent's `dependsOn` entry judges about container `name`. */
  dependencyState(name: string): DependencyState {
    const key = `container/${name}`;
    const stored = this.deps.desired.get(key);
    if (!stored) return { declared: false, status: "absent", hasHealthcheck: false, restartPending: false };
    const obs = this.observed.get(key);
    const st = this.deps.status.get(key, "Container");
    const eff = effectiveCheckOf(stored.object as ContainerObject, this.deps.indexes, this.imageChecks.get(key));
    const health = this.monitors.health(key, obs)?.status;
    const dep: DependencyState = {
      declared: true,
      status: obs ? obs.status : "absent",
      hasHealthcheck: eff.check !== undefined,
      restartPending: st.nextRestartAtMs !== undefined,
      restartsWhenUnhealthy: eff.onUnhealthy === "restart",
    };
    if (obs?.exitCode !== undefined) dep.exitCode = obs.exitCode;
    if (obs?.startedAt) dep.startedAtMs = Date.parse(obs.startedAt);
    if (health) dep.health = health;
    if (st.failed && st.message) dep.failure = st.message;
    return dep;
  }

  // ------------------------------------------------------------------ for the API facade

  /** A deleted container stays visible (reason Terminating) until its runtime container is gone. */
  markTerminating(s: StoredObject | undefined): void {
    if (s?.kind === "Container" && this.observed.has(s.key)) this.terminating.set(s.key, s);
  }

  terminatingObjects(): StoredObject[] {
    return [...this.terminating.values()].filter((s) => !this.deps.desired.get(s.key));
  }

  terminatingObject(key: string): StoredObject | undefined {
    return this.deps.desired.get(key) ? undefined : this.terminating.get(key);
  }

  /** Records a user action and resolves once it was carried out (or `signal` / the timeout ends the wait). */
  async act(key: string, action: UserAction, signal: AbortSignal): Promise<void> {
    const intent = await this.intents.record(key, action);
    const waited = this.intents.wait(key, intent, signal, this.init.intentTimeoutMs);
    this.deps.enqueue(key);
    await waited;
  }

  /** The user's pending action cannot be carried out (a terminal error): stop waiting for it. */
  abandonIntent(key: string): void {
    const intent = this.deps.status.get(key, "Container").intent;
    if (intent) this.intents.settle(key, intent);
  }

  statusView(s: StoredObject): ContainerStatusView {
    const obs = this.observed.get(s.key);
    const terminating = !this.deps.desired.get(s.key);
    return containerStatusView({
      record: this.deps.status.get(s.key, "Container"),
      observed: obs,
      health: this.monitors.health(s.key, obs),
      hasCheck: !terminating && effectiveCheckOf(s.object as ContainerObject, this.deps.indexes, this.imageChecks.get(s.key)).check !== undefined,
      terminating,
    });
  }

  async stop(): Promise<void> {
    await this.monitors.stopAll();
  }
}


/**
 * Where http/tcp probes go. On a bridge network: the container's own address, from the host
 * (as the kubelet probes a pod's IP; no process per probe). Otherwise 127.0.0.1 of its
 * network: the host's with networkMode host, else inside its namespace (entered through its
 * pid: none, and container:<name>).
 */
function probeTarget(observed: ContainerState, obj: ContainerObject, net: { mode: string; attachments: { address: string }[] } | undefined) {
  const own = net?.mode === "bridge" ? net.attachments[0]?.address.split("/")[0] : undefined;
  if (own) return { container: observed.id, host: own };
  return { container: observed.id, host: "127.0.0.1", ...(obj.spec.networkMode !== "host" && observed.pid ? { netnsPid: observed.pid } : {}) };
}
