/**
 * The restart decision for an exited container and its restart backoff (Docker's
 * `restartmanager`, kubelet's CrashLoopBackOff). Pure: the caller supplies the policy, the
 * exit, the restart record and the times; nothing here waits. This backoff is apart from
 * the work queue's reconcile-retry backoff (STYLE #7).
 *
 * Backoff (moby restartmanager.ShouldRestart): the delay of the first restart is
 * `initialMs`; each further restart doubles the previous delay, capped at `maxMs`; when the
 * container ran at least `resetAfterMs` before it exited, the sequence starts again at
 * `initialMs`. Defaults 100ms → 1m, reset after 10s: 100, 200, 400, … 51.2s, 60s, 60s.
 * The delay counts from the exit (`finishedAt`), so re-planning while waiting yields the same
 * `notBeforeMs`.
 *
 * Policies (Docker):
 * - `no`: never restarts.
 * - `on-failure[:maxRetries]`: restarts non-zero exits (and OOM kills); gives up once
 *   `retries` (policy restarts since the last create or user start) reached `maxRetries`
 *   (0 = unlimited).
 * - `always`: restarts every exit, except after a user stop (`berth stop`) — until the
 *   daemon restarts: a container the user stopped before the current daemon started is
 *   started again (Docker starts `always` containers at daemon start even after
 *   `docker stop`).
 * - `unless-stopped`: like `always`, but a user stop is respected across daemon restarts.
 * Deviation from Docker: Docker's daemon start also restarts a user-stopped `on-failure`
 * container whose exit code is non-zero (a stop that escalated to SIGKILL exits 137). In
 * berth a user stop is never undone by `on-failure`: only `always` does that, on purpose.
 *
 * Healthcheck stops (berth acts on unhealthy, Docker does not): an exit caused by
 * `onUnhealthy: restart` counts as a failure and restarts through the same backoff under
 * every policy — also `no`, since the user asked for restarts explicitly — and on-failure's
 * maxRetries still applies. An exit caused by `onUnhealthy: stop` is never restarted.
 */
import type { RestartPolicy } from "../../manifests/model.js";
import type { RestartRecord } from "../../store/status-records.js";

/** The last exit of a container, from its runtime state. */
export interface ExitInfo {
  exitCode: number;
  oomKilled: boolean;
  startedAtMs: number;
  finishedAtMs: number;
}

export interface RestartInput {
  policy: RestartPolicy;
  exit: ExitInfo;
  record: RestartRecord;
  /** When the running berth daemon started; a user stop before it is "across a restart". */
  daemonStartedAtMs: number;
}

export interface RestartDecision {
  restart: boolean;
  /** The backoff delay of this restart; 0 when not restarting. */
  delayMs: number;
  /** The earliest time to start it again: `finishedAtMs + delayMs`. */
  notBeforeMs: number;
  /** on-failure reached maxRetries: terminal until the spec changes or the user starts it. */
  gaveUp: boolean;
  reason: string;
}

/**
 * The delay of the next restart: `initialMs` when there was none before or the container
 * ran at least `resetAfterMs`, else twice the previous one, capped at `maxMs`.
 */
export function nextRestartDelayMs(previousMs: number, ranMs: number, backoff: RestartPolicy["backoff"]): number {
  if (previousMs <= 0 || ranMs >= backoff.resetAfterMs) return Math.min(backoff.initialMs, backoff.maxMs);
  return Math.min(previousMs * 2, backoff.maxMs);
}

/** True when the exit counts as a failure for on-failure. */
export function isFailure(exit: Pick<ExitInfo, "exitCode" | "oomKilled">): boolean {
  return exit.exitCode !== 0 || exit.oomKilled;
}

/**
 * Whether the policy allows one more restart after a failure, ignoring user stops: false only
 * for `on-failure` with its retries used up (and for `no`, unless the failure is an
 * unhealthy restart, which every policy honours).
 */
export function restartBudgetLeft(policy: RestartPolicy, record: RestartRecord): boolean {
  return !(policy.name === "on-failure" && policy.maxRetries > 0 && record.retries >= policy.maxRetries);
}

export function decideRestart(input: RestartInput): RestartDecision {
  const { policy, exit, record } = input;
  const ranMs = Math.max(0, exit.finishedAtMs - exit.startedAtMs);
  const describeExit = exit.oomKilled ? `was OOM-killed (exit code ${exit.exitCode})` : `exited with code ${exit.exitCode}`;
  const no = (reason: string, gaveUp = false): RestartDecision => ({
    restart: false,
    delayMs: 0,
    notBeforeMs: exit.finishedAtMs,
    gaveUp,
    reason,
  });
  const yes = (why: string): RestartDecision => {
    const delayMs = nextRestartDelayMs(record.lastBackoffMs, ranMs, policy.backoff);
    return {
      restart: true,
      delayMs,
      notBeforeMs: exit.finishedAtMs + delayMs,
      gaveUp: false,
      reason: `${why}; restart ${record.restartCount + 1} after a ${delayMs}ms backoff`,
    };
  };

  const stop = record.lastStop;
  if (stop?.cause === "user") {
    if (policy.name === "always" && stop.atMs < input.daemonStartedAtMs) {
      return yes("restart policy always: stopped by the user before the daemon started, so it starts again");
    }
    return no(`stopped by the user (restart policy ${policy.name})`);
  }
  if (stop?.cause === "unhealthy-stop") return no("stopped because it was unhealthy (onUnhealthy: stop)");

  const unhealthy = stop?.cause === "unhealthy-restart";
  if (unhealthy) {
    if (!restartBudgetLeft(policy, record)) {
      return no(`gave up after ${record.retries} restarts (on-failure:${policy.maxRetries}); last stopped because it was unhealthy`, true);
    }
    return yes("stopped because it was unhealthy (onUnhealthy: restart)");
  }

  switch (policy.name) {
    case "no":
      return no(`${describeExit}; restart policy no`);
    case "always":
    case "unless-stopped":
      return yes(`${describeExit}; restart policy ${policy.name}`);
    case "on-failure":
      if (!isFailure(exit)) return no(`${describeExit}; on-failure restarts only failures`);
      if (!restartBudgetLeft(policy, record)) {
        return no(`${describeExit}; gave up after ${record.retries} restarts (on-failure:${policy.maxRetries})`, true);
      }
      return yes(`${describeExit}; restart policy on-failure`);
  }
}
