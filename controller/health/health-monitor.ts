/**
 * Probes one run of one container on the injected Clock and feeds the results through the
 * state machine (health-state.ts), like moby's per-container `monitor` goroutine.
 *
 * Contract:
 * - Lifecycle: `start()` schedules the first probe `nextProbeDelay` after now (construct it
 *   when the container starts, with that start time); `stop()` cancels the timer, aborts a
 *   running probe and resolves once that probe has settled; its result is discarded. Both
 *   are idempotent; a stopped monitor cannot be started again (make a new one for the next
 *   run: a new run starts `starting` again).
 * - Never two probes at once for one container: the next probe is scheduled only after the
 *   previous one settled, `nextProbeDelay` after it ended (Docker: the interval runs from
 *   the end of one probe to the start of the next).
 * - Each probe gets `check.timeoutMs` on the clock; when it elapses the probe's signal is
 *   aborted and the result is a failure ("Health check exceeded timeout"), whatever the
 *   prober returns afterwards. Probers resolve promptly on abort (Prober contract).
 * - `onTransition` is called only when the status changes; `onResult` after every applied
 *   result. A callback that throws is reported to `onError` and the monitor carries on.
 * - An optional ConcurrencyLimiter bounds probes across containers; the time spent waiting
 *   for a slot does not count toward the probe's timeout.
 */
import type { Clock } from "../../lib/clock.js";
import { errorMessage } from "../../lib/errors.js";
import { noConcurrencyLimit } from "../loop/concurrency-limiter.js";
import type { Healthcheck } from "../manifests/model.js";
import type { ConcurrencyLimiter } from "../loop/types.js";
import {
  applyResult,
  defaultHealthStateOptions,
  initialHealthState,
  nextProbeDelay,
  type HealthStateOptions,
  type ProbeRecord,
} from "./health-state.js";
import type { HealthState, HealthTransition, ProbeResult, ProbeTarget, Prober } from "./types.js";

export interface HealthMonitorOptions {
  /** Bounds concurrent probes (shared between monitors). Default: no limit. */
  limiter: ConcurrencyLimiter;
  state: HealthStateOptions;
  onResult?: (state: HealthState) => void;
  onError?: (err: unknown) => void;
}

export function defaultHealthMonitorOptions(): HealthMonitorOptions {
  return { limiter: noConcurrencyLimit, state: defaultHealthStateOptions() };
}

export interface HealthMonitorInit {
  clock: Clock;
  prober: Prober;
  check: Healthcheck;
  target: ProbeTarget;
  /** When this run of the container started (ContainerState.startedAt). */
  containerStartedAtMs: number;
  onTransition: (transition: HealthTransition, state: HealthState) => void;
}

export class HealthMonitor {
  private readonly init: HealthMonitorInit;
  private readonly options: HealthMonitorOptions;
  private current: HealthState;
  private started = false;
  private stopped = false;
  private cancelTimer: (() => void) | undefined;
  private probing: { abort: AbortController; settled: Promise<void> } | undefined;

  constructor(init: HealthMonitorInit, options: Partial<HealthMonitorOptions> = {}) {
    this.init = init;
    this.options = { ...defaultHealthMonitorOptions(), ...options };
    this.current = initialHealthState(init.containerStartedAtMs);
  }

  /** The health so far (a snapshot; not modified later). */
  get state(): HealthState {
    return this.current;
  }

  /** True while a probe runs. */
  get busy(): boolean {
    return this.probing !== undefined;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const p = this.probing;
    if (p) {
      p.abort.abort(new Error("health monitor stopped"));
      await p.settled;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const { clock, check } = this.init;
    const delay = nextProbeDelay(this.current, check, clock.now());
    this.cancelTimer = clock.setTimer(delay, () => {
      this.cancelTimer = undefined;
      const abort = new AbortController();
      const settled = this.runProbe(abort).finally(() => {
        this.probing = undefined;
        this.schedule();
      });
      this.probing = { abort, settled };
    });
  }

  private async runProbe(abort: AbortController): Promise<void> {
    const { clock, prober, check, target } = this.init;
    let startedAtMs = clock.now();
    let timedOut = false;
    let result: ProbeResult;
    try {
      result = await this.options.limiter.run(async () => {
        startedAtMs = clock.now();
        const cancel = clock.setTimer(check.timeoutMs, () => {
          timedOut = true;
          abort.abort(new Error(`Health check exceeded timeout (${check.timeoutMs}ms)`));
        });
        try {
          return await prober.probe(check, target, abort.signal);
        } finally {
          cancel();
        }
      }, abort.signal);
    } catch (err) {
      result = { result: "unknown", output: errorMessage(err), durationMs: 0 };
    }
    if (this.stopped) return;
    const record: ProbeRecord = timedOut
      ? { result: "failure", output: `Health check exceeded timeout (${check.timeoutMs}ms)`, startedAtMs, endedAtMs: clock.now() }
      : { result: result.result, output: result.output, startedAtMs, endedAtMs: clock.now() };
    const { state, transition } = applyResult(this.current, record, check, this.options.state);
    this.current = state;
    this.call(() => this.options.onResult?.(state));
    if (transition) this.call(() => this.init.onTransition(transition, state));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.onError?.(err);
    }
  }
}
