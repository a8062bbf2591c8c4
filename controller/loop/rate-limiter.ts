/**
 * Per-key exponential retry delays for the work queue (controller-runtime's
 * `ItemExponentialFailureRateLimiter`, defaults 5ms doubling to 1000s). It only counts:
 * nothing here waits, so it needs no clock. It is the reconcile-error backoff, kept apart
 * from a container's restart backoff (restart-policy.ts, STYLE #7).
 *
 * controller-runtime's default limiter also applies an overall token bucket (10 qps, burst
 * 100); berth runs on one host with few objects, so only the per-key part is implemented.
 */
import type { RateLimiter } from "./types.js";

export interface ExponentialRateLimiterOptions {
  /** Delay after the first failure. */
  baseDelayMs: number;
  /** Upper bound of any delay. */
  maxDelayMs: number;
}

export function defaultExponentialRateLimiterOptions(): ExponentialRateLimiterOptions {
  return { baseDelayMs: 5, maxDelayMs: 1_000_000 };
}

/** delay(n) = base · 2^n for the n-th failure (n from 0), capped at max. */
export class ExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  private readonly options: ExponentialRateLimiterOptions;

  constructor(options: Partial<ExponentialRateLimiterOptions> = {}) {
    this.options = { ...defaultExponentialRateLimiterOptions(), ...options };
  }

  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity for large n; min() then yields the cap.
    const delay = this.options.baseDelayMs * Math.pow(2, n);
    return Math.min(delay, this.options.maxDelayMs);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}
