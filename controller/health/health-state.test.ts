import { describe, expect, it } from "vitest";
import type { Healthcheck } from "../manifests/model.js";
import { applyResult, capOutput, initialHealthState, nextProbeDelay, type ProbeRecord } from "./health-state.js";
import type { HealthState, HealthStatus, ProbeOutcome } from "./types.js";

const S = 1_700_000_000_000; // container start

function check(over: Partial<Healthcheck> = {}): Healthcheck {
  return {
    probe: { type: "exec", argv: ["true"] },
    intervalMs: 30_000,
    timeoutMs: 30_000,
    retries: 3,
    startPeriodMs: 0,
    startIntervalMs: 5_000,
    ...over,
  };
}

const rec = (result: ProbeOutcome, atSinceStart: number, output = ""): ProbeRecord => ({
  result,
  output,
  startedAtMs: S + atSinceStart,
  endedAtMs: S + atSinceStart + 10,
});

/** Feeds results in order; returns statuses after each and the transitions seen. */
function run(c: Healthcheck, results: [ProbeOutcome, number][], from: HealthState = initialHealthState(S)) {
  let state = from;
  const statuses: HealthStatus[] = [];
  const transitions: string[] = [];
  for (const [r, at] of results) {
    const out = applyResult(state, rec(r, at), c);
    state = out.state;
    statuses.push(state.status);
    if (out.transition) transitions.push(`${out.transition.from}→${out.transition.to}`);
  }
  return { state, statuses, transitions };
}

describe("applyResult (Docker handleProbeResult)", () => {
  it("starts as starting with an empty streak", () => {
    expect(initialHealthState(S)).toEqual({ status: "starting", failingStreak: 0, containerStartedAtMs: S, log: [] });
  });

  it("a success makes it healthy and emits one transition", () => {
    const r = run(check(), [["success", 30_000], ["success", 60_000]]);
    expect(r.statuses).toEqual(["healthy", "healthy"]);
    expect(r.transitions).toEqual(["starting→healthy"]);
  });

  it("retries consecutive failures make it unhealthy; fewer keep the status", () => {
    const r = run(check({ retries: 3 }), [["failure", 30_000], ["failure", 60_000], ["failure", 90_000], ["failure", 120_000]]);
    expect(r.statuses).toEqual(["starting", "starting", "unhealthy", "unhealthy"]);
    expect(r.state.failingStreak).toBe(4);
    expect(r.transitions).toEqual(["starting→unhealthy"]);
  });

  it("a success resets the failing streak (healthy stays healthy below retries)", () => {
    const r = run(check({ retries: 3 }), [
      ["success", 1],
      ["failure", 2],
      ["failure", 3],
      ["success", 4],
      ["failure", 5],
      ["failure", 6],
      ["failure", 7],
      ["success", 8],
    ]);
    expect(r.statuses).toEqual(["healthy", "healthy", "healthy", "healthy", "healthy", "healthy", "unhealthy", "healthy"]);
    expect(r.transitions).toEqual(["starting→healthy", "healthy→unhealthy", "unhealthy→healthy"]);
    expect(r.state.failingStreak).toBe(0);
  });

  it("retries 1: the first counted failure makes it unhealthy", () => {
    expect(run(check({ retries: 1 }), [["failure", 0]]).statuses).toEqual(["unhealthy"]);
  });

  it("failures inside the start period are not counted while starting", () => {
    const c = check({ startPeriodMs: 60_000, retries: 2 });
    const r = run(c, [["failure", 0], ["failure", 5_000], ["failure", 59_999]]);
    expect(r.statuses).toEqual(["starting", "starting", "starting"]);
    expect(r.state.failingStreak).toBe(0);
    expect(r.state.log).toHaveLength(3); // still logged
  });

  it("failures count from the end of the start period (judged by the probe's start time)", () => {
    const c = check({ startPeriodMs: 60_000, retries: 2 });
    const r = run(c, [["failure", 59_999], ["failure", 60_000], ["failure", 65_000]]);
    expect(r.statuses).toEqual(["starting", "starting", "unhealthy"]);
    // A probe that started inside the period but ended after it is still not counted.
    const late = applyResult(initialHealthState(S), { result: "failure", output: "", startedAtMs: S + 59_000, endedAtMs: S + 61_000 }, c);
    expect(late.state.failingStreak).toBe(0);
  });

  it("a success inside the start period ends it: later failures count even inside it", () => {
    const c = check({ startPeriodMs: 60_000, retries: 2 });
    const r = run(c, [["failure", 1_000], ["success", 5_000], ["failure", 10_000], ["failure", 15_000]]);
    expect(r.statuses).toEqual(["starting", "healthy", "healthy", "unhealthy"]);
    expect(r.transitions).toEqual(["starting→healthy", "healthy→unhealthy"]);
  });

  it("unknown results are logged and change neither streak nor status", () => {
    const c = check({ retries: 2 });
    const r = run(c, [["failure", 1], ["unknown", 2], ["unknown", 3], ["failure", 4]]);
    expect(r.statuses).toEqual(["starting", "starting", "starting", "unhealthy"]);
    expect(r.state.log.map((e) => e.result)).toEqual(["failure", "unknown", "unknown", "failure"]);
    const healthy = run(c, [["success", 1], ["unknown", 2]]);
    expect(healthy.state).toMatchObject({ status: "healthy", failingStreak: 0 });
  });

  it("keeps the last 5 results, oldest first, and does not modify its input", () => {
    const s0 = initialHealthState(S);
    const r = run(check(), [1, 2, 3, 4, 5, 6, 7].map((i) => ["success", i] as [ProbeOutcome, number]), s0);
    expect(r.state.log.map((e) => e.startedAtMs - S)).toEqual([3, 4, 5, 6, 7]);
    expect(s0.log).toEqual([]);
  });

  it("caps output at 4 KiB with '...' and reports it in the transition", () => {
    const out = applyResult(initialHealthState(S), { ...rec("success", 1), output: "x".repeat(5000) }, check());
    expect(out.state.log[0]!.output).toBe("x".repeat(4096) + "...");
    expect(out.transition).toEqual({ from: "starting", to: "healthy", atMs: S + 11, output: "x".repeat(4096) + "..." });
  });
});

