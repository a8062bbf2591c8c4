/**
 * Docker's container health state machine, as pure functions.
 *
 * Semantics, checked against moby `daemon/health.go` (`handleProbeResult`, `monitor`):
 * - A new run starts `starting` with a failing streak of 0 (`initHealthMonitor`).
 * - Success: the failing streak becomes 0 and the status `healthy` (from any status).
 * - Failure: when the status is still `starting` and the probe *started* less than
 *   `startPeriod` after the container started (`result.Start.Sub(c.State.StartedAt) <
 *   startPeriod`), it is not counted. Otherwise the streak grows, and at `retries`
 *   consecutive failures the status becomes `unhealthy`; below that the status stays what
 *   it was (`starting` or `healthy`). So the start period only shields a container that has
 *   never succeeded: once a probe succeeded the status is `healthy`, never `starting` again
 *   for this run, and every later failure counts even inside the start period.
 * - A probe timeout is a failure ("Health check exceeded timeout (…)", exit -1).
 * - The log keeps the last 5 results (`maxLogEntries`); output is capped at 4096 bytes
 *   with "..." appended (`maxOutputLen`, `limitedBuffer`).
 * - An event is emitted only when the status changes.
 * - Scheduling: the first probe runs one interval after the container started, each next
 *   one an interval after the previous probe ended. While `starting` inside the start
 *   period the interval is `startInterval` (moby #40894); it is capped by the time left in
 *   the start period so the first regular probe runs right when the period ends, not a
 *   whole startInterval later (moby #46747, fixed by #52317). Outside it, or once the
 *   status left `starting`, it is `interval`. With `startPeriod` 0, `startInterval` is
 *   never used (moby #49900 describes this as Docker's behaviour).
 * berth addition: an `unknown` result (probe could not run for reasons outside the
 * container) is logged and changes nothing else.
 */
import type { Healthcheck } from "../manifests/model.js";
import type { HealthLogEntry, HealthState, HealthTransition, ProbeOutcome } from "./types.js";

export interface HealthStateOptions {
  /** Results kept in the log (Docker: 5). */
  maxLogEntries: number;
  /** Bytes of output kept per result (Docker: 4096). */
  maxOutputBytes: number;
}

export function defaultHealthStateOptions(): HealthStateOptions {
  return { maxLogEntries: 5, maxOutputBytes: 4096 };
}

/** The state of a container run that started at `containerStartedAtMs`. */
export function initialHealthState(containerStartedAtMs: number): HealthState {
  return { status: "starting", failingStreak: 0, containerStartedAtMs, log: [] };
}

/** One finished probe, as fed to `applyResult`. */
export interface ProbeRecord {
  result: ProbeOutcome;
  output: string;
  startedAtMs: number;
  endedAtMs: number;
}

/** True while the start period shields failures: never succeeded and within the period. */
export function inStartPeriod(state: HealthState, check: Healthcheck, atMs: number): boolean {
  return state.status === "starting" && atMs - state.containerStartedAtMs < check.startPeriodMs;
}

/**
 * The delay from `now` (the container's start, or the end of the previous probe) to the
 * next probe.
 */
export function nextProbeDelay(state: HealthState, check: Healthcheck, now: number): number {
  if (inStartPeriod(state, check, now)) {
    const remaining = state.containerStartedAtMs + check.startPeriodMs - now;
    return Math.max(0, Math.min(check.startIntervalMs, remaining));
  }
  return check.intervalMs;
}

/**
 * Applies one probe result. Returns the new state (the input is not modified) and the
 * transition when the status changed.
 */
export function applyResult(
  state: HealthState,
  record: ProbeRecord,
  check: Healthcheck,
  options: HealthStateOptions = defaultHealthStateOptions(),
): { state: HealthState; transition?: HealthTransition } {
  const entry: HealthLogEntry = {
    result: record.result,
    output: capOutput(record.output, options.maxOutputBytes),
    startedAtMs: record.startedAtMs,
    endedAtMs: record.endedAtMs,
  };
  const log = [...state.log, entry].slice(-Math.max(1, options.maxLogEntries));
  let { status, failingStreak } = state;
  if (record.result === "success") {
    failingStreak = 0;
    status = "healthy";
  } else if (record.result === "failure" && !inStartPeriod(state, check, record.startedAtMs)) {
    failingStreak++;
    if (failingStreak >= Math.max(1, check.retries)) status = "unhealthy";
  }
  const next: HealthState = { status, failingStreak, containerStartedAtMs: state.containerStartedAtMs, log };
  if (status === state.status) return { state: next };
  return { state: next, transition: { from: state.status, to: status, atMs: record.endedAtMs, output: entry.output } };
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes (never inside a character), adding "..." when cut. */
export function capOutput(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so a multi-byte character is not split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8") + "...";
}
