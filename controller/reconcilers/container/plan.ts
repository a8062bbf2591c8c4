/**
 * The container planner (kubelet `computePodActions`): a pure function from the desired
 * container, the observed runtime container and the controller's bookkeeping to the
 * actions that move one towards the other. No I/O, no clock: `now` is an argument, and every
 * fact it judges is in its input (image availability, restart record, health, dependency
 * readiness, the user's pending action), so the reconciler only carries the actions out.
 *
 * Decisions, in order:
 * 1. Not desired: remove the container if berth owns it (stop first when running); a
 *    container berth does not own is never touched.
 * 2. The observed container of that name is not berth's: wait, failed (name conflict).
 * 3. A user action (`berth stop|start|restart`, ctx.intent), as Docker does them:
 *    - stop: stop it (signal, grace) and remember the stop (restart policies do not undo
 *      it, except `always` across a daemon restart: restart-policy.ts); a container that is
 *      not running only has the stop remembered — a pending restart is cancelled.
 *    - restart: stop it if running (nothing remembered), then start it, whatever its restart
 *      policy; restartCount is not increased.
 *    - start: start it (restartCount kept; the backoff starts over). A container that is
 *      missing or whose spec changed is planned as below, without the user stop.
 *    User starts do not wait for dependencies (neither does `docker start`).
 * 4. The image is not present (no spec hash can be computed): wait for it — for the Image
 *    object that provides it, or failed when none does (or it failed).
 * 5. Missing: create it, and start it once every dependency is satisfied — created at once,
 *    as Compose creates a project's containers before it starts them in dependency order,
 *    except while a dependency failed (a wait with `failed`, naming it) or when it shares
 *    another container's network (created once that one holds). A user-stopped container is
 *    only created.
 * 6. Spec hash differs from the `berth.spec-hash` label: recreate — after the dependencies
 *    are satisfied, keeping the old container meanwhile — and start it unless the user had
 *    stopped it.
 * 7. Created, not started: start once the dependencies are satisfied (not when user-stopped).
 * 8a. Running, and a `restart: true` dependency's current run started after this one's
 *    (it was recreated or restarted): stop and start it once every dependency is satisfied
 *    again (until then it keeps running). Not for a user-stopped container.
 * 8. Running and unhealthy (health of this run): `onUnhealthy: restart` stops it with
 *    cause `unhealthy-restart` — the restart then goes through the restart backoff like any
 *    exit (9) — unless on-failure's retries are used up (wait, failed); `stop` stops it
 *    with cause `unhealthy-stop`; `none` does nothing.
 * 9. Exited: restart-policy.ts decides; a restart waits until `finishedAt + backoff`
 *    (wait with `untilMs`), then starts with that backoff recorded. Restarts do not wait for
 *    dependencies (Docker restarts regardless of links/depends_on). Giving up is a failed wait.
 * 10. Unknown state: wait for the runtime to report.
 */
import type { ContainerState } from "../../../runtime/types.js";
import { LABELS, ownedBy } from "../../labels.js";
import type { ContainerSpec } from "../../manifests/model.js";
import type { DependencyReadiness } from "../../dependencies.js";
import { decideRestart, restartBudgetLeft, type ExitInfo } from "./restart-policy.js";
import type { Action, PlanContext } from "./types.js";

export type { PlanContext } from "./types.js";

export interface DesiredContainer {
  spec: ContainerSpec;
  /** spec-hash.ts of the effective spec; undefined while the image is not present. */
  specHash: string | undefined;
}

