import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { unavailable } from "../../lib/errors.js";
import { REBOOT_REASON } from "../containers/adoption.js";
import { containerRuntimeSuite } from "../conformance/container-runtime-suite.js";
import { openFakeHarness } from "../conformance/fake-harness.js";
import type { LogLine, RuntimeEvent } from "../types.js";
import { FakeContainerRuntime } from "./fake-container-runtime.js";
import { testSpec } from "./create-spec.js";
import { createFakeRuntime } from "./fake-runtime.js";

// The conformance suite the real runtime passes in test/integration/runtime-conformance.test.ts.
containerRuntimeSuite("FakeContainerRuntime", openFakeHarness);

const spec = testSpec;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("FakeContainerRuntime test controls", () => {
  it("exit(): the process ends by itself, with oomKilled when asked; an event says so", async () => {
    const rt = new FakeContainerRuntime({ clock: new ManualClock() });
    const ac = new AbortController();
    const events: RuntimeEvent[] = [];
    const done = (async () => {
      for await (const e of rt.events(ac.signal)) events.push(e);
    })();
    await rt.create(spec("web"));
    await rt.start("web");
    rt.exit("web", 137, { oomKilled: true });
    expect(await rt.inspect("web")).toMatchObject({ status: "exited", exitCode: 137, oomKilled: true });
    expect(() => rt.exit("web", 1)).toThrow(expect.objectContaining({ kind: "FailedPrecondition" }));
    ac.abort();
    await done;
    expect(events.map((e) => e.type)).toEqual(["started", "exited"]);
    expect(events[1]).toMatchObject({ exitCode: 137, oomKilled: true });
  });

  it("setStopBehavior ignore-term: stop waits the whole grace period on the clock, then SIGKILL", async () => {
    const clock = new ManualClock();
    const rt = new FakeContainerRuntime({ clock });
    await rt.create(spec("stubborn", { stopGracePeriodMs: 3000 }));
    await rt.start("stubborn");
    rt.setStopBehavior("stubborn", "ignore-term");
    let stopped = false;
    const stopping = rt.stop("stubborn").then((s) => ((stopped = true), s));
    await clock.advance(2999);
    expect(stopped).toBe(false);
    await clock.advance(1);
    expect(await stopping).toMatchObject({ status: "exited", exitCode: 137 });
  });

  it("exit-on-signal (the default): the stop signal ends the process with 128+n", async () => {
    const rt = new FakeContainerRuntime({ clock: new ManualClock() });
    await rt.create(spec("polite"));
    await rt.start("polite");
    expect(await rt.stop("polite")).toMatchObject({ exitCode: 143 });
  });

  it("onExec programs exec results; a timeout resolves on the clock with timedOut", async () => {
    const clock = new ManualClock();
    const rt = new FakeContainerRuntime({ clock });
    rt.onExec((c, o) => (o.argv[0] === "hang" ? new Promise(() => {}) : { exitCode: 2, stdout: `${c.name}:${o.argv.join(" ")}` }));
    await rt.create(spec("svc"));
    await rt.start("svc");
    expect(await rt.exec("svc", { argv: ["echo", "hi"] })).toEqual({ exitCode: 2, stdout: "svc:echo hi", stderr: "", timedOut: false });
    const hung = rt.exec("svc", { argv: ["hang"], timeoutMs: 1000 });
    await clock.advance(1000);
    expect(await hung).toMatchObject({ exitCode: 137, timedOut: true });
    // The container ending ends its execs too.
    const orphan = rt.exec("svc", { argv: ["hang"] });
    rt.exit("svc", 0);
    expect(await orphan).toMatchObject({ exitCode: 137, timedOut: false });
  });

  it("appendLog feeds logs; follow ends when the container exits", async () => {
    const rt = new FakeContainerRuntime({ clock: new ManualClock() });
    await rt.create(spec("app"));
    await rt.start("app");
    rt.appendLog("app", "one\ntwo");
    const following = collect<LogLine>(rt.logs("app", { follow: true }));
    rt.appendLog("app", "oops", { stream: "stderr" });
    rt.exit("app", 0);
    expect((await following).map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "one"],
      ["stdout", "two"],
      ["stderr", "oops"],
    ]);
  });

  it("failNext injects failures into the next calls; calls logs every call with its arguments", async () => {
    const rt = new FakeContainerRuntime({ clock: new ManualClock() });
    const boom = unavailable("runc is gone");
    rt.failNext("create", boom, { times: 2 });
    await expect(rt.create(spec("a"))).rejects.toBe(boom);
    await expect(rt.create(spec("a"))).rejects.toBe(boom);
    await rt.create(spec("a"));
    rt.failNext("logs", boom);
    await expect(collect(rt.logs("a"))).rejects.toBe(boom);
    rt.failNext("events", boom);
    await expect(collect(rt.events())).rejects.toBe(boom);
    expect(rt.calls.map((c) => c.method)).toEqual(["create", "create", "create", "logs", "events"]);
    expect(rt.calls[2]!.args[0]).toMatchObject({ name: "a" });
  });

  it("reopen: running containers keep their pids, exits while closed are learned without an event, handlers are kept", async () => {
    const fake = createFakeRuntime({ images: { busybox: undefined } });
    const rt = fake.containers;
    rt.onExec(() => ({ stdout: "kept" }));
    await rt.create(spec("web"));
    await rt.create(spec("job"));
    const web = await rt.start("web");
    await rt.start("job");
    await rt.close();
    await expect(rt.inspect("web")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    rt.exit("job", 3); // no instance runs
    const rt2 = await fake.reopen();
    expect(rt2).toBe(fake.containers);
    expect(await rt2.inspect("web")).toMatchObject({ status: "running", pid: web.pid });
    expect(await rt2.inspect("job")).toMatchObject({ status: "exited", exitCode: 3 });
    expect((await rt2.exec("web", { argv: ["x"] })).stdout).toBe("kept");
    expect(rt2.calls.map((c) => c.method)).toEqual(["inspect", "inspect", "exec"]);
  });

  it("wipeHost: a reboot reports running containers exited 255 with the reboot reason, exits not yet recorded included", async () => {
    const clock = new ManualClock();
    const rt = new FakeContainerRuntime({ clock });
    await rt.create(spec("a"));
    await rt.create(spec("b"));
    await rt.create(spec("c"));
    await rt.start("a");
    await rt.start("b");
    await rt.close();
    rt.exit("b", 0); // its exit file is lost with the run-root
    const rt2 = await rt.wipeHost();
    for (const n of ["a", "b"]) expect(await rt2.inspect(n)).toMatchObject({ status: "exited", exitCode: 255, reason: REBOOT_REASON });
    expect((await rt2.inspect("c")).status).toBe("created");
  });

  it("resolves images through the image store and marks them in use; volumes are acquired and released", async () => {
    const fake = createFakeRuntime({ images: { "localhost/app:1": { Cmd: ["app"], StopSignal: "SIGQUIT" } } });
    const img = await fake.images.get("localhost/app:1");
    await expect(fake.containers.create(spec("x", { image: "localhost/app:2" }))).rejects.toMatchObject({ kind: "NotFound" });
    const c = await fake.containers.create(spec("x", { image: "localhost/app:1", mounts: [{ type: "volume", source: "data", target: "/data", readOnly: false }] }));
    expect(c.imageDigest).toBe(img.digest);
    await expect(fake.images.remove("localhost/app:1")).rejects.toMatchObject({ kind: "Conflict" });
    expect(await fake.volumes.users("data")).toEqual([c.id]);
    await fake.containers.start("x");
    // The image's StopSignal: SIGQUIT (3) ends it with 131.
    expect((await fake.containers.stop("x")).exitCode).toBe(131);
    await fake.containers.remove("x");
    expect(await fake.volumes.users("data")).toEqual([]);
    await fake.volumes.remove("data");
    await fake.images.remove("localhost/app:1");
  });
});
