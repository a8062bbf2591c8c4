import { describe, expect, it } from "vitest";
import { Capture, containerView, genericView } from "./testing.js";
import { ManualClock } from "../lib/clock.js";
import type { CommandContext } from "./client.js";
import { evaluate, ProgressDisplay, RUNNING_SETTLE_MS, timeoutMessage, waitFor, type ObjectState } from "./progress.js";

const web = { kind: "Container" as const, name: "web" };

describe("evaluate", () => {
  it("deleted: done when the object is gone", () => {
    expect(evaluate(web, undefined, "deleted")).toMatchObject({ done: true, state: "deleted" });
    expect(evaluate(web, containerView("web"), "deleted")).toMatchObject({ done: false, state: "exists" });
  });

  it("running: phase Running, even while health is starting", () => {
    expect(evaluate(web, containerView("web", { health: "starting" }), "running")).toMatchObject({ done: true });
    expect(evaluate(web, containerView("web", { phase: "Restarting" }), "running")).toMatchObject({ done: false, failed: false });
  });

  it("healthy: Running and healthy; says so when there is no healthcheck", () => {
    expect(evaluate(web, containerView("web", { health: "healthy" }), "healthy")).toMatchObject({ done: true });
    expect(evaluate(web, containerView("web", { health: "starting" }), "healthy")).toMatchObject({ done: false, state: "Running (health: starting)" });
    expect(evaluate(web, containerView("web"), "healthy")).toMatchObject({ done: false, state: "Running (no healthcheck)" });
  });

  it("fails on phase Failed, with the reason", () => {
    const failed = containerView("web", { phase: "Failed", reason: "ImagePullFailed", message: "pull busybox:nope: not found" });
    for (const c of ["ready", "healthy", "running"] as const) expect(evaluate(web, failed, c)).toMatchObject({ failed: true, message: "ImagePullFailed: pull busybox:nope: not found" });
  });

  it("other kinds: status.ready for every condition but deleted", () => {
    const vol = { kind: "Volume" as const, name: "data" };
    expect(evaluate(vol, genericView("Volume", "data"), "healthy")).toMatchObject({ ref: "volume/data", done: true });
    expect(evaluate(vol, genericView("Volume", "data", { ready: false }), "running")).toMatchObject({ done: false });
  });
});

describe("timeoutMessage", () => {
  it("names what was not ready and its last state", () => {
    const states: ObjectState[] = [
      { ref: "container/web", done: false, failed: false, state: "Running (health: starting)", message: "" },
      { ref: "container/db", done: true, failed: false, state: "Running", message: "" },
      { ref: "image/app", done: false, failed: false, state: "NotReady", message: "Pulling: 40%" },
    ];
    expect(timeoutMessage(states, 90_000, "ready")).toBe("timed out after 1m30s waiting for container/web (Running (health: starting)), image/app (NotReady: Pulling: 40%) to be ready");
  });
});

describe("ProgressDisplay", () => {
  const s = (ref: string, state: string, done = false, message = ""): ObjectState => ({ ref, done, failed: false, state, message });

  it("prints a line per state change when not a terminal", () => {
    const out = new Capture(false);
    const d = new ProgressDisplay(out);
    d.update([s("container/web", "Pending"), s("volume/data", "Ready", true)]);
    d.update([s("container/web", "Pending"), s("volume/data", "Ready", true)]);
    d.update([s("container/web", "Running (health: starting)", false, "Started"), s("volume/data", "Ready", true)]);
    expect(out.text).toBe("container/web: Pending\nvolume/data: Ready ✓\ncontainer/web: Running (health: starting) (Started)\n");
  });

  it("redraws a table in place on a terminal, cut to its width", () => {
    const out = new Capture(true, 40);
    const d = new ProgressDisplay(out);
    d.update([s("container/web", "Pending")]);
    expect(out.text).toContain("OBJECT");
    expect(out.text).not.toContain("\u001b[2A");
    const before = out.text.length;
    d.update([s("container/web", "Pending")]); // unchanged: no redraw
    expect(out.text.length).toBe(before);
    d.update([s("container/web", "Running (health: starting)", false, "a long message that does not fit the terminal")]);
    const frame = out.text.slice(before);
    expect(frame.startsWith("\u001b[2A\r\u001b[0J")).toBe(true);
    // eslint-disable-next-line no-control-regex
    const plain = frame.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "").replace(/^\r/, "");
    for (const line of plain.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(39);
    expect(plain).toContain("…");
  });
});

