/**
 * Interfaces of the controller's core: the work queue's rate limiter, the concurrency
 * limiter, the planner's actions and inputs, restart bookkeeping, dependency readiness and
 * the desired store's records. Health interfaces live in controller/health/types.ts.
 *
 * Everything here is plain data or a small interface: implementations sit in one file per
 * concept beside this one.
 */
import type { Kind } from "../schemas/index.js";
import type { AnyObject, DependencyCondition } from "./manifests/model.js";

// ---------------------------------------------------------------------------- work queue

/**
 * Per-key retry delays of a work queue (controller-runtime's `RateLimiter`). Distinct from
 * the restart backoff of a crashing container (STYLE #7).
 */
export interface RateLimiter<K> {
  /** The delay before `key` may be retried; every call counts one more failure of `key`. */
  when(key: K): number;
  /** Forgets the failures of `key` (called after a successful reconcile). */
  forget(key: K): void;
  /** How many failures of `key` are counted now. */
  numRequeues(key: K): number;
}

/**
 * Bounds how many tasks run at once (a semaphore; `p-queue` would satisfy it). `run` calls
 * `fn` once a slot is free and resolves or rejects with its result. When `signal` aborts
 * before `fn` started, `run` rejects with the signal's reason and `fn` is never called.
 */
export interface ConcurrencyLimiter {
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

// ---------------------------------------------------------------------------- restarts

/**
 * Why berth stopped a container; persisted with the restart record so that the restart
 * decision after the exit knows the exit was intended.
 * - `user`: `berth stop`.
 * - `unhealthy-restart`: failing healthcheck with `onUnhealthy: restart`; restarted through
 *   the restart backoff.
 * - `unhealthy-stop`: failing healthcheck with `onUnhealthy: stop`; stays stopped.
 */
export type StopCause = "user" | "unhealthy-restart" | "unhealthy-stop";

/**
 * The restart bookkeeping of one desired container, kept by its reconciler (persisted with
 * its status). Lifecycle: reset to `emptyRestartRecord()` when the container is (re)created
 * and when the user starts it; `restartCount` +1 and `lastBackoffMs` = the decision's
 * `delayMs` when the reconciler performs a policy restart; `lastStop` set when berth stops
 * it for a cause above and cleared when it is started again.
 */
export interface RestartRecord {
  /** Restarts performed by the restart policy since the last create or user start. */
  restartCount: number;
  /** The backoff delay used for the last restart; 0 when none (the next one is `initialMs`). */
  lastBackoffMs: number;
  lastStop?: { cause: StopCause; atMs: number };
}

export function emptyRestartRecord(): RestartRecord {
  return { restartCount: 0, lastBackoffMs: 0 };
}

// ---------------------------------------------------------------------------- dependencies

/**
 * What the planner needs to know about one dependency (another Container) to judge a
 * `dependsOn` condition. Built by the reconciler from the dependency's observed state, its
 * health and its own status.
 */
export interface DependencyState {
  /** False when no desired object of that name exists. */
  declared: boolean;
  /** Runtime status; `absent` when no container exists (yet). */
  status: "absent" | "created" | "running" | "exited" | "unknown";
  exitCode?: number;
  /** Whether the dependency has a healthcheck (its own or an attached HealthCheck). */
  hasHealthcheck: boolean;
  /** Current health of the running dependency, when it has a healthcheck. */
  health?: "starting" | "healthy" | "unhealthy";
  /** True when its restart policy will start it again (it exited and a restart is pending). */
  restartPending: boolean;
  /**
   * Set when the dependency itself is failed: failing to start, its restart policy gave up,
   * or its own dependencies failed. The text says why.
   */
  failure?: string;
}

/** The verdict on one `dependsOn` entry. */
export interface DependencyReadiness {
  name: string;
  condition: DependencyCondition;
  /** The condition holds: the dependent may be started. */
  satisfied: boolean;
  /** The condition cannot hold without a change (reported as a failure on the dependent). */
  failed: boolean;
  /** Human text naming the dependency, e.g. `db is not healthy yet (starting)`. */
  reason: string;
}

// ---------------------------------------------------------------------------- plan

/**
 * What the container reconciler should do next, as data with a human reason (kubelet
 * `computePodActions`). The list is ordered; the reconciler performs the actions in order
 * and re-plans after any failure (the plan is level-based and cheap).
 */
export type Action =
  /** The image is not present: pull it (or build/import through its Image), then re-plan. */
  | { type: "pull"; image: string; reason: string }
  | { type: "create"; reason: string }
  | { type: "start"; reason: string }
  /** `cause` is recorded in the restart record when set (see StopCause). */
  | { type: "stop"; cause?: StopCause; reason: string }
  | { type: "remove"; reason: string }
  /** Stop (if running) → remove → create, then start when `start` is true. */
  | { type: "recreate"; start: boolean; reason: string }
  /**
   * Nothing to do yet. `untilMs`: re-plan at that time (restart backoff); absent: re-plan on
   * the next change (a dependency's event). `failed`: the container cannot make progress
   * without a change (shown as a failure on its status). `dependency`: the blocking one.
   */
  | { type: "wait"; reason: string; untilMs?: number; failed?: boolean; dependency?: string };

export type ActionType = Action["type"];

// ---------------------------------------------------------------------------- desired store

/** One desired object as the store keeps it. */
export interface StoredObject {
  /** `container/web` (objectKey). */
  key: string;
  kind: Kind;
  name: string;
  /** The stack that applied it; prune only touches objects of that stack. */
  stack: string;
  /** 1 when created, +1 on every change of metadata or spec. */
  generation: number;
  /** The normalized object. */
  object: AnyObject;
  /** ISO times of the first apply and of the last change. */
  createdAt: string;
  updatedAt: string;
}

export type ChangeAction = "created" | "configured" | "unchanged" | "deleted";

/** One line of a ChangeSet: `container/web configured` (Flux `ssa.ChangeSetEntry`). */
export interface ChangeSetEntry {
  key: string;
  kind: Kind;
  name: string;
  stack: string;
  action: ChangeAction;
  /** The generation after the change (of the removed object for `deleted`). */
  generation: number;
}

export interface ChangeSet {
  entries: ChangeSetEntry[];
  /** True when nothing was written (a dry run). */
  dryRun: boolean;
}
