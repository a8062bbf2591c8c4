import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../testing.js";
import { runEvents } from "./events.js";

describe("berth events", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.eventList = [
      { seq: 1, time: "2024-05-01T12:00:00.123Z", type: "Normal", reason: "Started", object: "container/web", message: "started" },
      { seq: 2, time: "2024-05-01T12:00:05Z", type: "Warning", reason: "BackOff", object: "container/db", message: "back-off 10s\nrestarting" },
    ];
  });
  afterEach(() => h.close());

  it("prints a table", async () => {
    expect(await runEvents(h.ctx, { watch: false })).toBe(0);
    expect(h.stdout.text).toBe(
      "TIME                   TYPE      REASON    OBJECT          MESSAGE\n" +
        "2024-05-01T12:00:00Z   Normal    Started   container/web   started\n" +
        "2024-05-01T12:00:05Z   Warning   BackOff   container/db    back-off 10s restarting\n",
    );
  });

  it("filters with --for and watches until Ctrl-C", async () => {
    const done = runEvents(h.ctx, { watch: true, for: "container/db" });
    await expect.poll(() => h.stdout.text).toContain("BackOff");
    expect(h.stdout.text).not.toContain("Started");
    expect(h.stdout.text.split("\n")[0]).toMatch(/^TIME +TYPE +REASON +OBJECT +MESSAGE$/);
    h.interrupt();
    expect(await done).toBe(0);
  });
});
