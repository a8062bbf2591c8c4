import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { Semaphore } from "../loop/concurrency-limiter.js";
import type { Healthcheck } from "../manifests/model.js";
import { HealthMonitor } from "./health-monitor.js";
import type { HealthState, ProbeOutcome, ProbeResult, Prober } from "./types.js";

const START = 1_700_000_000_000;

function check(over: Partial<Healthcheck> = {}): Healthcheck {
  return {
    probe: { type: "exec", argv: ["check"] },
    intervalMs: 30_000,
    timeoutMs: 10_000,
    retries: 3,
    startPeriodMs: 0,
    startIntervalMs: 5_000,
    ...over,
  };
}

/**
 * A prober that answers from a script: each step is an outcome and how long the probe
 * takes on the clock ("hang" waits for the abort). Records when each probe started (in
 * seconds since the container start) and the highest number running at once.
 */
class ScriptedProber implements Prober {
  starts: number[] = [];
  running = 0;
  maxRunning = 0;
  aborts = 0;
  constructor(
    private readonly clock: ManualClock,
    private readonly script: (i: number) => { outcome: ProbeOutcome | "hang"; takesMs?: number },
  ) {}

  async probe(_check: Healthcheck, _target: unknown, signal: AbortSignal): Promise<ProbeResult> {
    const i = this.starts.length;
    this.starts.push((this.clock.now() - START) / 1000);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const step = this.script(i);
      if (step.outcome === "hang") {
        await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
        this.aborts++;
        return { result: "unknown", output: "aborted", durationMs: 0 };
      }
      if (step.takesMs) {
        try {
          await this.clock.sleep(step.takesMs, signal);
        } catch {
          this.aborts++;
          return { result: "unknown", output: "aborted", durationMs: 0 };
        }
      }
      return { result: step.outcome, output: `probe ${i}`, durationMs: step.takesMs ?? 0 };
    } finally {
      this.running--;
    }
  }
}

function monitor(c: Healthcheck, script: (i: number) => { outcome: ProbeOutcome | "hang"; takesMs?: number }, extra: { limiter?: Semaphore } = {}) {
  const clock = new ManualClock(START);
  const prober = new ScriptedProber(clock, script);
  const transitions: string[] = [];
  const results: HealthState[] = [];
  const m = new HealthMonitor(
    {
      clock,
      prober,
      check: c,
      target: { container: "web", host: "127.0.0.1" },
      containerStartedAtMs: START,
      onTransition: (t) => transitions.push(`${(t.atMs - START) / 1000}s ${t.from}→${t.to}`),
    },
    { onResult: (s) => results.push(s), ...(extra.limiter ? { limiter: extra.limiter } : {}) },
  );
  return { clock, prober, m, transitions, results };
}

const always = (outcome: ProbeOutcome) => () => ({ outcome });
const seq = (...outcomes: ProbeOutcome[]) => (i: number) => ({ outcome: outcomes[Math.min(i, outcomes.length - 1)]! });

