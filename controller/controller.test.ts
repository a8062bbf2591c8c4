/**
 * The whole controller against the fake runtime, on a manual clock: convergence, the crash
 * loop backoff and its reset, unhealthy → restart through the backoff, dependsOn and failure
 * propagation, recreate on spec change, drift, prune limits, the kinds other than Container.
 * The user actions (stop/start/restart) have their own table in lifecycle-actions.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { containerYaml, IMAGE, startHarness, type Harness } from "./testing.js";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const restartsAt = (h: Harness, key: string) => h.events("Restarted", key).map((e) => Date.parse(e.time));
const created = (h: Harness) => h.containers.calls.filter((c) => c.method === "create").length;

describe("controller on the fake runtime", () => {
  it("converges: creates and starts every container; a re-apply changes nothing", async () => {
    h = await startHarness();
    const yaml = containerYaml("web") + containerYaml("api", "restartPolicy: always");
    const res = await h.apply(yaml);
    expect(res.changes.map((c) => `${c.name} ${c.action}`).sort()).toEqual(["api created", "web created"]);
    expect((await h.status("web")).phase).toBe("Running");
    expect((await h.status("api")).phase).toBe("Running");
    expect((await h.status("web")).observedGeneration).toBe(1);
    const calls = h.containers.calls.length;
    const pid = (await h.status("web")).pid;
    const again = await h.apply(yaml);
    expect(again.changes.every((c) => c.action === "unchanged")).toBe(true);
    expect(h.containers.calls.slice(calls).filter((c) => !["inspect", "list"].includes(c.method))).toEqual([]);
    expect((await h.status("web")).pid).toBe(pid);
  });

  it("restarts a crash loop at 100, 200, 400, 800ms after each exit, and resets after 10s of running", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web", "restartPolicy: always"));
    const exits: number[] = [];
    for (let i = 0; i < 4; i++) {
      exits.push(h.clock.now());
      h.containers.exit("web", 1);
      await h.settle();
      expect((await h.status("web")).phase).toBe("Restarting");
      expect((await h.status("web")).reason).toBe("CrashLoopBackOff");
      await h.advance(1_000);
    }
    const r = restartsAt(h, "container/web");
    expect(r.map((t, i) => t - exits[i]!)).toEqual([100, 200, 400, 800]);
    expect((await h.status("web")).restartCount).toBe(4);
    expect(h.events("BackOff", "container/web").length).toBeGreaterThanOrEqual(4);
    // ran 10s: the next crash starts over at 100ms
    await h.advance(10_000, 1_000);
    const t = h.clock.now();
    h.containers.exit("web", 1);
    await h.settle();
    await h.advance(200);
    expect(restartsAt(h, "container/web").at(-1)! - t).toBe(100);
  });

  it("on-failure:2 gives up after two restarts and says so; exit 0 is not restarted", async () => {
    h = await startHarness();
    await h.apply(containerYaml("job", "restartPolicy: on-failure:2") + containerYaml("ok", "restartPolicy: on-failure"));
    for (let i = 0; i < 3; i++) {
      h.containers.exit("job", 3);
      await h.settle();
      await h.advance(1_000, 50);
    }
    const s = await h.status("job");
    expect(s.phase).toBe("Failed");
    expect(s.restartCount).toBe(2);
    expect(s.message).toMatch(/gave up after 2 restarts/);
    h.containers.exit("ok", 0);
    await h.settle();
    await h.advance(1_000, 100);
    expect((await h.status("ok")).phase).toBe("Exited");
    expect((await h.status("ok")).restartCount).toBe(0);
  });

  it("an unhealthy container is stopped and restarted through the restart backoff", async () => {
    h = await startHarness();
    let failing = false;
    h.containers.onExec(() => ({ exitCode: failing ? 1 : 0, stdout: failing ? "down" : "ok" }));
    await h.apply(containerYaml("web", "restartPolicy: always", "healthcheck: {exec: [check], interval: 1s, timeout: 1s, retries: 3}"));
    await h.advance(1_500, 100);
    expect((await h.status("web")).health).toBe("healthy");
    const pid = (await h.status("web")).pid;
    failing = true;
    await h.advance(3_000, 100);
    expect(h.events("Unhealthy", "container/web").length).toBeGreaterThan(0);
    failing = false;
    await h.advance(300, 10);
    const s = await h.status("web");
    expect(s.phase).toBe("Running");
    expect(s.pid).not.toBe(pid);
    expect(s.restartCount).toBe(1);
    const died = h.events("Died", "container/web").map((e) => Date.parse(e.time));
    expect(restartsAt(h, "container/web")[0]! - died[0]!).toBe(100);
  });

  it("onUnhealthy: stop stops it for good; none leaves it running", async () => {
    h = await startHarness();
    h.containers.onExec(() => ({ exitCode: 1 }));
    await h.apply(
      containerYaml("a", "restartPolicy: always", "onUnhealthy: stop", "healthcheck: {exec: [check], interval: 1s, retries: 1}") +
        containerYaml("b", "restartPolicy: always", "onUnhealthy: none", "healthcheck: {exec: [check], interval: 1s, retries: 1}"),
    );
    await h.advance(3_000, 100);
    expect((await h.status("a")).phase).toBe("Exited");
    expect((await h.status("b")).phase).toBe("Running");
    expect((await h.status("b")).health).toBe("unhealthy");
    await h.advance(2_000, 200);
    expect((await h.status("a")).restartCount).toBe(0);
  });

  it("dependsOn healthy: the dependent starts only once its dependency is healthy", async () => {
    h = await startHarness();
    let up = false;
    h.containers.onExec((c) => ({ exitCode: c.name === "db" && up ? 0 : 1 }));
    await h.apply(containerYaml("db", "healthcheck: {exec: [check], interval: 1s, retries: 3}") + containerYaml("api", "dependsOn: [{name: db, condition: healthy}]"));
    await h.advance(2_000, 100);
    const s = await h.status("api");
    expect(s.phase).toBe("Pending");
    expect(s.reason).toBe("WaitingForDependency");
    expect(s.message).toMatch(/waits for db \(healthy\)/);
    up = true;
    await h.advance(1_500, 100);
    expect((await h.status("api")).phase).toBe("Running");
    const healthy = Date.parse(h.events("Healthy", "container/db")[0]!.time);
    const started = Date.parse(h.events("Started", "container/api")[0]!.time);
    expect(started).toBeGreaterThanOrEqual(healthy);
  });

  it("dependsOn completed waits for a zero exit; a failed dependency fails its dependents, transitively", async () => {
    h = await startHarness();
    await h.apply(
      containerYaml("migrate") +
        containerYaml("app", "dependsOn: [{name: migrate, condition: completed}]") +
        containerYaml("bad") +
        containerYaml("mid", "dependsOn: [{name: bad, condition: completed}]") +
        containerYaml("top", "dependsOn: [mid]"),
    );
    expect((await h.status("app")).reason).toBe("WaitingForDependency");
    h.containers.exit("migrate", 0);
    h.containers.exit("bad", 2);
    await h.settle();
    expect((await h.status("app")).phase).toBe("Running");
    const mid = await h.status("mid");
    expect(mid.reason).toBe("DependencyFailed");
    expect(mid.message).toMatch(/bad exited with code 2/);
    expect((await h.status("top")).reason).toBe("DependencyFailed");
  });

  it("recreates only the container whose spec changed", async () => {
    h = await startHarness();
    await h.apply(containerYaml("a") + containerYaml("b"));
    const pidB = (await h.status("b")).pid;
    const idA = (await h.status("a")).containerId;
    await h.apply(containerYaml("a", "env: {X: '1'}") + containerYaml("b"));
    expect((await h.status("a")).containerId).not.toBe(idA);
    expect((await h.status("a")).observedGeneration).toBe(2);
    expect((await h.status("b")).pid).toBe(pidB);
    expect(h.events("Recreated").map((e) => e.object)).toEqual(["container/a"]);
    // a live field (restart policy) does not recreate
    const idA2 = (await h.status("a")).containerId;
    await h.apply(containerYaml("a", "env: {X: '1'}", "restartPolicy: always") + containerYaml("b"));
    expect((await h.status("a")).containerId).toBe(idA2);
  });

  it("corrects drift: a container removed or killed behind berth's back comes back", async () => {
    h = await startHarness({ resyncMs: 5_000 });
    await h.apply(containerYaml("web", "restartPolicy: always"));
    const id = (await h.status("web")).containerId!;
    await h.containers.remove(id, { force: true });
    await h.advance(6_000, 500);
    const s = await h.status("web");
    expect(s.phase).toBe("Running");
    expect(s.containerId).not.toBe(id);
    expect(created(h)).toBe(2);
  });

  it("prune deletes only the applying stack's missing objects; another stack's object is a conflict", async () => {
    h = await startHarness();
    await h.apply(containerYaml("a") + containerYaml("b"), { stack: "one" });
    await h.apply(containerYaml("c"), { stack: "two" });
    const res = await h.apply(containerYaml("a"), { stack: "one", prune: true });
    expect(res.changes.map((c) => `${c.name} ${c.action}`)).toEqual(["a unchanged", "b deleted"]);
    expect((await h.containers.list()).map((c) => c.name).sort()).toEqual(["a", "c"]);
    await expect(h.controller.api.get("Container", "b")).rejects.toMatchObject({ kind: "NotFound" });
    await expect(h.apply(containerYaml("c"), { stack: "one" })).rejects.toMatchObject({ kind: "Conflict" });
    expect((await h.status("c")).phase).toBe("Running");
  });

  it("a deleted container shows Terminating until it is gone from the host", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web", "stopGracePeriod: 5s"));
    h.containers.setStopBehavior("web", "ignore-term");
    await h.controller.api.delete("Container", "web");
    await h.advance(100);
    const listed = await h.controller.api.list("Container", {});
    expect(listed.map((v) => [v.metadata.name, (v.status as { reason?: string }).reason])).toEqual([["web", "Terminating"]]);
    await h.advance(5_100, 100);
    expect(await h.controller.api.list("Container", {})).toEqual([]);
    expect(await h.containers.list()).toEqual([]);
    expect(h.events("Removed", "container/web")).toHaveLength(1);
  });

  it("stop() of the controller does not wait out a container's stop grace period", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web", "stopGracePeriod: 1h"));
    h.containers.setStopBehavior("web", "ignore-term");
    await h.controller.api.delete("Container", "web");
    await h.advance(100);
    expect(h.controller.busy()).toBe(true); // the reconcile waits in the runtime's stop
    const t0 = h.clock.now();
    await h.controller.stop(); // returns with no time passing on the clock
    expect(h.clock.now()).toBe(t0);
    expect(h.controller.busy()).toBe(false);
    // the next daemon finishes the job: the deleted container is removed
    await h.restartDaemon();
    await h.advance(3_600_000 + 1_000, 300_000); // its stop signal is ignored again: SIGKILL after the grace
    expect(await h.containers.list()).toEqual([]);
  });

  it("a missing image waits for the Image object that provides it, or fails naming what to do", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web").replace(IMAGE, "localhost/none:1"));
    let s = await h.status("web");
    expect(s.phase).toBe("Failed");
    expect(s.message).toMatch(/localhost\/none:1 is not present: declare an Image object/);
    await h.apply(
      `apiVersion: berth/v1\nkind: Image\nmetadata: {name: none}\nspec: {reference: "localhost/none:1", import: {path: /nonexistent/none.tar}}\n---\n` +
        containerYaml("web").replace(IMAGE, "localhost/none:1"),
    );
    await h.until("the image's failure on the container", async () => /failed/.test((await h.status("web")).message ?? ""));
    s = await h.status("web");
    expect(s.message).toMatch(/\(image\/none\) failed: .*no such file or directory/);
    const img = await h.controller.api.get("Image", "none");
    expect(img.status).toMatchObject({ ready: false, reason: "NotFound" });
    // the image appears (loaded by hand): the container starts at the next resync of the Image
    h.images.addImage("localhost/none:1");
    await h.apply(`apiVersion: berth/v1\nkind: Image\nmetadata: {name: none, labels: {v: "2"}}\nspec: {reference: "localhost/none:1", import: {path: /nonexistent/none.tar}}\n---\n` + containerYaml("web").replace(IMAGE, "localhost/none:1"));
    await h.until("web running", async () => (await h.status("web")).phase === "Running");
    expect((await h.controller.api.get("Image", "none")).status).toMatchObject({ ready: true, observedGeneration: 2 });
  });

  it("pull and build images are NotImplemented on their status, an env file that is missing is a terminal error", async () => {
    h = await startHarness();
    await h.apply(
      `apiVersion: berth/v1\nkind: Image\nmetadata: {name: remote}\nspec: {reference: "example.org/x:1", pull: "example.org/x:1"}\n---\n` +
        containerYaml("web", `envFiles: [${h.stateDir}/missing.env]`),
    );
    expect((await h.controller.api.get("Image", "remote")).status).toMatchObject({ ready: false, reason: "NotImplemented" });
    await h.until("the env file's error on web", async () => (await h.status("web")).reason === "InvalidArgument");
    const s = await h.status("web");
    expect(s.reason).toBe("InvalidArgument");
    expect(s.message).toMatch(/read env file .*missing.env/);
    expect(h.events("Failed", "container/web")).toHaveLength(1);
  });

  it("volumes: a declared volume is created before the container that mounts it; deleting it waits until unused", async () => {
    h = await startHarness();
    await h.apply(`apiVersion: berth/v1\nkind: Volume\nmetadata: {name: data}\n---\n` + containerYaml("db", "mounts: ['data:/data']"));
    expect((await h.controller.api.get("Volume", "data")).status).toMatchObject({ ready: true, mountpoint: expect.any(String) });
    expect((await h.status("db")).phase).toBe("Running");
    await h.controller.api.delete("Volume", "data");
    await h.advance(2_500, 500);
    expect((await h.volumes.list()).map((v) => v.name)).toEqual(["data"]);
    await h.controller.api.delete("Container", "db");
    await h.advance(2_500, 500);
    expect(await h.volumes.list()).toEqual([]);
  });

  it("a HealthCheck attaches by selector, shows what it matched, and detaches when deleted", async () => {
    h = await startHarness();
    h.containers.onExec(() => ({ exitCode: 0 }));
    await h.apply(
      containerYaml("web").replace("metadata: {name: web}", "metadata: {name: web, labels: {tier: web}}") +
        `apiVersion: berth/v1\nkind: HealthCheck\nmetadata: {name: hc}\nspec: {target: {selector: {matchLabels: {tier: web}}}, exec: [check], interval: 1s}\n`,
    );
    await h.advance(1_500, 100);
    expect((await h.controller.api.get("HealthCheck", "hc")).status).toMatchObject({ ready: true, matched: ["web"] });
    expect((await h.status("web")).health).toBe("healthy");
    await h.controller.api.delete("HealthCheck", "hc");
    await h.settle();
    expect((await h.status("web")).health).toBe("none");
  });

  it("retries a failing runtime call with backoff and converges once it works", async () => {
    h = await startHarness();
    h.containers.failNext("create", Object.assign(new Error("runtime busy"), {}), { times: 2 });
    await h.apply(containerYaml("web"));
    expect((await h.status("web")).reason).toBe("ReconcileError");
    await h.advance(100, 5);
    expect((await h.status("web")).phase).toBe("Running");
    expect((await h.status("web")).reason).toBeUndefined();
  });

  it("a daemon restart adopts running containers (same pids) and learns exits that happened meanwhile", async () => {
    h = await startHarness();
    await h.apply(containerYaml("keep") + containerYaml("job"));
    const pid = (await h.status("keep")).pid;
    await h.controller.stop();
    h.containers.exit("job", 0);
    await h.restartDaemon();
    expect((await h.status("keep")).pid).toBe(pid);
    expect((await h.status("job")).phase).toBe("Exited");
    expect(created(h)).toBe(0); // the new runtime instance created nothing
  });
});

describe("a damaged desired state (issue 8: an empty or garbage desired.json kept the daemon from starting)", () => {
  it("one bad copy: the daemon recovers the last apply from the other, says so, and keeps every container", async () => {
    const { writeFileSync } = await import("node:fs");
    const path = await import("node:path");
    h = await startHarness();
    await h.apply(containerYaml("web") + containerYaml("db"));
    const pids = [(await h.status("web")).pid, (await h.status("db")).pid];
    writeFileSync(path.join(h.stateDir, "desired.json"), "");
    await h.restartDaemon();
    expect([(await h.status("web")).pid, (await h.status("db")).pid]).toEqual(pids);
    expect(h.events("DesiredStateRecovered").map((e) => e.message)).toEqual([expect.stringMatching(/desired\.json: empty file; moved to .*desired\.json\.corrupt-.*; recovered the last acknowledged state \(2 objects\) from the backup copy/)]);
    expect(created(h)).toBe(0);
  });

  it("both copies bad: the containers keep running unmanaged until their stack is applied again, which adopts them", async () => {
    const { writeFileSync } = await import("node:fs");
    const path = await import("node:path");
    h = await startHarness({ resyncMs: 5_000 });
    await h.apply(containerYaml("web") + containerYaml("db"));
    await h.apply(containerYaml("other"), { stack: "t" });
    const webPid = (await h.status("web")).pid;
    writeFileSync(path.join(h.stateDir, "desired.json"), "garbage");
    writeFileSync(path.join(h.stateDir, "desired.json.bak"), "{");
    await h.restartDaemon();
    // (the guard's file is written for real)
    await h.until("the lost state's stacks", async () => h.events("DesiredStateLost").some((e) => /keep running unmanaged/.test(e.message)));
    await h.advance(12_000, 1_000); // resyncs: nothing is pruned
    expect((await h.containers.list()).map((c) => c.name).sort()).toEqual(["db", "other", "web"]);
    expect(await h.controller.api.list("Container", {})).toEqual([]);
    expect(h.events("DesiredStateLost").at(-1)!.message).toMatch(/containers of stack s, stack t keep running unmanaged/);
    // a daemon restart keeps guarding them
    await h.restartDaemon();
    await h.advance(6_000, 1_000);
    expect(await h.containers.list()).toHaveLength(3);
    // stack s applied again: web adopted as it runs, db (no longer in the stack) pruned; t still kept
    await h.apply(containerYaml("web"));
    await h.until("db pruned", async () => {
      await h.advance(1_000, 500);
      return (await h.containers.list()).length === 2;
    });
    expect((await h.status("web")).pid).toBe(webPid);
    expect((await h.containers.list()).map((c) => c.name).sort()).toEqual(["other", "web"]);
    expect(created(h)).toBe(0);
  });
});

describe("Image objects on the fake image store", () => {
  it("imports a rootfs tarball once, marks the image ready with its digest, and starts the containers using it", async () => {
    const { execFileSync } = await import("node:child_process");
    const { mkdirSync, writeFileSync } = await import("node:fs");
    const path = await import("node:path");
    h = await startHarness();
    const dir = path.join(h.stateDir, "rootfs");
    mkdirSync(path.join(dir, "bin"), { recursive: true });
    writeFileSync(path.join(dir, "bin/app"), "#!/bin/sh\n");
    const tar = path.join(h.stateDir, "app.tar");
    execFileSync("tar", ["-cf", tar, "-C", dir, "."]);
    const image = `apiVersion: berth/v1\nkind: Image\nmetadata: {name: app}\nspec: {reference: "localhost/app:1", import: {path: ${tar}, config: {cmd: [/bin/app]}}}\n---\n`;
    await h.apply(image + containerYaml("web").replace(IMAGE, "localhost/app:1"));
    await h.until("web running", async () => (await h.status("web")).phase === "Running");
    const img = await h.controller.api.get("Image", "app");
    expect(img.status).toMatchObject({ ready: true, observedGeneration: 1, digest: expect.stringMatching(/^sha256:/) });
    expect(h.events("Imported", "image/app")).toHaveLength(1);
    expect((await h.status("web")).phase).toBe("Running");
    // a re-apply imports nothing again; pullPolicy never with a missing image is a failure
    await h.apply(image + containerYaml("web").replace(IMAGE, "localhost/app:1"));
    expect(h.events("Imported", "image/app")).toHaveLength(1);
    await h.apply(`apiVersion: berth/v1\nkind: Image\nmetadata: {name: other}\nspec: {reference: "localhost/other:1", import: {path: ${tar}}, pullPolicy: never}\n`);
    await h.until("image/other failed", async () => !!(await h.controller.api.get("Image", "other")).status.reason);
    expect((await h.controller.api.get("Image", "other")).status).toMatchObject({ ready: false, reason: "FailedPrecondition" });
  });
});
