import type { Clock } from "../../lib/clock.js";

export interface DebounceOptions {
  /** Fire once nothing was triggered for this long. */
  quietMs: number;
  /** ... but at the latest this long after the first trigger of a burst. */
  maxWaitMs: number;
}

export function defaultDebounceOptions(): DebounceOptions {
  return { quietMs: 300, maxWaitMs: 2_000 };
}

/**
 * Coalesces bursts of triggers into one call: `fn` runs `quietMs` after the last trigger, or
 * `maxWaitMs` after the first one of the burst if triggers keep coming (a long `git checkout`
 * still converges). A trigger after the call starts a new burst. Timers are the Clock's, so a
 * manual clock drives it in tests. `fn` must not throw (its errors are its own to handle).
 */
export class Debouncer {
  private cancelQuiet: (() => void) | undefined;
  private cancelMax: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
    private readonly options: DebounceOptions = defaultDebounceOptions(),
  ) {}

  trigger(): void {
    this.cancelQuiet?.();
    this.cancelQuiet = this.clock.setTimer(this.options.quietMs, () => this.fire());
    this.cancelMax ??= this.clock.setTimer(this.options.maxWaitMs, () => this.fire());
  }

  /** True while a burst waits to fire. */
  pending(): boolean {
    return this.cancelQuiet !== undefined;
  }

  /** Drops a waiting burst without firing it. */
  cancel(): void {
    this.cancelQuiet?.();
    this.cancelMax?.();
    this.cancelQuiet = this.cancelMax = undefined;
  }

  private fire() {
    this.cancel();
    this.fn();
  }
}