describe("HealthMonitor", () => {
  it("first probe after interval; success → healthy once; interval counts from the probe's end", async () => {
    const t = monitor(check(), () => ({ outcome: "success", takesMs: 1_000 }));
    t.m.start();
    t.m.start(); // idempotent
    await t.clock.advance(29_999);
    expect(t.prober.starts).toEqual([]);
    await t.clock.advance(100_000);
    expect(t.prober.starts).toEqual([30, 61, 92, 123]);
    expect(t.transitions).toEqual(["31s starting→healthy"]);
    expect(t.m.state.status).toBe("healthy");
    await t.m.stop();
  });

  it("retries consecutive failures → unhealthy; a success resets the streak", async () => {
    const t = monitor(check({ intervalMs: 10_000 }), seq("failure", "failure", "success", "failure", "failure", "failure", "success"));
    t.m.start();
    await t.clock.advance(70_000);
    expect(t.prober.starts).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(t.results.map((s) => `${s.status}/${s.failingStreak}`)).toEqual([
      "starting/1",
      "starting/2",
      "healthy/0",
      "healthy/1",
      "healthy/2",
      "unhealthy/3",
      "healthy/0",
    ]);
    expect(t.transitions).toEqual(["30s starting→healthy", "60s healthy→unhealthy", "70s unhealthy→healthy"]);
    await t.m.stop();
  });

  it("start period: startInterval while starting, failures not counted, then interval and counted", async () => {
    const c = check({ startPeriodMs: 60_000, startIntervalMs: 5_000, intervalMs: 30_000, retries: 3 });
    const t = monitor(c, always("failure"));
    t.m.start();
    await t.clock.advance(59_999);
    expect(t.prober.starts).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]);
    expect(t.m.state).toMatchObject({ status: "starting", failingStreak: 0 });
    expect(t.m.state.log).toHaveLength(5);
    await t.clock.advance(60_001);
    // The probe at exactly 60s started outside the start period: it counts.
    expect(t.prober.starts.slice(11)).toEqual([60, 90, 120]);
    expect(t.transitions).toEqual(["120s starting→unhealthy"]);
    await t.m.stop();
  });

  it("start period: a success inside it makes it healthy and switches to interval; later failures count", async () => {
    const c = check({ startPeriodMs: 60_000, startIntervalMs: 5_000, intervalMs: 30_000, retries: 2 });
    const t = monitor(c, seq("failure", "success", "failure"));
    t.m.start();
    await t.clock.advance(80_000);
    // 5 (failure, ignored), 10 (success), then interval: 40, 70 — both inside or after the
    // start period, both counted since it is no longer starting.
    expect(t.prober.starts).toEqual([5, 10, 40, 70]);
    expect(t.transitions).toEqual(["10s starting→healthy", "70s healthy→unhealthy"]);
    await t.m.stop();
  });

  it("start period: startInterval is capped by the rest of the period", async () => {
    const c = check({ startPeriodMs: 7_000, startIntervalMs: 5_000, intervalMs: 30_000, retries: 1 });
    const t = monitor(c, always("failure"));
    t.m.start();
    await t.clock.advance(40_000);
    expect(t.prober.starts).toEqual([5, 7, 37]);
    expect(t.transitions).toEqual(["7s starting→unhealthy"]);
    await t.m.stop();
  });

  it("start period shorter than startInterval: the first probe runs when it ends (moby #46747)", async () => {
    const c = check({ startPeriodMs: 2_000, startIntervalMs: 30_000, intervalMs: 2_000, retries: 1 });
    const t = monitor(c, always("failure"));
    t.m.start();
    await t.clock.advance(2_000);
    expect(t.prober.starts).toEqual([2]);
    expect(t.m.state.status).toBe("unhealthy");
    await t.m.stop();
  });

  it("no start period: startInterval is not used", async () => {
    const t = monitor(check({ startPeriodMs: 0, startIntervalMs: 1_000, intervalMs: 20_000 }), always("success"));
    t.m.start();
    await t.clock.advance(40_000);
    expect(t.prober.starts).toEqual([20, 40]);
    await t.m.stop();
  });

  it("a probe exceeding its timeout is aborted and counts as a failure at the timeout", async () => {
    const t = monitor(check({ intervalMs: 10_000, timeoutMs: 3_000, retries: 2 }), () => ({ outcome: "hang" }));
    t.m.start();
    await t.clock.advance(12_999);
    expect(t.results).toHaveLength(0);
    expect(t.m.busy).toBe(true);
    await t.clock.advance(1);
    expect(t.prober.aborts).toBe(1);
    expect(t.results.at(-1)!.log.at(-1)).toEqual({
      result: "failure",
      output: "Health check exceeded timeout (3000ms)",
      startedAtMs: START + 10_000,
      endedAtMs: START + 13_000,
    });
    await t.clock.advance(13_000);
    expect(t.prober.starts).toEqual([10, 23]);
    expect(t.transitions).toEqual(["26s starting→unhealthy"]);
    await t.m.stop();
  });

  it("never runs two probes at once: a slow probe delays the next", async () => {
    const t = monitor(check({ intervalMs: 10_000, timeoutMs: 60_000 }), () => ({ outcome: "success", takesMs: 25_000 }));
    t.m.start();
    await t.clock.advance(200_000);
    expect(t.prober.maxRunning).toBe(1);
    expect(t.prober.starts).toEqual([10, 45, 80, 115, 150, 185]);
    await t.m.stop();
  });

  it("unknown results are logged but change nothing", async () => {
    const t = monitor(check({ intervalMs: 1_000, retries: 1 }), seq("unknown", "unknown", "success"));
    t.m.start();
    await t.clock.advance(2_000);
    expect(t.m.state).toMatchObject({ status: "starting", failingStreak: 0 });
    expect(t.transitions).toEqual([]);
    await t.clock.advance(1_000);
    expect(t.transitions).toEqual(["3s starting→healthy"]);
    await t.m.stop();
  });

  it("stop cancels the timer, aborts a running probe, discards its result and probes no more", async () => {
    const t = monitor(check({ intervalMs: 1_000, timeoutMs: 60_000 }), (i) => (i === 0 ? { outcome: "success" } : { outcome: "hang" }));
    t.m.start();
    await t.clock.advance(2_000); // probe 0 done, probe 1 running (hangs)
    expect(t.m.busy).toBe(true);
    const before = t.results.length;
    await t.m.stop();
    expect(t.prober.aborts).toBe(1);
    expect(t.results.length).toBe(before);
    expect(t.m.busy).toBe(false);
    expect(t.clock.pending()).toBe(0);
    await t.clock.advance(100_000);
    expect(t.prober.starts).toEqual([1, 2]);
    await t.m.stop(); // idempotent
    t.m.start(); // no restart after stop
    expect(t.clock.pending()).toBe(0);
  });

  it("stop while idle cancels the pending probe", async () => {
    const t = monitor(check(), always("success"));
    t.m.start();
    expect(t.clock.pending()).toBe(1);
    await t.m.stop();
    expect(t.clock.pending()).toBe(0);
    await t.clock.advance(60_000);
    expect(t.prober.starts).toEqual([]);
  });

  it("a callback that throws is reported and the monitor carries on", async () => {
    const clock = new ManualClock(START);
    const prober = new ScriptedProber(clock, seq("success", "failure"));
    const errors: unknown[] = [];
    const m = new HealthMonitor(
      {
        clock,
        prober,
        check: check({ intervalMs: 1_000, retries: 1 }),
        target: { container: "web", host: "127.0.0.1" },
        containerStartedAtMs: START,
        onTransition: () => {
          throw new Error("listener broke");
        },
      },
      { onError: (e) => errors.push(e) },
    );
    m.start();
    await clock.advance(2_000);
    expect(prober.starts).toEqual([1, 2]);
    expect(errors).toHaveLength(2);
    expect(m.state.status).toBe("unhealthy");
    await m.stop();
  });

  it("a shared limiter serializes probes across monitors; waiting does not count toward the timeout", async () => {
    const clock = new ManualClock(START);
    const limiter = new Semaphore(1);
    const prober = new ScriptedProber(clock, () => ({ outcome: "success", takesMs: 4_000 }));
    const make = () =>
      new HealthMonitor(
        { clock, prober, check: check({ intervalMs: 10_000, timeoutMs: 5_000 }), target: { container: "x", host: "h" }, containerStartedAtMs: START, onTransition: () => {} },
        { limiter },
      );
    const a = make();
    const b = make();
    a.start();
    b.start();
    await clock.advance(18_000);
    // a probes 10–14, b waits for the slot and probes 14–18 (4s wait + 4s probe > 5s timeout, still a success).
    expect(prober.starts).toEqual([10, 14]);
    expect(prober.maxRunning).toBe(1);
    expect(a.state.status).toBe("healthy");
    expect(b.state.status).toBe("healthy");
    await Promise.all([a.stop(), b.stop()]);
  });
});
