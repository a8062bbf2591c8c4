import { describe, expect, it } from "vitest";
import { DEFAULTS, type RestartPolicy, type RestartPolicyName } from "../../manifests/model.js";
import { decideRestart, nextRestartDelayMs, type ExitInfo } from "./restart-policy.js";
import { emptyRestartRecord, type RestartRecord } from "./types.js";

const T0 = 1_700_000_000_000;
const DAEMON_START = T0 - 3_600_000;

function policy(name: RestartPolicyName, maxRetries = 0, backoff: Partial<RestartPolicy["backoff"]> = {}): RestartPolicy {
  return { name, maxRetries, backoff: { ...DEFAULTS.restartBackoff, ...backoff } };
}

function exit(exitCode: number, ranMs = 50, oomKilled = false, finishedAtMs = T0): ExitInfo {
  return { exitCode, oomKilled, startedAtMs: finishedAtMs - ranMs, finishedAtMs };
}

/**
 * Simulates a crash loop the way the reconciler drives it: decide → (restart performed at
 * notBefore) → record updated → the container runs `ranMs[i]` → exits → decide again.
 * Returns the delays, or "stop:<reason>" once it does not restart.
 */
function crashLoop(p: RestartPolicy, runs: { code: number; ranMs: number }[]): (number | string)[] {
  let record: RestartRecord = emptyRestartRecord();
  let t = T0;
  const out: (number | string)[] = [];
  for (const run of runs) {
    const d = decideRestart({ policy: p, exit: exit(run.code, run.ranMs, false, t + run.ranMs), record, daemonStartedAtMs: DAEMON_START });
    t += run.ranMs;
    if (!d.restart) {
      out.push(`stop${d.gaveUp ? " (gave up)" : ""}`);
      break;
    }
    expect(d.notBeforeMs).toBe(t + d.delayMs);
    out.push(d.delayMs);
    record = { ...record, restartCount: record.restartCount + 1, retries: record.retries + 1, lastBackoffMs: d.delayMs };
    t = d.notBeforeMs;
  }
  return out;
}

const quick = (n: number, code = 1) => Array.from({ length: n }, () => ({ code, ranMs: 50 }));

describe("nextRestartDelayMs", () => {
  const b = DEFAULTS.restartBackoff;
  it.each([
    [0, 0, 100],
    [100, 0, 200],
    [200, 9_999, 400],
    [51_200, 0, 60_000],
    [60_000, 0, 60_000],
    [60_000, 10_000, 100], // ran resetAfterMs: reset
    [400, 25_000, 100],
  ])("previous %ims, ran %ims → %ims", (prev, ran, want) => {
    expect(nextRestartDelayMs(prev, ran, b)).toBe(want);
  });
});

describe("restart backoff sequence", () => {
  it("doubles from 100ms and caps at 1m (Docker's defaults)", () => {
    expect(crashLoop(policy("always"), quick(12))).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000]);
  });

  it("resets to the initial delay after a run of at least resetAfterMs, then doubles again", () => {
    const runs = [...quick(4), { code: 1, ranMs: 10_000 }, ...quick(2), { code: 1, ranMs: 9_999 }];
    expect(crashLoop(policy("always"), runs)).toEqual([100, 200, 400, 800, 100, 200, 400, 800]);
  });

  it("uses configured numbers", () => {
    const p = policy("unless-stopped", 0, { initialMs: 1_000, maxMs: 5_000, resetAfterMs: 2_000 });
    const runs = [...quick(5), { code: 0, ranMs: 2_000 }, ...quick(1)];
    expect(crashLoop(p, runs)).toEqual([1_000, 2_000, 4_000, 5_000, 5_000, 1_000, 2_000]);
  });

  it("on-failure:3 restarts three times then gives up", () => {
    expect(crashLoop(policy("on-failure", 3), quick(5))).toEqual([100, 200, 400, "stop (gave up)"]);
  });

  it("on-failure without maxRetries is unlimited and stops at a clean exit", () => {
    expect(crashLoop(policy("on-failure"), [...quick(6), { code: 0, ranMs: 50 }])).toEqual([100, 200, 400, 800, 1600, 3200, "stop"]);
  });
});

