import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { handleStopSignals, signalExitCode, STOP_SIGNALS, type StopSignal } from "./stop-signals.js";

function setup() {
  const source = new EventEmitter();
  const first: StopSignal[] = [];
  const forced: StopSignal[] = [];
  const s = handleStopSignals({ source: source as unknown as NodeJS.Process, onFirst: (x) => first.push(x), onForce: (x) => forced.push(x) });
  return { source, first, forced, s };
}

describe("signalExitCode", () => {
  it("is 128 + the signal's number, as shells report it", () => {
    expect(STOP_SIGNALS.map(signalExitCode)).toEqual([130, 143, 129]);
  });
});

describe("handleStopSignals", () => {
  it.each(STOP_SIGNALS)("the first %s aborts, names itself, and does not force", (sig) => {
    const { source, first, forced, s } = setup();
    expect(s.signal.aborted).toBe(false);
    source.emit(sig);
    expect(s.signal.aborted).toBe(true);
    expect((s.signal.reason as Error).message).toBe(`interrupted by ${sig}`);
    expect([s.received(), first, forced]).toEqual([sig, [sig], []]);
  });

  it("a second SIGINT or SIGTERM forces; a later SIGHUP does not; the first stays the one received", () => {
    const { source, first, forced, s } = setup();
    source.emit("SIGTERM");
    source.emit("SIGHUP");
    expect(forced).toEqual([]);
    source.emit("SIGINT");
    source.emit("SIGTERM");
    expect([s.received(), first, forced]).toEqual(["SIGTERM", ["SIGTERM"], ["SIGINT", "SIGTERM"]]);
  });

  it("dispose removes every handler, once", () => {
    const { source, s } = setup();
    expect(STOP_SIGNALS.map((x) => source.listenerCount(x))).toEqual([1, 1, 1]);
    s.dispose();
    s.dispose();
    expect(STOP_SIGNALS.map((x) => source.listenerCount(x))).toEqual([0, 0, 0]);
    source.emit("SIGINT");
    expect(s.signal.aborted).toBe(false);
  });
});
