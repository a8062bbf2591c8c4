import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { Debouncer } from "./debounce.js";

function setup() {
  const clock = new ManualClock();
  let calls = 0;
  const d = new Debouncer(clock, () => calls++, { quietMs: 300, maxWaitMs: 2_000 });
  return { clock, d, calls: () => calls };
}

describe("Debouncer", () => {
  it("fires once, quietMs after the last trigger of a burst", async () => {
    const { clock, d, calls } = setup();
    d.trigger();
    await clock.advance(200);
    d.trigger(); // unlink ... add of an atomic save
    await clock.advance(200);
    expect(calls()).toBe(0);
    await clock.advance(100);
    expect(calls()).toBe(1);
    await clock.advance(5_000);
    expect(calls()).toBe(1);
    expect(d.pending()).toBe(false);
  });

  it("fires at maxWaitMs when triggers never stop, then starts a new burst", async () => {
    const { clock, d, calls } = setup();
    for (let t = 0; t < 2_000; t += 100) {
      d.trigger();
      await clock.advance(100);
    }
    expect(calls()).toBe(1); // at 2000ms, though the last trigger was 100ms ago
    d.trigger();
    await clock.advance(299);
    expect(calls()).toBe(1);
    await clock.advance(1);
    expect(calls()).toBe(2);
  });

  it("coalesces 50 triggers at once into one call", async () => {
    const { clock, d, calls } = setup();
    for (let i = 0; i < 50; i++) d.trigger();
    await clock.advance(300);
    expect(calls()).toBe(1);
  });

  it("cancel drops the burst", async () => {
    const { clock, d, calls } = setup();
    d.trigger();
    d.cancel();
    await clock.advance(3_000);
    expect(calls()).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});
