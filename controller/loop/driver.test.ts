import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { invalidArgument, notImplemented, TerminalError, unavailable } from "../../lib/errors.js";
import { isTerminal, ReconcileLoop } from "./driver.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "./types.js";

const silent = pino({ level: "silent" });
const flush = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function setup(run: (key: string, ctx: ReconcileContext) => Promise<ReconcileResult>, concurrency = 2) {
  const clock = new ManualClock();
  const errors: { key: string; terminal: boolean; message: string }[] = [];
  const calls: string[] = [];
  const loop = new ReconcileLoop({
    clock,
    logger: silent,
    options: { concurrency },
    onError: (key, err, terminal) => errors.push({ key, terminal, message: (err as Error).message }),
  });
  const r: Reconciler = {
    kind: "Container",
    reconcile: async (key, ctx) => {
      calls.push(key);
      return run(key, ctx);
    },
  };
  loop.register(r);
  return { clock, loop, errors, calls };
}

describe("ReconcileLoop", () => {
  it("reconciles enqueued keys once each, dedups, and is idle afterwards", async () => {
    const { loop, calls } = setup(async () => ({}));
    loop.start();
    loop.enqueue("container/a");
    loop.enqueue("container/a");
    loop.enqueue("container/b");
    await loop.idle();
    expect(calls.sort()).toEqual(["container/a", "container/b"]);
    await loop.stop();
  });

  it("requeues after requeueAfterMs on the clock, not before", async () => {
    let n = 0;
    const { loop, calls, clock } = setup(async () => (++n === 1 ? { requeueAfterMs: 500 } : {}));
    loop.start();
    loop.enqueue("container/a");
    await loop.idle();
    expect(calls).toEqual(["container/a"]);
    await clock.advance(499);
    await flush();
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    await flush();
    await loop.idle();
    expect(calls).toHaveLength(2);
    await loop.stop();
  });

  it("retries a failing key with growing delays and reports each failure as not terminal", async () => {
    let n = 0;
    const { loop, calls, clock, errors } = setup(async () => {
      if (++n <= 3) throw unavailable("runtime busy");
      return {};
    });
    loop.start();
    loop.enqueue("container/a");
    await loop.idle();
    const at: number[] = [];
    for (let t = 0; t < 100 && calls.length < 4; t++) {
      await clock.advance(1);
      await flush();
      if (calls.length > at.length + 1) at.push(t + 1);
    }
    expect(calls).toHaveLength(4);
    expect(errors.map((e) => e.terminal)).toEqual([false, false, false]);
    // 5ms, then 10ms, then 20ms after each failure (the work queue's rate limiter)
    expect(at).toEqual([5, 15, 35]);
    await loop.stop();
  });

  it("does not retry a terminal error and reports it as terminal", async () => {
    const { loop, calls, clock, errors } = setup(async () => {
      throw new TerminalError("FailedPrecondition", "no image");
    });
    loop.start();
    loop.enqueue("container/a");
    await loop.idle();
    await clock.advance(60_000);
    await flush();
    expect(calls).toHaveLength(1);
    expect(errors).toEqual([{ key: "container/a", terminal: true, message: "no image" }]);
    await loop.stop();
  });

  it("never runs one key twice at once; a key added while running runs once more after", async () => {
    let release!: () => void;
    let running = 0;
    let maxRunning = 0;
    const { loop, calls } = setup(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      running--;
      return {};
    }, 4);
    loop.start();
    loop.enqueue("container/a");
    await flush();
    loop.enqueue("container/a");
    loop.enqueue("container/a");
    await flush();
    expect(calls).toHaveLength(1);
    release();
    await loop.idle();
    expect(calls).toHaveLength(2);
    expect(maxRunning).toBe(1);
    await loop.stop();
  });

  it("stop() aborts the signal of a running reconcile and waits for it to settle, without reporting an error", async () => {
    let sawAbort = false;
    const { loop, errors, clock } = setup(async (_key, ctx) => {
      try {
        await clock.sleep(10_000, ctx.signal); // a stop grace period
      } catch {
        sawAbort = ctx.signal.aborted;
        throw new Error("cut short");
      }
      return {};
    });
    loop.start();
    loop.enqueue("container/a");
    await flush();
    await loop.stop();
    expect(sawAbort).toBe(true);
    expect(errors).toEqual([]);
  });

  it("drops keys of kinds with no reconciler", async () => {
    const { loop, calls } = setup(async () => ({}));
    loop.start();
    loop.enqueue("volume/data");
    loop.enqueue("nonsense");
    await loop.idle();
    expect(calls).toEqual([]);
    await loop.stop();
  });

  it("classifies errors", () => {
    expect(isTerminal(new TerminalError("NotFound", "x"))).toBe(true);
    expect(isTerminal(notImplemented("x"))).toBe(true);
    expect(isTerminal(invalidArgument("x"))).toBe(true);
    expect(isTerminal(unavailable("x"))).toBe(false);
    expect(isTerminal(new Error("x"))).toBe(false);
  });
});
