/**
 * `berth stop|start|restart` as Docker does them, for every restart policy, on the fake
 * runtime: policies × actions × a daemon restart.
 */
import { afterEach, describe, expect, it } from "vitest";
import { containerYaml, startHarness, type Harness } from "../../testing.js";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const POLICIES = ["no", "on-failure", "always", "unless-stopped"] as const;
type Policy = (typeof POLICIES)[number];

async function running(policy: Policy) {
  h = await startHarness();
  await h.apply(containerYaml("web", `restartPolicy: ${policy}`, "stopGracePeriod: 2s"));
  expect((await h.status("web")).phase).toBe("Running");
  return (await h.status("web")).pid!;
}

/**
 * Runs a user action to its answer. The clock moves only while the controller works on it
 * (a stop may wait out its grace period); before that, the intent is being written to disk
 * for real.
 */
async function act(action: "stop" | "start" | "restart") {
  let answered = false;
  const done = h.controller.api.act("web", action, new AbortController().signal).then(() => (answered = true));
  for (let i = 0; i < 2_000 && !answered; i++) {
    if (h.controller.busy()) await h.advance(50);
    else await new Promise((r) => setTimeout(r, 1));
  }
  expect(answered).toBe(true);
  await done;
  await h.settle();
}

const userEvents = () => h.events(undefined, "container/web").filter((e) => ["Stopped", "Started", "Restarted", "BackOff"].includes(e.reason)).map((e) => `${e.reason}: ${e.message.replace(/, pid \d+/, "")}`);

describe.each(POLICIES)("restart policy %s", (policy) => {
  it("restart of a running container: stop then start, restartCount unchanged, events by the user", async () => {
    const pid = await running(policy);
    const before = userEvents().length;
    await act("restart");
    const s = await h.status("web");
    expect(s.phase).toBe("Running");
    expect(s.pid).not.toBe(pid);
    expect(s.restartCount).toBe(0);
    expect(userEvents().slice(before)).toEqual(["Stopped: stopped by the user to restart it", "Started: started by the user"]);
    await h.advance(2_000, 200);
    expect((await h.status("web")).pid).toBe(s.pid); // nothing restarts it again
  });

  it("restart of a process that ignores SIGTERM waits out the grace period, then starts it", async () => {
    await running(policy);
    h.containers.setStopBehavior("web", "ignore-term");
    await act("restart");
    expect((await h.status("web")).phase).toBe("Running");
    const stopAt = h.containers.calls.filter((c) => c.method === "stop").at(-1)!.at;
    const started = Date.parse(h.events("Started", "container/web").at(-1)!.time);
    expect(started - stopAt).toBeGreaterThanOrEqual(2_000);
    expect(started - stopAt).toBeLessThanOrEqual(2_100);
  });

  it("stop is remembered: no policy restarts it", async () => {
    await running(policy);
    await act("stop");
    expect((await h.status("web")).phase).toBe("Exited");
    await h.advance(65_000, 5_000);
    expect((await h.status("web")).phase).toBe("Exited");
    expect(h.events("Restarted", "container/web")).toEqual([]);
  });

  it("start of a stopped container starts it and keeps restartCount", async () => {
    await running(policy);
    if (policy !== "no") {
      h.containers.exit("web", 1);
      await h.settle();
      await h.advance(200);
      expect((await h.status("web")).restartCount).toBe(1);
    }
    await act("stop");
    await act("start");
    const s = await h.status("web");
    expect(s.phase).toBe("Running");
    expect(s.restartCount).toBe(policy === "no" ? 0 : 1);
    expect(userEvents().at(-1)).toBe("Started: started by the user");
  });

  it("restart of an exited container starts it", async () => {
    await running(policy);
    h.containers.exit("web", 0);
    await h.settle();
    await h.advance(500);
    await act("restart");
    expect((await h.status("web")).phase).toBe("Running");
  });

  it("after a daemon restart a stopped container stays stopped, except under always (Docker's rule)", async () => {
    await running(policy);
    await act("stop");
    await h.advance(1_000, 100);
    await h.restartDaemon();
    await h.advance(1_000, 100);
    expect((await h.status("web")).phase).toBe(policy === "always" ? "Running" : "Exited");
  });
});

describe("stop during a pending restart", () => {
  it.each(["on-failure", "always", "unless-stopped"] as const)("%s: the restart is cancelled", async (policy) => {
    await running(policy);
    h.containers.exit("web", 1);
    await h.settle();
    expect((await h.status("web")).phase).toBe("Restarting");
    await act("stop");
    const s = await h.status("web");
    expect(s.phase).toBe("Exited");
    expect(s.nextRestartAt).toBeUndefined();
    await h.advance(5_000, 100);
    expect((await h.status("web")).phase).toBe("Exited");
    expect(h.events("Restarted", "container/web")).toEqual([]);
  });

  it("on-failure that gave up can be started by the user, and gets its retries again", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web", "restartPolicy: on-failure:1"));
    h.containers.exit("web", 1);
    await h.settle();
    await h.advance(200);
    h.containers.exit("web", 1);
    await h.settle();
    expect((await h.status("web")).phase).toBe("Failed");
    await act("start");
    expect((await h.status("web")).phase).toBe("Running");
    h.containers.exit("web", 1);
    await h.settle();
    await h.advance(200);
    const s = await h.status("web");
    expect(s.phase).toBe("Running");
    expect(s.restartCount).toBe(2);
  });
});

describe("user actions and their answers", () => {
  it("an acknowledged stop survives a daemon crash (the intent is persisted before the answer)", async () => {
    await running("always");
    await act("stop");
    // kill -9: no orderly stop, no flush; a new controller reads what was written
    await h.restartDaemon();
    await h.advance(500);
    expect((await h.status("web")).phase).toBe("Exited");
  });

  it("the answer comes when the client gives up, with the status as it is", async () => {
    await running("no");
    h.containers.setStopBehavior("web", "ignore-term");
    const ac = new AbortController();
    const done = h.controller.api.act("web", "stop", ac.signal);
    await h.advance(100);
    ac.abort();
    const view = await done;
    expect(view.metadata.name).toBe("web");
    await h.advance(2_500, 100);
    expect((await h.status("web")).phase).toBe("Exited");
  });

  it("a container that is not desired is NotFound", async () => {
    h = await startHarness();
    await expect(h.controller.api.act("nope", "stop", new AbortController().signal)).rejects.toMatchObject({ kind: "NotFound" });
  });
});
