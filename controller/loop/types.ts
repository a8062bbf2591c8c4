/**
 * Interfaces of the generic reconcile driver (controller-runtime's manager and
 * `reconcile.Reconciler`): the reconciler contract, its result, and the work queue's helpers
 * (rate limiter, concurrency limiter). Implementations sit one per file beside this one.
 */
import type { Logger } from "pino";
import type { Kind } from "../../schemas/index.js";

/** What a reconcile gets besides its key. */
export interface ReconcileContext {
  /** Aborted when the controller stops: every wait inside a reconcile must honour it. */
  signal: AbortSignal;
  /** A child logger carrying `{kind, name, reconcileId}` (STYLE #11). */
  log: Logger;
}

/**
 * The outcome of a successful reconcile. `requeueAfterMs`: reconcile the same key again after
 * that long (a restart backoff, a resource still in use); absent: only when something
 * enqueues it (an event, a change, the periodic resync). Never requeue by side effect: a
 * reconciler returns this instead of adding its own key to the queue.
 */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * One reconciler per kind, level-based (STYLE #1): `reconcile` re-reads the desired object
 * and the observed state itself, so missed or duplicated events cannot cause wrong results.
 * Errors: a thrown `TerminalError` (or an InvalidArgument / NotImplemented BerthError) is
 * surfaced on the object's status and not retried until the object is enqueued again;
 * anything else thrown is retried with the key's rate-limited backoff. The driver never runs
 * two reconciles of one key at once.
 */
export interface Reconciler {
  readonly kind: Kind;
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult>;
}

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
