/**
 * Carries out the planner's actions (types.ts `Action`) on the runtime, with the
 * bookkeeping each one implies on the container's status record (restart record, user
 * stops, health) and one event per action. Nothing here decides: which action, and for
 * whom (`StartedBy`), is the planner's.
 *
 * Every method takes the reconcile's AbortSignal; a stop waiting out its grace period ends
 * when the controller stops (the next daemon re-plans from what it finds).
 */
import { isBerthError, failedPrecondition } from "../../../lib/errors.js";
import type { ContainerState } from "../../../runtime/types.js";
import type { MonitorManager } from "../../health/monitor-manager.js";
import { LABELS } from "../../labels.js";
import type { ContainerObject } from "../../manifests/model.js";
import { emptyRestartRecord } from "../../store/status-records.js";
import type { ReconcilerDeps } from "../context.js";
import { anonymousVolumeName, toCreateSpec } from "./container-spec.js";
import type { ContainerNetworking } from "./networking.js";
import type { Action } from "./types.js";

/** What the actions of one reconcile act on. */
export interface ActionTarget {
  key: string;
  stack: string;
  obj: ContainerObject;
  /** The spec hash to label a created container with. */
  specHash: string;
  envFiles: Record<string, { name: string; value: string }[]>;
  /** The image's EXPOSEd ports (publishAll). */
  exposed?: Record<string, unknown>;
  signal: AbortSignal;
}

export class ContainerLifecycle {
  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly monitors: MonitorManager,
    private readonly networking: ContainerNetworking,
  ) {}

  /** Performs `a` on `observed` (the container as last seen) and returns the container as it is after. */
  async perform(a: Action, observed: ContainerState | undefined, t: ActionTarget): Promise<ContainerState | undefined> {
    switch (a.type) {
      case "create":
        return this.create(t, "created");
      case "start":
        return this.start(a, observed!, t);
      case "stop":
        return this.stop(a, observed, t);
      case "remove":
        if (observed) await this.deps.runtime.containers.remove(observed.id, { force: true });
        return undefined;
      case "recreate": {
        if (observed) {
          await this.monitors.stop(t.key);
          if (observed.status === "running") await this.deps.runtime.containers.stop(observed.id, { signal: t.signal });
          await this.deps.runtime.containers.remove(observed.id, { force: true });
        }
        const created = await this.create(t, a.reason);
        return a.start ? this.start({ type: "start", by: "create", reason: "container was recreated" }, created, t) : created;
      }
      case "wait":
        return observed;
    }
  }

  private async create(t: ActionTarget, why: string): Promise<ContainerState> {
    await this.ensureVolumes(t.obj, t.stack);
    const network = await this.networking.prepare(t.obj, t.stack);
    // Published before the create (to the address just reserved): a host port in use fails
    // here, before anything exists, and is retried with backoff. Attached at start.
    await this.networking.syncPorts(t.obj, t.stack, t.exposed);
    const created = await this.deps.runtime.containers.create(toCreateSpec(t.obj, { stack: t.stack, specHash: t.specHash, envFiles: t.envFiles, network }));
    this.deps.status.update(t.key, "Container", (s) => {
      s.restart = emptyRestartRecord();
      delete s.health;
      delete s.nextRestartAtMs;
      delete s.lastRestartAtMs;
    });
    const short = created.id.slice(0, 12);
    if (why === "created") this.deps.events.record("Normal", "Created", t.key, `created container ${short}`);
    else this.deps.events.record("Normal", "Recreated", t.key, `${why}: recreated as ${short}`);
    return created;
  }

  private async start(a: Extract<Action, { type: "start" }>, observed: ContainerState, t: ActionTarget): Promise<ContainerState> {
    const now = this.deps.clock.now();
    const st = this.deps.status.update(t.key, "Container", (s) => {
      if (a.by === "policy") {
        s.restart.restartCount += 1;
        s.restart.retries += 1;
        s.restart.lastBackoffMs = a.delayMs;
        s.lastRestartAtMs = now;
      } else if (a.by === "user" || a.by === "dependency") {
        // A fresh restart manager, as `docker start` makes one: the count shown is kept.
        s.restart.retries = 0;
        s.restart.lastBackoffMs = 0;
        s.failed = false;
      }
      delete s.restart.lastStop;
    });
    // What a reboot or a crash took from its network is made again before it runs.
    await this.networking.attach(t.obj, t.stack, observed);
    // A client waiting to attach (berth run -it) is connected before the process runs.
    const beforeRun = this.deps.startAttachments.beforeRunOf(t.obj.metadata.name);
    const rt = this.deps.runtime.containers;
    const started = await (beforeRun ? rt.start(observed.id, { beforeRun }) : rt.start(observed.id));
    this.deps.status.update(t.key, "Container", (s) => {
      delete s.nextRestartAtMs;
      delete s.health;
    });
    if (a.by === "policy") this.deps.events.record("Normal", "Restarted", t.key, `restarted (restart ${st.restart.restartCount})`);
    else if (a.by === "user") this.deps.events.record("Normal", "Started", t.key, `started by the user, pid ${started.pid ?? "?"}`);
    else if (a.by === "dependency") this.deps.events.record("Normal", "Restarted", t.key, `${a.reason}, pid ${started.pid ?? "?"}`);
    else this.deps.events.record("Normal", "Started", t.key, `started, pid ${started.pid ?? "?"}`);
    return started;
  }

  private async stop(a: Extract<Action, { type: "stop" }>, observed: ContainerState | undefined, t: ActionTarget): Promise<ContainerState | undefined> {
    const cause = a.cause;
    if (cause && cause !== "restart" && cause !== "dependency-restart") {
      const atMs = this.deps.clock.now();
      this.deps.status.update(t.key, "Container", (s) => {
        s.restart.lastStop = { cause, atMs };
        if (cause === "user") delete s.nextRestartAtMs;
      });
    }
    await this.monitors.stop(t.key);
    const running = observed?.status === "running";
    const after = running ? await this.deps.runtime.containers.stop(observed.id, { signal: t.signal }) : observed;
    if (cause === "user") this.deps.events.record("Normal", "Stopped", t.key, running ? "stopped by the user" : "stopped by the user (it was not running): it will not be restarted");
    else if (cause === "restart") this.deps.events.record("Normal", "Stopped", t.key, "stopped by the user to restart it");
    else if (cause === "dependency-restart") this.deps.events.record("Normal", "Stopped", t.key, `${a.reason}: stopped to restart it`);
    else if (cause) this.deps.events.record("Warning", cause.startsWith("unhealthy") ? "Unhealthy" : "Killing", t.key, a.reason);
    return after;
  }

  /** Named volumes the container mounts: a declared one must be ready; an undeclared one is created (as `docker run -v name:/path`). */
  private async ensureVolumes(obj: ContainerObject, stack: string): Promise<void> {
    for (const m of obj.spec.mounts) {
      if (m.type !== "volume") continue;
      const volName = m.source ?? anonymousVolumeName(obj.metadata.name, m.target);
      const declared = this.deps.desired.get(`volume/${volName}`);
      if (declared) {
        const vs = this.deps.status.get(declared.key, "Volume");
        if (!vs.ready) throw failedPrecondition(`create container ${obj.metadata.name}: volume ${volName} is not ready${vs.message ? `: ${vs.message}` : ""}`);
        continue;
      }
      try {
        await this.deps.runtime.volumes.inspect(volName);
      } catch (err) {
        if (!isBerthError(err, "NotFound")) throw err;
        await this.deps.runtime.volumes.create(volName, { labels: { [LABELS.stack]: stack } });
      }
    }
  }
}