export function planContainer(desired: DesiredContainer | undefined, observed: ContainerState | undefined, now: number, ctx: PlanContext): Action[] {
  const name = ctx.key.slice(ctx.key.indexOf("/") + 1);

  if (!desired) {
    if (!observed || !ownedBy(observed.labels, ctx.key)) return [];
    const remove: Action = { type: "remove", reason: `${ctx.key} is no longer desired` };
    if (observed.status === "running") return [{ type: "stop", reason: `${ctx.key} is no longer desired` }, remove];
    return [remove];
  }

  if (observed && !ownedBy(observed.labels, ctx.key)) {
    return [{ type: "wait", failed: true, reason: `a container named ${name} exists that berth does not manage; remove or rename it` }];
  }

  const intent = ctx.intent;
  if (intent === "stop") return [{ type: "stop", cause: "user", reason: "stopped by the user" }];

  if (desired.specHash === undefined) return [imageWait(desired.spec.image, ctx)];

  const observedHash = observed?.labels[LABELS.specHash];
  const current = observed !== undefined && observedHash === desired.specHash && observed.status !== "unknown";
  if ((intent === "start" || intent === "restart") && current) {
    const start: Action = { type: "start", by: "user", reason: intent === "restart" ? "restarted by the user" : "started by the user" };
    if (observed.status === "running") return intent === "restart" ? [{ type: "stop", cause: "restart", reason: "restarting at the user's request" }, start] : [];
    return [start];
  }
  // A user start of a missing or changed container is planned as usual, without the user stop.
  const userStopped = intent === undefined && ctx.restart.lastStop?.cause === "user";
  const blocked = intent === undefined ? dependencyWait(ctx.dependencies) : undefined;

  if (!observed) {
    if (userStopped) return [{ type: "create", reason: "container does not exist (stopped by the user: not started)" }];
    // Created at once, started once its dependencies hold (Compose creates a project's
    // containers before it starts them in order): a create is then off the path from a
    // dependency's start to its dependent's. Not while a dependency failed, nor for one that
    // joins another's network namespace (that one must exist for the create).
    if (blocked && (blocked.failed || desired.spec.networkMode?.startsWith("container:"))) return [blocked];
    if (blocked) return [{ type: "create", reason: "container does not exist (its start waits for its dependencies)" }, blocked];
    return [
      { type: "create", reason: "container does not exist" },
      { type: "start", by: "create", reason: "container was created" },
    ];
  }

  if (observedHash !== desired.specHash) {
    const why = observedHash ? "spec changed" : "container has no spec hash";
    if (userStopped) return [{ type: "recreate", start: false, reason: `${why} (stopped by the user: not started)` }];
    if (blocked) return [{ ...blocked, reason: `${why}; recreate ${blocked.reason}` }];
    return [{ type: "recreate", start: true, reason: why }];
  }

  switch (observed.status) {
    case "created":
      if (userStopped) return [];
      if (blocked) return [blocked];
      return [{ type: "start", by: "create", reason: "container is created but not started" }];

    case "running": {
      const startedAtMs = observed.startedAt ? Date.parse(observed.startedAt) : undefined;
      const newer = intent === undefined && startedAtMs !== undefined ? ctx.dependencies.find((d) => d.runStartedAtMs !== undefined && d.runStartedAtMs > startedAtMs) : undefined;
      if (newer && !blocked) {
        const reason = `dependency ${newer.name} was restarted or recreated (restart: true)`;
        return [
          { type: "stop", cause: "dependency-restart", reason },
          { type: "start", by: "dependency", dependency: newer.name, reason },
        ];
      }
      if (ctx.health !== "unhealthy") return [];
      const onUnhealthy = ctx.onUnhealthy ?? desired.spec.onUnhealthy;
      if (onUnhealthy === "stop") return [{ type: "stop", cause: "unhealthy-stop", reason: "container is unhealthy (onUnhealthy: stop)" }];
      if (onUnhealthy === "none") return [];
      if (!restartBudgetLeft(desired.spec.restartPolicy, ctx.restart)) {
        const p = desired.spec.restartPolicy;
        return [{ type: "wait", failed: true, reason: `container is unhealthy; gave up after ${ctx.restart.retries} restarts (on-failure:${p.maxRetries})` }];
      }
      return [{ type: "stop", cause: "unhealthy-restart", reason: "container is unhealthy (onUnhealthy: restart)" }];
    }

    case "exited": {
      const d = decideRestart({
        policy: desired.spec.restartPolicy,
        exit: exitInfo(observed),
        record: ctx.restart,
        daemonStartedAtMs: ctx.daemonStartedAtMs,
      });
      if (!d.restart) return d.gaveUp ? [{ type: "wait", failed: true, reason: d.reason }] : [];
      if (now < d.notBeforeMs) return [{ type: "wait", untilMs: d.notBeforeMs, reason: `${d.reason} (in ${d.notBeforeMs - now}ms)` }];
      return [{ type: "start", by: "policy", delayMs: d.delayMs, reason: d.reason }];
    }

    case "unknown":
      return [{ type: "wait", reason: `container state is unknown${observed.reason ? ` (${observed.reason})` : ""}` }];
  }
}

/** The wait for a missing image: on its provider, or failed when nothing will provide it. */
function imageWait(image: string, ctx: PlanContext): Extract<Action, { type: "wait" }> {
  const provider = ctx.image.present ? undefined : ctx.image.provider;
  if (!provider) {
    return { type: "wait", failed: true, image, reason: `image ${image} is not present: declare an Image object that provides it, or load it with berth image load/import` };
  }
  if (provider.failed) return { type: "wait", failed: true, image, reason: `image ${image} (${provider.key}) failed: ${provider.message ?? "unknown"}` };
  return { type: "wait", image, reason: `waiting for ${provider.key} to provide ${image}` };
}

/** The wait for the first failed dependency, else the first unsatisfied one; undefined when all hold. */
export function dependencyWait(deps: readonly DependencyReadiness[]): Extract<Action, { type: "wait" }> | undefined {
  const failed = deps.find((d) => d.failed);
  if (failed) return { type: "wait", failed: true, dependency: failed.name, reason: `waits for ${failed.name} (${failed.condition}): ${failed.reason}` };
  const pending = deps.find((d) => !d.satisfied);
  if (pending) return { type: "wait", dependency: pending.name, reason: `waits for ${pending.name} (${pending.condition}): ${pending.reason}` };
  return undefined;
}

/** The exit facts of an exited container; missing timestamps fall back to earlier ones. */
export function exitInfo(observed: ContainerState): ExitInfo {
  const created = Date.parse(observed.createdAt);
  const startedAtMs = observed.startedAt ? Date.parse(observed.startedAt) : created;
  const finishedAtMs = observed.finishedAt ? Date.parse(observed.finishedAt) : startedAtMs;
  return { exitCode: observed.exitCode ?? -1, oomKilled: observed.oomKilled, startedAtMs, finishedAtMs };
}
