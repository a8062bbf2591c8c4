/**
 * Interfaces of container health: probe results, the health state a results tracker keeps,
 * and the Prober contract. See health-state.ts for the state machine, probers.ts for the
 * exec/http/tcp probers, health-monitor.ts for the per-container probe loop.
 */
import type { Healthcheck } from "../manifests/model.js";

export type HealthStatus = "starting" | "healthy" | "unhealthy";

/**
 * - `success` / `failure`: the container answered (or failed to, timeouts included).
 * - `unknown`: the probe could not be judged for reasons outside the container (the
 *   container is gone or not running, the probe was cancelled). It is logged but changes
 *   neither the failing streak nor the status (kubelet's `Unknown`).
 */
export type ProbeOutcome = "success" | "failure" | "unknown";

export interface ProbeResult {
  result: ProbeOutcome;
  /** Human text (command output, HTTP status and body start, connect error). */
  output: string;
  durationMs: number;
}

/** Where a probe runs. */
export interface ProbeTarget {
  /** Runtime id or name, for exec probes. */
  container: string;
  /** Address the container's ports are reachable at (http/tcp probes). */
  host: string;
  /**
   * A pid in the container's network namespace when it has its own (not the host's): http
   * and tcp probes then run inside that namespace, against `host` there.
   */
  netnsPid?: number;
}

/**
 * Runs one probe. Contract: resolves (never rejects) with a ProbeResult; honours
 * `check.timeoutMs` itself and resolves `failure` when it elapses; when `signal` aborts it
 * stops its work and resolves `unknown` promptly. Stateless: one Prober may serve many
 * containers at once.
 */
export interface Prober {
  probe(check: Healthcheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult>;
}

/** One probe run as the health log keeps it (Docker's HealthcheckResult). */
export interface HealthLogEntry {
  result: ProbeOutcome;
  /** Capped at `maxOutputBytes` (UTF-8), with "..." appended when cut. */
  output: string;
  startedAtMs: number;
  endedAtMs: number;
}

/** The health of one run of a container (reset when it starts again). */
export interface HealthState {
  status: HealthStatus;
  /** Consecutive counted failures (Docker's FailingStreak). */
  failingStreak: number;
  /** When the container (this run) started: the start period counts from here. */
  containerStartedAtMs: number;
  /** The last probe runs, oldest first. */
  log: HealthLogEntry[];
}

export interface HealthTransition {
  from: HealthStatus;
  to: HealthStatus;
  atMs: number;
  /** Output of the probe that caused it. */
  output: string;
}
