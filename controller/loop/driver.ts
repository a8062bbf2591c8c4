/**
 * The generic reconcile driver (controller-runtime's controller): a keyed work queue, a fixed
 * number of workers, and one registered Reconciler per kind.
 *
 * Contract:
 * - `enqueue(key)` / `enqueueAfter(key, ms)`: the work queue's dedup and one-worker-per-key
 *   rules hold (workqueue.ts). Keys are `kind/name`; a key of an unregistered kind is logged
 *   and dropped.
 * - A reconcile that returns `{requeueAfterMs}` is enqueued again after that long; one that
 *   returns normally has its retry backoff forgotten. One that throws a terminal error
 *   (`isTerminal`: TerminalError, InvalidArgument, NotImplemented) is reported through
 *   `onError(key, err, true)` and not retried; any other error is reported through
 *   `onError(key, err, false)` and retried with the key's rate-limited backoff. `onError`
 *   must not throw (what it throws is logged).
 * - `stop()` shuts the queue down, aborts the signal every reconcile was given (so no wait
 *   inside one — a stop grace period, a backoff — outlives it), and resolves once every
 *   running reconcile has settled. Keys still queued are dropped: the desired state is
 *   persisted, and the next start enqueues everything again.
 * - `idle()` resolves when no key is queued or being reconciled (delayed keys do not count).
 */
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock.js";
import { isBerthError, TerminalError } from "../../lib/errors.js";
import { kindOfKey, nameOfKey } from "../store/keys.js";
import type { Reconciler } from "./types.js";
import { WorkQueue } from "./workqueue.js";

export interface ReconcileLoopOptions {
  /** Reconciles running at once (workers). */
  concurrency: number;
}

export function defaultReconcileLoopOptions(): ReconcileLoopOptions {
  return { concurrency: 4 };
}

export interface ReconcileLoopInit {
  clock: Clock;
  logger: Logger;
  options?: Partial<ReconcileLoopOptions>;
  /** A failed reconcile, terminal or to be retried: surface it on the object's status. */
  onError(key: string, err: unknown, terminal: boolean): void;
  /** The work queue's order among ready keys (lower first). */
  priorityOf?: (key: string) => number;
}

/** Errors that no retry can fix: they wait for a change of the object. */
export function isTerminal(err: unknown): boolean {
  return err instanceof TerminalError || isBerthError(err, "NotImplemented") || isBerthError(err, "InvalidArgument");
}

export class ReconcileLoop {
  private readonly queue: WorkQueue<string>;
  private readonly reconcilers = new Map<string, Reconciler>();
  private readonly stopping = new AbortController();
  private readonly options: ReconcileLoopOptions;
  private workers: Promise<void>[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private reconcileSeq = 0;

  constructor(private readonly init: ReconcileLoopInit) {
    this.queue = new WorkQueue<string>(init.clock, init.priorityOf ? { priorityOf: init.priorityOf } : {});
    this.options = { ...defaultReconcileLoopOptions(), ...init.options };
  }

  /** Aborted by `stop()`. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  register(reconciler: Reconciler): void {
    this.reconcilers.set(reconciler.kind, reconciler);
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  start(): void {
    for (let i = 0; i < this.options.concurrency; i++) this.workers.push(this.work());
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error("controller stopping"));
    this.queue.shutDown();
    await Promise.allSettled(this.workers);
  }

  /** True while a key is queued or being reconciled (what `idle()` waits out). */
  busy(): boolean {
    return this.queue.len() > 0 || this.running > 0;
  }

  async idle(): Promise<void> {
    while (this.queue.len() > 0 || this.running > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private async work(): Promise<void> {
    for (;;) {
      let key: string;
      try {
        key = await this.queue.get(this.stopping.signal);
      } catch {
        return; // shut down
      }
      this.running++;
      try {
        await this.reconcileOne(key);
      } finally {
        this.running--;
        this.queue.done(key);
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private async reconcileOne(key: string): Promise<void> {
    const kind = kindOfKey(key);
    const reconciler = kind && this.reconcilers.get(kind);
    const log = this.init.logger.child({ kind, name: nameOfKey(key), reconcileId: ++this.reconcileSeq });
    if (!reconciler) {
      log.warn({ key }, "no reconciler for this key; dropped");
      return;
    }
    try {
      const result = await reconciler.reconcile(key, { signal: this.stopping.signal, log });
      this.queue.forget(key);
      if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, Math.max(0, result.requeueAfterMs));
    } catch (err) {
      if (this.stopping.signal.aborted) return; // cut short by stop(): the next start reconciles it again
      const terminal = isTerminal(err);
      try {
        this.init.onError(key, err, terminal);
      } catch (e) {
        log.error({ err: e }, "reporting a reconcile error failed");
      }
      if (terminal) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, "reconcile failed; waiting for a change");
      } else {
        // A wait the object's status names (a network or volume not ready yet) is no error.
        if (isBerthError(err, "FailedPrecondition")) log.info({ err: err.message }, "waiting; will retry");
        else log.error({ err }, "reconcile failed; will retry");
        this.queue.addRateLimited(key);
      }
    }
  }
}
