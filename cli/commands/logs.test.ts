import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../testing.js";
import { parseTail, runLogs } from "./logs.js";

describe("berth logs", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.logLines = [
      { time: "2024-05-01T12:00:00.000000001Z", stream: "stdout", full: true, text: "hello" },
      { time: "2024-05-01T12:00:00.000000002Z", stream: "stderr", full: true, text: "oops" },
      { time: "2024-05-01T12:00:00.000000003Z", stream: "stdout", full: false, text: "part " },
      { time: "2024-05-01T12:00:00.000000004Z", stream: "stdout", full: true, text: "two" },
    ];
  });
  afterEach(() => h.close());

  it("writes stdout and stderr lines to their streams, joining partial lines", async () => {
    expect(await runLogs(h.ctx, "web", { follow: false, timestamps: false })).toBe(0);
    expect(h.stdout.text).toBe("hello\npart two\n");
    expect(h.stderr.text).toBe("oops\n");
    expect(h.fake.logsAsked).toEqual({ name: "web", follow: false });
  });

  it("prefixes timestamps once per line and passes tail and since", async () => {
    const before = Date.now();
    expect(await runLogs(h.ctx, "web", { follow: false, timestamps: true, tail: "10", since: "10m" })).toBe(0);
    expect(h.stdout.text).toBe("2024-05-01T12:00:00.000000001Z hello\n2024-05-01T12:00:00.000000003Z part two\n");
    expect(h.fake.logsAsked!.tail).toBe(10);
    expect(h.fake.logsAsked!.since).toBeGreaterThanOrEqual(before - 600_000);
    expect(h.fake.logsAsked!.since).toBeLessThanOrEqual(Date.now() - 600_000);
  });

  it("follows until Ctrl-C, then exits 0", async () => {
    const done = runLogs(h.ctx, "web", { follow: true, timestamps: false, tail: "all" });
    await expect.poll(() => h.stdout.text).toBe("hello\npart two\n");
    expect(h.fake.logsAsked).toEqual({ name: "web", follow: true });
    h.interrupt();
    expect(await done).toBe(0);
    await h.fake.streamEnded;
  });

  it("parses --tail", () => {
    expect(parseTail("all")).toBeUndefined();
    expect(parseTail("0")).toBe(0);
    expect(() => parseTail("-1")).toThrow(/invalid --tail/);
  });
});