describe("waitFor between polls", () => {
  /** A client whose container turns Running when `start()` is called, and whose event stream says so then. */
  function client() {
    let phase = "Pending";
    let push: ((e: { object: string }) => void) | undefined;
    const gets: string[] = [];
    return {
      gets,
      start(object = "container/web") {
        phase = "Running";
        push?.({ object });
      },
      api: {
        get: async (_kind: string, name: string) => (gets.push(phase), containerView(name, { phase: phase as "Running" })),
        watchEvents: (signal?: AbortSignal) => ({
          async *[Symbol.asyncIterator]() {
            for (;;) {
              const e = await new Promise<{ object: string } | undefined>((r) => {
                push = r;
                signal?.addEventListener("abort", () => r(undefined), { once: true });
              });
              if (!e) return;
              yield e;
            }
          },
        }),
      },
    };
  }

  it("an event about a target ends the sleep at once: the poll interval is only the fallback", async () => {
    const c = client();
    const clock = new ManualClock(0);
    const ctx = { client: c.api as unknown as CommandContext["client"], clock };
    const done = waitFor(ctx, [web], { condition: "running", timeoutMs: 60_000, pollMs: 30_000 });
    await new Promise((r) => setTimeout(r, 10));
    expect(c.gets).toEqual(["Pending"]);
    c.start("container/other"); // not a target: no poll (the next poll still sees the change)
    await new Promise((r) => setTimeout(r, 10));
    expect(c.gets).toEqual(["Pending"]);
    c.start();
    const r = await done;
    expect(r.outcome).toBe("done");
    expect(c.gets).toEqual(["Pending", "Running"]);
    expect(clock.now()).toBe(0); // no interval went by
  });

  it("without an event stream it polls at the interval", async () => {
    const c = client();
    const clock = new ManualClock(0);
    const api = { get: c.api.get, watchEvents: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("no stream")) }) }) };
    const done = waitFor({ client: api as unknown as CommandContext["client"], clock }, [web], { condition: "running", timeoutMs: 60_000, pollMs: 1_000 });
    await new Promise((r) => setTimeout(r, 10));
    c.start();
    await new Promise((r) => setTimeout(r, 10));
    expect(c.gets).toEqual(["Pending"]);
    await clock.advance(1_000);
    expect((await done).outcome).toBe("done");
  });
});

describe("waitFor: a container ready by running alone counts once it has run a moment", () => {
  it("one seen running just after its start is looked at again; if it died meanwhile the wait fails", async () => {
    const clock = new ManualClock(Date.parse("2026-01-01T00:00:00.000Z"));
    const startedAt = new Date(clock.now()).toISOString();
    let phase: "Running" | "Exited" = "Running";
    const api = {
      get: async (_k: string, name: string) =>
        containerView(name, phase === "Running" ? { phase, startedAt } : { phase, exitCode: 1 }, { restartPolicy: { name: "no" } }),
      watchEvents: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }) }),
    };
    const done = waitFor({ client: api as unknown as CommandContext["client"], clock }, [web], { condition: "ready", timeoutMs: 60_000, pollMs: 5_000 });
    await new Promise((r) => setTimeout(r, 10));
    phase = "Exited";
    await clock.advance(RUNNING_SETTLE_MS);
    const r = await done;
    expect(r.outcome).toBe("failed");
  });

  it("one that keeps running is done after the settle time, not a poll interval", async () => {
    const clock = new ManualClock(Date.parse("2026-01-01T00:00:00.000Z"));
    const startedAt = new Date(clock.now() - 30).toISOString();
    const api = {
      get: async (_k: string, name: string) => containerView(name, { phase: "Running", startedAt }),
      watchEvents: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }) }),
    };
    const done = waitFor({ client: api as unknown as CommandContext["client"], clock }, [web], { condition: "ready", timeoutMs: 60_000, pollMs: 5_000 });
    await new Promise((r) => setTimeout(r, 10));
    await clock.advance(RUNNING_SETTLE_MS - 30);
    expect((await done).outcome).toBe("done");
  });
});
