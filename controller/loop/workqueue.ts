/**
 * A keyed work queue with controller-runtime (client-go `workqueue`) semantics.
 *
 * Contract:
 * - Keys, not events (STYLE #1): adding a key that is already queued is a no-op (dedup).
 * - A key is handed to at most one worker at a time. A key added while a worker holds it
 *   (between `get` and `done`) is not handed out again until `done(key)`; it then runs
 *   exactly once more, however many times it was added meanwhile.
 * - Keys are handed out in the order they became ready (FIFO), a lower `priorityOf` first
 *   (default: all equal). The controller puts what others wait for first — networks,
 *   volumes, images, containers nothing of theirs waits on — so that a burst of work (an
 *   apply of a whole stack) does the path to running first.
 * - `addAfter(key, ms)` adds the key after `ms` on the injected Clock; when the key already
 *   waits, the earlier ready time wins. `addRateLimited(key)` is `addAfter` with the rate
 *   limiter's per-key exponential delay; `forget(key)` resets it (call it after a
 *   successful reconcile).
 * - `get(signal)` resolves with the next key, waiting while none is ready; waiting getters
 *   are served first come, first served. It rejects with the signal's reason when aborted,
 *   and with an Unavailable error once the queue is shut down.
 * - `shutDown()` is final and idempotent: pending delayed adds are dropped, waiting getters
 *   are rejected, later adds are ignored and later `get`s reject. Keys still queued are
 *   dropped too: the desired state is persisted and everything is queued again at start
 *   (level-based), so nothing is lost. `done` keeps working so workers can finish.
 *
 * Keys compare with SameValueZero (Map/Set): use strings such as `container/web`.
 * Single-threaded (the event loop); no method blocks.
 */
import type { Clock } from "../../lib/clock.js";
import { unavailable } from "../../lib/errors.js";
import { ExponentialRateLimiter, defaultExponentialRateLimiterOptions } from "./rate-limiter.js";
import type { RateLimiter } from "./types.js";

export interface WorkQueueOptions<K> {
  /** Per-key retry delays of `addRateLimited`; default: exponential 5ms → 1000s. */
  rateLimiter: RateLimiter<K>;
  /** Order among ready keys: lower first, FIFO within one; read when a key becomes ready. */
  priorityOf?: (key: K) => number;
}

export function defaultWorkQueueOptions<K>(): WorkQueueOptions<K> {
  return { rateLimiter: new ExponentialRateLimiter<K>(defaultExponentialRateLimiterOptions()) };
}

interface Waiter<K> {
  resolve(key: K): void;
  reject(err: unknown): void;
}

export class WorkQueue<K> {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter<K>;
  /** Ready keys, in order. Invariant: every key in `queue` is in `dirty` and not in `processing`. */
  private readonly queue: K[] = [];
  /** Keys that need processing (queued, or re-added while processing). */
  private readonly dirty = new Set<K>();
  /** Keys held by a worker. */
  private readonly processing = new Set<K>();
  /** Delayed adds: when the key becomes ready, and how to cancel its timer. */
  private readonly waiting = new Map<K, { readyAt: number; cancel: () => void }>();
  private readonly waiters: Waiter<K>[] = [];
  /** The priority of each key in `queue`, as it was when queued. */
  private readonly priorities = new Map<K, number>();
  private readonly priorityOf: ((key: K) => number) | undefined;
  private shuttingDown = false;

  constructor(clock: Clock, options: Partial<WorkQueueOptions<K>> = {}) {
    this.clock = clock;
    this.rateLimiter = options.rateLimiter ?? defaultWorkQueueOptions<K>().rateLimiter;
    this.priorityOf = options.priorityOf;
  }

  /** Marks `key` as needing processing now. */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // handed out again by done()
    this.push(key);
    this.dispatch();
  }

  /** Adds `key` after `ms` (now when `ms` <= 0). An earlier pending ready time is kept. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      existing.cancel();
    }
    const cancel = this.clock.setTimer(ms, () => {
      this.waiting.delete(key);
      this.add(key);
    });
    this.waiting.set(key, { readyAt, cancel });
  }

  /** Adds `key` after its per-key exponential delay (one more counted failure). */
  addRateLimited(key: K): void {
    if (this.shuttingDown) return;
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets the failure count of `key` (does not remove it from the queue). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  /** Failures of `key` counted by `addRateLimited` since the last `forget`. */
  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Resolves with the next ready key, which the caller owns until `done(key)`. */
  get(signal?: AbortSignal): Promise<K> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.shuttingDown) return Promise.reject(shutDownError());
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key.value);
    return new Promise<K>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter<K> = {
        resolve: (k) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(k);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Releases `key` after processing; when it was added meanwhile it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.push(key);
      this.dispatch();
    }
  }

  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const w of this.waiting.values()) w.cancel();
    this.waiting.clear();
    this.queue.length = 0;
    this.priorities.clear();
    for (const key of this.dirty) if (!this.processing.has(key)) this.dirty.delete(key);
    const err = shutDownError();
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys ready to be handed out. */
  len(): number {
    return this.queue.length;
  }

  /** Keys held by workers. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting for a delayed add. */
  delayed(): number {
    return this.waiting.size;
  }

  /** Queues a ready key behind those of its priority and lower. */
  private push(key: K): void {
    if (!this.priorityOf) {
      this.queue.push(key);
      return;
    }
    const p = this.priorityOf(key);
    this.priorities.set(key, p);
    let i = this.queue.length;
    while (i > 0 && this.priorities.get(this.queue[i - 1]!)! > p) i--;
    this.queue.splice(i, 0, key);
  }

  /** Hands ready keys to waiting getters, first come first served. */
  private dispatch(): void {
    while (this.waiters.length > 0) {
      const key = this.take();
      if (key === undefined) return;
      this.waiters.shift()!.resolve(key.value);
    }
  }

  /** Moves the next ready key to `processing`; boxed so that falsy keys work. */
  private take(): { value: K } | undefined {
    if (this.queue.length === 0) return undefined;
    const key = this.queue.shift()!;
    this.priorities.delete(key);
    this.dirty.delete(key);
    this.processing.add(key);
    return { value: key };
  }
}

function shutDownError() {
  return unavailable("get work item: queue is shut down");
}
