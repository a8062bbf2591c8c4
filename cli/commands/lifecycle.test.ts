import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { containerView, startHarness, type Harness } from "../testing.js";
import { runLifecycle } from "./lifecycle.js";

describe("berth stop|start|restart", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.put(containerView("web"));
    h.fake.put(containerView("db"));
  });
  afterEach(() => h.close());

  it.each(["stop", "start", "restart"] as const)("%s prints each name", async (action) => {
    expect(await runLifecycle(h.ctx, action, ["web", "db"])).toBe(0);
    expect(h.stdout.text).toBe("web\ndb\n");
    expect(h.fake.acted).toEqual([`${action} web`, `${action} db`]);
  });

  it("reports a missing container, goes on, and exits with its code", async () => {
    expect(await runLifecycle(h.ctx, "restart", ["nope", "web"])).toBe(3);
    expect(h.stderr.text).toBe("berth: restart container nope: not found\n");
    expect(h.stdout.text).toBe("web\n");
  });

  it("stops at once when the daemon is unreachable", async () => {
    await h.close();
    expect(await runLifecycle(h.ctx, "stop", ["web", "db"])).toBe(6);
    expect(h.stderr.text.split("\n").filter(Boolean)).toHaveLength(1);
    expect(h.stderr.text).toMatch(/no berth daemon is listening/);
    h = await startHarness(); // for afterEach
  });
});
