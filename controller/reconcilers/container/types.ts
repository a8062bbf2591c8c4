/**
 * The container planner's vocabulary: its actions and its inputs besides the desired spec
 * and the observed runtime state. Restart bookkeeping and user intents are persisted with the
 * container's status (store/status-records.ts) and re-exported here.
 */
import type { HealthStatus } from "../../health/types.js";
import type { DependencyReadiness } from "../../dependencies.js";
import type { OnUnhealthy } from "../../manifests/model.js";
import type { RestartRecord, StopCause, UserAction } from "../../store/status-records.js";

export { emptyRestartRecord, type RestartRecord, type StopCause, type UserAction } from "../../store/status-records.js";

/** Whether the image a container names can be used, and who is to provide it when not. */
export type ImageAvailability =
  | { present: true; digest: string }
  | {
      present: false;
      /** The desired Image object whose `reference` is this image, if any, and its condition. */
      provider?: { key: string; failed: boolean; message?: string };
    };

/** Everything the planner judges besides the desired spec, the observed container and the time. */
export interface PlanContext {
  /** The desired object's key, `container/web`: ownership is judged by it. */
  key: string;
  image: ImageAvailability;
  restart: RestartRecord;
  /** Health of the observed container's current run; undefined without a healthcheck. */
  health?: HealthStatus;
  /** Effective onUnhealthy (an attached HealthCheck may set it); default: the spec's. */
  onUnhealthy?: OnUnhealthy;
  /** Readiness of each `dependsOn` entry (dependencies.ts `readiness`). */
  dependencies: DependencyReadiness[];
  /** When the running daemon started (restart policy `always` after a user stop). */
  daemonStartedAtMs: number;
  /** A `berth stop|start|restart` not carried out yet. */
  intent?: UserAction;
}

/**
 * Who starts a container, which decides the bookkeeping and the event:
 * - `create`: its first start, or a created container's (`Started`);
 * - `policy`: the restart policy after an exit, `delayMs` being its backoff (`Restarted`,
 *   restartCount +1);
 * - `user`: `berth start|restart` (`Started` by the user; restartCount kept, backoff reset).
 * - `dependency`: a `restart: true` dependency has a newer run (`Restarted`; bookkept as a
 *   user restart, as `compose restart` is a `docker restart`).
 */
export type StartedBy = { by: "create" } | { by: "policy"; delayMs: number } | { by: "user" } | { by: "dependency"; dependency: string };

/**
 * What the container reconciler should do next, as data with a human reason (kubelet
 * `computePodActions`). The list is ordered; the reconciler performs the actions in order
 * and re-plans after any failure (the plan is level-based and cheap).
 */
export type Action =
  | { type: "create"; reason: string }
  | ({ type: "start"; reason: string } & StartedBy)
  /**
   * Stop it when running; `cause` is recorded in the restart record (StopCause), and
   * `restart` marks the stop of a `berth restart` (recorded nowhere: the start follows).
   * A user stop of a container that is not running only records the cause.
   */
  | { type: "stop"; cause?: StopCause | "restart" | "dependency-restart"; reason: string }
  | { type: "remove"; reason: string }
  /** Stop (if running) → remove → create, then start when `start` is true. */
  | { type: "recreate"; start: boolean; reason: string }
  /**
   * Nothing to do yet. `untilMs`: re-plan at that time (restart backoff); absent: re-plan on
   * the next change (a dependency's or an image's). `failed`: the container cannot make
   * progress without a change (shown as a failure on its status). `dependency`: the
   * blocking container; `image`: the missing image.
   */
  | { type: "wait"; reason: string; untilMs?: number; failed?: boolean; dependency?: string; image?: string };

export type ActionType = Action["type"];