describe("decideRestart", () => {
  const base = { record: emptyRestartRecord(), daemonStartedAtMs: DAEMON_START };
  const userStop = (atMs: number): RestartRecord => ({ ...emptyRestartRecord(), lastStop: { cause: "user", atMs } });
  const cases: [string, RestartPolicyName, number, RestartRecord, boolean, RegExp][] = [
    ["no: exit 1", "no", 1, base.record, false, /restart policy no/],
    ["no: exit 0", "no", 0, base.record, false, /restart policy no/],
    ["on-failure: exit 0", "on-failure", 0, base.record, false, /only failures/],
    ["on-failure: exit 1", "on-failure", 1, base.record, true, /exited with code 1; restart policy on-failure; restart 1 after a 100ms backoff/],
    ["always: exit 0", "always", 0, base.record, true, /restart policy always/],
    ["unless-stopped: exit 0", "unless-stopped", 0, base.record, true, /restart policy unless-stopped/],
    ["always: user stop in this daemon run", "always", 143, userStop(T0 - 10), false, /stopped by the user/],
    ["always: user stop before the daemon started", "always", 143, userStop(DAEMON_START - 1), true, /before the daemon started/],
    ["unless-stopped: user stop in this daemon run", "unless-stopped", 143, userStop(T0 - 10), false, /stopped by the user/],
    ["unless-stopped: user stop before the daemon started", "unless-stopped", 143, userStop(DAEMON_START - 1), false, /stopped by the user/],
    ["on-failure: user stop (exit 137) before the daemon started", "on-failure", 137, userStop(DAEMON_START - 1), false, /stopped by the user/],
    ["no: user stop", "no", 0, userStop(T0 - 10), false, /stopped by the user/],
  ];
  it.each(cases)("%s", (_name, name, code, record, restart, reason) => {
    const d = decideRestart({ ...base, policy: policy(name), exit: exit(code), record });
    expect(d.restart).toBe(restart);
    expect(d.reason).toMatch(reason);
    expect(d.gaveUp).toBe(false);
    expect(d.delayMs).toBe(restart ? 100 : 0);
  });

  it("counts an OOM kill as a failure for on-failure, even with exit code 0", () => {
    const d = decideRestart({ ...base, policy: policy("on-failure"), exit: exit(0, 50, true) });
    expect(d).toMatchObject({ restart: true, delayMs: 100 });
    expect(d.reason).toMatch(/OOM-killed/);
  });

  it("restarts an unhealthy-stopped container under every policy, through the backoff", () => {
    const record: RestartRecord = { restartCount: 2, retries: 2, lastBackoffMs: 200, lastStop: { cause: "unhealthy-restart", atMs: T0 - 5 } };
    for (const name of ["no", "on-failure", "always", "unless-stopped"] as const) {
      const d = decideRestart({ ...base, policy: policy(name), exit: exit(0, 5_000), record });
      expect(d, name).toMatchObject({ restart: true, delayMs: 400, notBeforeMs: T0 + 400 });
      expect(d.reason).toMatch(/unhealthy/);
    }
  });

  it("an unhealthy restart still respects on-failure's maxRetries", () => {
    const record: RestartRecord = { restartCount: 3, retries: 3, lastBackoffMs: 400, lastStop: { cause: "unhealthy-restart", atMs: T0 } };
    const d = decideRestart({ ...base, policy: policy("on-failure", 3), exit: exit(143), record });
    expect(d).toMatchObject({ restart: false, gaveUp: true });
    expect(d.reason).toMatch(/gave up after 3 restarts/);
  });

  it("never restarts after onUnhealthy: stop", () => {
    const record: RestartRecord = { ...emptyRestartRecord(), lastStop: { cause: "unhealthy-stop", atMs: T0 } };
    for (const name of ["no", "on-failure", "always", "unless-stopped"] as const) {
      expect(decideRestart({ ...base, policy: policy(name), exit: exit(143), record }).restart, name).toBe(false);
    }
  });

  it("is stable while waiting: the same inputs give the same notBefore", () => {
    const input = { ...base, policy: policy("always"), exit: exit(1), record: { restartCount: 4, retries: 4, lastBackoffMs: 800 } };
    expect(decideRestart(input)).toEqual(decideRestart(input));
    expect(decideRestart(input).notBeforeMs).toBe(T0 + 1600);
  });
});