describe("capOutput", () => {
  it("keeps short text, never splits a UTF-8 character", () => {
    expect(capOutput("hello", 5)).toBe("hello");
    expect(capOutput("héllo", 2)).toBe("h..."); // é is 2 bytes: bytes 1..2
    expect(capOutput("€€", 4)).toBe("€...");
  });
});

describe("nextProbeDelay (Docker monitor getInterval)", () => {
  it("uses interval without a start period (startInterval unused)", () => {
    expect(nextProbeDelay(initialHealthState(S), check({ intervalMs: 10_000 }), S)).toBe(10_000);
  });

  it("uses startInterval while starting inside the start period", () => {
    const c = check({ startPeriodMs: 60_000, startIntervalMs: 2_000 });
    expect(nextProbeDelay(initialHealthState(S), c, S)).toBe(2_000);
    expect(nextProbeDelay(initialHealthState(S), c, S + 30_000)).toBe(2_000);
  });

  it("caps startInterval by the rest of the start period, then uses interval", () => {
    const c = check({ startPeriodMs: 10_000, startIntervalMs: 4_000 });
    expect(nextProbeDelay(initialHealthState(S), c, S + 8_000)).toBe(2_000);
    expect(nextProbeDelay(initialHealthState(S), c, S + 10_000)).toBe(30_000);
    // startInterval longer than the whole start period (moby #46747).
    const long = check({ startPeriodMs: 2_000, startIntervalMs: 30_000, intervalMs: 2_000 });
    expect(nextProbeDelay(initialHealthState(S), long, S)).toBe(2_000);
  });

  it("uses interval once healthy, even inside the start period", () => {
    const c = check({ startPeriodMs: 60_000, startIntervalMs: 1_000 });
    const healthy = applyResult(initialHealthState(S), rec("success", 1_000), c).state;
    expect(nextProbeDelay(healthy, c, S + 2_000)).toBe(30_000);
  });
});
