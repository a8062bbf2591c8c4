import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { containerView, startHarness, type Harness } from "../testing.js";
import { runWait } from "./wait.js";

describe("berth wait", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it("waits for healthy", async () => {
    h.fake.put((n) => containerView("web", { health: n < 3 ? "starting" : "healthy" }), "Container/web");
    expect(await runWait(h.ctx, ["container/web"], { for: "healthy", timeout: "10s", pollMs: 10 })).toBe(0);
    expect(h.stdout.text).toBe("container/web condition met\n");
    expect(h.fake.gets.get("Container/web")).toBe(3);
  });

  it("waits for running", async () => {
    h.fake.put((n) => containerView("web", { phase: n < 2 ? "Pending" : "Running", health: "starting" }), "Container/web");
    expect(await runWait(h.ctx, ["ctr", "web"], { for: "running", timeout: "10s", pollMs: 10 })).toBe(0);
  });

  it("waits for deleted", async () => {
    h.fake.put((n) => (n < 3 ? containerView("web") : undefined), "Container/web");
    expect(await runWait(h.ctx, ["ctr/web"], { for: "deleted", timeout: "10s", pollMs: 10 })).toBe(0);
  });

  it("ends at once with 1 when the container is Failed", async () => {
    h.fake.put(containerView("web", { phase: "Failed", reason: "DependencyFailed", message: "db failed" }));
    expect(await runWait(h.ctx, ["ctr/web"], { for: "healthy", timeout: "1m", pollMs: 10 })).toBe(1);
    expect(h.stderr.text).toBe("berth: container/web failed: DependencyFailed: db failed\n");
  });

  it("times out with 1, stating the last state", async () => {
    h.fake.put(containerView("web", { phase: "Restarting", exitCode: 1, reason: "CrashLoopBackOff" }));
    expect(await runWait(h.ctx, ["ctr/web"], { for: "running", timeout: "100ms", pollMs: 10 })).toBe(1);
    expect(h.stderr.text).toBe("berth: timed out after 100ms waiting for container/web (Restarting (1): CrashLoopBackOff) to be running\n");
  });

  it("reports a missing object as NotFound, and bad conditions as usage errors", async () => {
    await expect(runWait(h.ctx, ["ctr/nope"], { for: "running", timeout: "1s" })).rejects.toMatchObject({ kind: "NotFound" });
    await expect(runWait(h.ctx, ["ctr/web"], { for: "happy", timeout: "1s" })).rejects.toThrow('invalid --for "happy": use one of ready, healthy, running, deleted');
  });
});
