import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { ExponentialRateLimiter } from "./rate-limiter.js";
import { WorkQueue } from "./workqueue.js";

/** Resolves what `p` settled with by now, or "pending". */
async function peek<T>(p: Promise<T>): Promise<T | "pending" | { rejected: unknown }> {
  let out: T | "pending" | { rejected: unknown } = "pending";
  p.then(
    (v) => (out = v),
    (e) => (out = { rejected: e }),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return out;
}

function setup() {
  const clock = new ManualClock();
  const q = new WorkQueue<string>(clock);
  return { clock, q };
}

describe("ExponentialRateLimiter", () => {
  it("doubles from 5ms to the 1000s cap per key and forgets", () => {
    const r = new ExponentialRateLimiter<string>();
    const seq = Array.from({ length: 20 }, () => r.when("a"));
    expect(seq.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(seq[17]).toBe(655_360);
    expect(seq[18]).toBe(1_000_000);
    expect(seq[19]).toBe(1_000_000);
    expect(r.when("b")).toBe(5); // per key
    expect(r.numRequeues("a")).toBe(20);
    r.forget("a");
    expect(r.numRequeues("a")).toBe(0);
    expect(r.when("a")).toBe(5);
  });

  it("is configurable and never overflows past the cap", () => {
    const r = new ExponentialRateLimiter<string>({ baseDelayMs: 100, maxDelayMs: 250 });
    expect([r.when("k"), r.when("k"), r.when("k")]).toEqual([100, 200, 250]);
    for (let i = 0; i < 2000; i++) r.when("k");
    expect(r.when("k")).toBe(250);
  });
});

describe("WorkQueue", () => {
  it("with priorityOf: a lower priority first, FIFO within one (also for a key requeued by done)", async () => {
    const clock = new ManualClock();
    const prio: Record<string, number> = { net: 0, db: 1, api: 2, web: 2, cache: 1 };
    const q = new WorkQueue<string>(clock, { priorityOf: (k) => prio[k] ?? 0 });
    for (const k of ["web", "api", "db", "net", "cache"]) q.add(k);
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push(await q.get());
    expect(order).toEqual(["net", "db", "cache", "web", "api"]);
    q.add("web"); // while held: queued again at done, behind what is ready before it
    q.add("db2");
    q.done("web");
    expect([await q.get(), await q.get()]).toEqual(["db2", "web"]);
  });

  it("hands keys out in FIFO order and dedups queued keys", async () => {
    const { q } = setup();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(2);
  });

  it("never hands one key to two workers; a re-add in flight runs once more after done", async () => {
    const { q } = setup();
    q.add("a");
    expect(await q.get()).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.len()).toBe(0); // held back while in flight
    const second = q.get();
    expect(await peek(second)).toBe("pending");
    q.done("a");
    expect(await peek(second)).toBe("a");
    q.done("a");
    expect(q.len()).toBe(0);
    expect(await peek(q.get())).toBe("pending"); // ran exactly once more
  });

  it("done without a re-add does not requeue, and done of an unknown key is a no-op", async () => {
    const { q } = setup();
    q.add("a");
    await q.get();
    q.done("a");
    q.done("zzz");
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(0);
  });

  it("serves two waiting getters in arrival order, one key each", async () => {
    const { q } = setup();
    const g1 = q.get();
    const g2 = q.get();
    expect(await peek(g1)).toBe("pending");
    q.add("x");
    expect(await peek(g1)).toBe("x");
    expect(await peek(g2)).toBe("pending");
    q.add("x"); // in flight: not handed to the second getter
    expect(await peek(g2)).toBe("pending");
    q.add("y");
    expect(await peek(g2)).toBe("y");
  });

  it("works with falsy keys", async () => {
    const clock = new ManualClock();
    const q = new WorkQueue<string>(clock);
    q.add("");
    expect(await q.get()).toBe("");
  });

  it("addAfter adds the key when the delay elapses on the clock", async () => {
    const { clock, q } = setup();
    q.addAfter("a", 100);
    expect(q.len()).toBe(0);
    expect(q.delayed()).toBe(1);
    await clock.advance(99);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(q.delayed()).toBe(0);
  });

  it("addAfter with a delay <= 0 adds now", () => {
    const { q } = setup();
    q.addAfter("a", 0);
    q.addAfter("b", -5);
    expect(q.len()).toBe(2);
  });

  it("an earlier addAfter wins over an existing later one, a later one does not replace it", async () => {
    const { clock, q } = setup();
    q.addAfter("a", 1000);
    q.addAfter("a", 100);
    await clock.advance(100);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("a");
    q.done("a");
    await clock.advance(2000);
    expect(q.len()).toBe(0); // the 1000ms timer was cancelled
    expect(clock.pending()).toBe(0);

    q.addAfter("b", 100);
    q.addAfter("b", 1000);
    await clock.advance(100);
    expect(q.len()).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it("a delayed add of a key that is in flight runs once more after done", async () => {
    const { clock, q } = setup();
    q.add("a");
    expect(await q.get()).toBe("a");
    q.addAfter("a", 10);
    await clock.advance(10);
    expect(q.len()).toBe(0);
    q.done("a");
    expect(await q.get()).toBe("a");
  });

  it("wakes a waiting getter when a delayed key becomes ready", async () => {
    const { clock, q } = setup();
    const g = q.get();
    q.addAfter("a", 50);
    await clock.advance(49);
    expect(await peek(g)).toBe("pending");
    await clock.advance(1);
    expect(await peek(g)).toBe("a");
  });

  it("addRateLimited delays exponentially per key; forget resets; numRequeues counts", async () => {
    const { clock, q } = setup();
    const readyAfter = async (key: string): Promise<number> => {
      const t0 = clock.now();
      q.addRateLimited(key);
      for (let ms = 0; ms <= 1000; ms++) {
        if (q.len() > 0) break;
        await clock.advance(1);
      }
      expect(await q.get()).toBe(key);
      q.done(key);
      return clock.now() - t0;
    };
    expect(await readyAfter("a")).toBe(5);
    expect(await readyAfter("a")).toBe(10);
    expect(await readyAfter("a")).toBe(20);
    expect(q.numRequeues("a")).toBe(3);
    expect(q.numRequeues("b")).toBe(0);
    q.forget("a");
    expect(q.numRequeues("a")).toBe(0);
    expect(await readyAfter("a")).toBe(5);
  });

  it("uses an injected rate limiter", async () => {
    const clock = new ManualClock();
    const calls: string[] = [];
    const q = new WorkQueue<string>(clock, {
      rateLimiter: { when: (k) => (calls.push(k), 7), forget: () => {}, numRequeues: () => 42 },
    });
    q.addRateLimited("k");
    await clock.advance(6);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(calls).toEqual(["k"]);
    expect(q.numRequeues("k")).toBe(42);
  });

  it("get rejects with the signal's reason when aborted, and the key goes to the next getter", async () => {
    const { q } = setup();
    const ac = new AbortController();
    const g1 = q.get(ac.signal);
    const g2 = q.get();
    ac.abort(new Error("worker stopping"));
    expect(await peek(g1)).toEqual({ rejected: new Error("worker stopping") });
    q.add("a");
    expect(await peek(g2)).toBe("a");
    const pre = new AbortController();
    pre.abort(new Error("already"));
    await expect(q.get(pre.signal)).rejects.toThrow("already");
  });

  it("shutDown wakes waiting getters, drops delayed and queued keys, ignores later adds", async () => {
    const { clock, q } = setup();
    const g1 = q.get();
    const g2 = q.get();
    q.add("a"); // goes to g1
    q.add("b"); // goes to g2
    expect(await g1).toBe("a");
    expect(await g2).toBe("b");
    const g3 = q.get();
    q.add("c"); // served to g3
    expect(await g3).toBe("c");
    q.add("d"); // queued
    q.addAfter("e", 100);
    const waiting = q.get(); // served "d" immediately
    expect(await waiting).toBe("d");
    const blocked = q.get();
    q.shutDown();
    q.shutDown();
    expect(await peek(blocked)).toMatchObject({ rejected: { kind: "Unavailable" } });
    expect(clock.pending()).toBe(0);
    q.add("f");
    q.addAfter("g", 1);
    q.addRateLimited("h");
    expect(q.len()).toBe(0);
    await expect(q.get()).rejects.toMatchObject({ kind: "Unavailable", message: "get work item: queue is shut down" });
    expect(q.isShuttingDown()).toBe(true);
    // Workers can still finish; a key re-added in flight before shutdown is not handed out.
    q.done("a");
    expect(q.inFlight()).toBe(3);
    expect(q.len()).toBe(0);
  });

  it("drops keys that were queued but not yet handed out at shutdown", async () => {
    const { q } = setup();
    q.add("a");
    q.add("b");
    q.shutDown();
    expect(q.len()).toBe(0);
    await expect(q.get()).rejects.toMatchObject({ kind: "Unavailable" });
  });

  it("many workers process every key exactly once per round without overlap", async () => {
    const { clock, q } = setup();
    const active = new Set<string>();
    const runs = new Map<string, number>();
    let overlap = false;
    const worker = async () => {
      for (;;) {
        let key: string;
        try {
          key = await q.get();
        } catch {
          return;
        }
        if (active.has(key)) overlap = true;
        active.add(key);
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await clock.sleep(10);
        active.delete(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    for (const k of ["a", "b", "c", "a", "b", "a"]) q.add(k);
    await clock.advance(1); // all three keys taken
    for (const k of ["a", "a", "b"]) q.add(k); // re-added in flight
    await clock.advance(100);
    q.shutDown();
    await Promise.all(workers);
    expect(overlap).toBe(false);
    expect(Object.fromEntries(runs)).toEqual({ a: 2, b: 2, c: 1 });
  });
});
