import { describe, expect, it } from "vitest";
import { Semaphore, noConcurrencyLimit } from "./concurrency-limiter.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
const tick = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("Semaphore", () => {
  it("runs at most `limit` tasks at once, the rest in arrival order, releasing on rejection too", async () => {
    const s = new Semaphore(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      s.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect([s.running(), s.waiting()]).toEqual([2, 2]);
    gates[1]!.reject(new Error("boom"));
    await expect(runs[1]).rejects.toThrow("boom");
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all([runs[0], runs[2], runs[3]])).toEqual([0, 2, 3]);
    expect([s.running(), s.waiting()]).toEqual([0, 0]);
  });

  it("an aborted waiter leaves the line and its task never runs", async () => {
    const s = new Semaphore(1);
    const gate = deferred();
    const first = s.run(() => gate.promise);
    const ac = new AbortController();
    let ran = false;
    const second = s.run(async () => void (ran = true), ac.signal);
    ac.abort(new Error("stop"));
    await expect(second).rejects.toThrow("stop");
    expect(s.waiting()).toBe(0);
    gate.resolve();
    await first;
    expect(ran).toBe(false);
    expect(s.running()).toBe(0);
  });

  it("refuses a limit below 1", () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

describe("noConcurrencyLimit", () => {
  it("runs at once, but not when already aborted", async () => {
    expect(await noConcurrencyLimit.run(async () => 7)).toBe(7);
    const ac = new AbortController();
    ac.abort(new Error("x"));
    await expect(noConcurrencyLimit.run(async () => 7, ac.signal)).rejects.toThrow("x");
  });
});
