/**
 * Implementations of ConcurrencyLimiter (types.ts): none, and a FIFO semaphore. Enough for
 * bounding concurrent probes or reconciles; `p-queue` would also satisfy the interface if
 * priorities or rate limits are ever needed.
 */
import type { ConcurrencyLimiter } from "./types.js";

/** Runs everything at once. */
export const noConcurrencyLimit: ConcurrencyLimiter = {
  run(fn, signal) {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return fn();
  },
};

/**
 * At most `limit` tasks run at once; the others wait in arrival order. A waiter whose signal
 * aborts leaves the line and rejects with the signal's reason. A slot is released when the
 * task settles, whether it resolved or rejected.
 */
export class Semaphore implements ConcurrencyLimiter {
  private active = 0;
  private readonly line: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`semaphore limit must be at least 1, got ${limit}`);
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.active--;
      this.line.shift()?.();
    }
  }

  /** Tasks running now. */
  running(): number {
    return this.active;
  }

  /** Tasks waiting for a slot. */
  waiting(): number {
    return this.line.length;
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        this.active++;
        resolve();
      };
      const onAbort = () => {
        const i = this.line.indexOf(grant);
        if (i >= 0) this.line.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.line.push(grant);
    });
  }
}
