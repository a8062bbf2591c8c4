/**
 * One health monitor (health-monitor.ts) per running container that has an effective
 * healthcheck, for the container's current run — the controller's equivalent of moby's
 * per-container monitor, managed by key.
 *
 * Contract:
 * - `sync(key, run)`: with a run, makes sure a monitor probes exactly that run (container
 *   id + start time) with exactly that check: an existing monitor of another run or another
 *   check is stopped and a new one (status `starting`) takes its place; the same run and
 *   check keep theirs. Without a run (not running, no check), stops the monitor of `key`.
 * - `health(key, observed)`: the health of the observed run, or undefined when no monitor
 *   probes that run (a monitor of an earlier run never speaks for a later one).
 * - `stop(key)`, `stopAll()`: stop and forget, resolving once a running probe settled.
 * - Callbacks get the key and the run's start time; they run on the monitor's schedule.
 */
import type { Clock } from "../../lib/clock.js";
import type { ContainerState } from "../../runtime/types.js";
import type { ConcurrencyLimiter } from "../loop/types.js";
import type { Healthcheck } from "../manifests/model.js";
import { healthcheckHash } from "../reconcilers/container/spec-hash.js";
import { HealthMonitor } from "./health-monitor.js";
import type { HealthState, HealthTransition, ProbeTarget, Prober } from "./types.js";

/** The run a monitor should probe. */
export interface MonitoredRun {
  containerId: string;
  /** ContainerState.startedAt of this run. */
  startedAt: string;
  check: Healthcheck;
  target: ProbeTarget;
}

export interface MonitorManagerInit {
  clock: Clock;
  prober: Prober;
  limiter: ConcurrencyLimiter;
  onTransition(key: string, transition: HealthTransition, state: HealthState, runStartedAtMs: number): void;
  onResult(key: string, state: HealthState, runStartedAtMs: number): void;
  onError(key: string, err: unknown): void;
}

interface Entry {
  monitor: HealthMonitor;
  containerId: string;
  startedAt: string;
  checkHash: string;
}

export class MonitorManager {
  private readonly monitors = new Map<string, Entry>();

  constructor(private readonly init: MonitorManagerInit) {}

  /** Returns true when a new monitor was started (the run's health starts over as `starting`). */
  async sync(key: string, run: MonitoredRun | undefined): Promise<boolean> {
    const existing = this.monitors.get(key);
    if (!run) {
      if (existing) await this.stop(key);
      return false;
    }
    const checkHash = healthcheckHash(run.check);
    if (existing && existing.containerId === run.containerId && existing.startedAt === run.startedAt && existing.checkHash === checkHash) return false;
    if (existing) await this.stop(key);
    const runStartedAtMs = Date.parse(run.startedAt);
    const monitor = new HealthMonitor(
      {
        clock: this.init.clock,
        prober: this.init.prober,
        check: run.check,
        target: run.target,
        containerStartedAtMs: runStartedAtMs,
        onTransition: (t, state) => this.init.onTransition(key, t, state, runStartedAtMs),
      },
      {
        limiter: this.init.limiter,
        onResult: (state) => this.init.onResult(key, state, runStartedAtMs),
        onError: (err) => this.init.onError(key, err),
      },
    );
    this.monitors.set(key, { monitor, containerId: run.containerId, startedAt: run.startedAt, checkHash });
    monitor.start();
    return true;
  }

  health(key: string, observed: ContainerState | undefined): HealthState | undefined {
    const m = this.monitors.get(key);
    if (!m || !observed || observed.status !== "running" || m.containerId !== observed.id || m.startedAt !== observed.startedAt) return undefined;
    return m.monitor.state;
  }

  async stop(key: string): Promise<void> {
    const m = this.monitors.get(key);
    if (!m) return;
    this.monitors.delete(key);
    await m.monitor.stop();
  }

  async stopAll(): Promise<void> {
    const all = [...this.monitors.values()];
    this.monitors.clear();
    await Promise.all(all.map((m) => m.monitor.stop()));
  }

  get size(): number {
    return this.monitors.size;
  }
}
