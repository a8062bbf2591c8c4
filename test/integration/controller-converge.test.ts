import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../controller/api/client.js";
import type { EventRecord } from "../../controller/api/protocol.js";
import type { Daemon } from "../../controller/daemon.js";
import { daemonEnv, files, startTestDaemon, status, until, untilContainer, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

const ctr = (name: string, spec: string, labels = "") =>
  `---\napiVersion: berth/v1\nkind: Container\nmetadata:\n  name: ${name}\n${labels ? `  labels: {${labels}}\n` : ""}spec:\n  image: localhost/busybox:latest\n  networkMode: none\n  stopGracePeriod: 1s\n${spec}`;

/**
 * The reconcile loop against the real runtime (runc + conmon + overlay), driven through the
 * API as the CLI drives it.
 */
describe.skipIf(lacking)("controller converges the host on the manifests", () => {
  let env: DaemonEnv;
  let daemon: Daemon;
  let client: ApiClient;

  beforeAll(async () => {
    env = daemonEnv();
    daemon = await startTestDaemon(env);
    client = new ApiClient(daemon.socketPath);
  });
  afterAll(async () => {
    await daemon?.stop();
    await env?.cleanup();
  });

  const events = async (object: string, reason: string): Promise<EventRecord[]> => (await client.events()).filter((e) => e.object === object && e.reason === reason);

  it("imports the image, starts containers, and a re-apply changes nothing", async () => {
    const text = env.imageManifest + ctr("sleeper", "  command: [sleep, '3600']\n  restartPolicy: always\n") + ctr("oneshot", "  command: [sh, -c, 'echo done']\n");
    const r = await client.apply({ stack: "basic", files: files(text) });
    expect(r.diagnostics).toEqual([]);
    expect(r.changes).toEqual([
      // dependency order: kinds, then names
      { kind: "Image", name: "busybox", action: "created" },
      { kind: "Container", name: "oneshot", action: "created" },
      { kind: "Container", name: "sleeper", action: "created" },
    ]);
    const running = await untilContainer(client, "sleeper", "running", (s) => s.phase === "Running");
    expect(status(running).pid).toBeGreaterThan(1);
    const done = await untilContainer(client, "oneshot", "exited 0", (s) => s.phase === "Exited" && s.exitCode === 0);
    expect(status(done).restartCount).toBe(0);
    let log = "";
    for await (const l of client.logs("oneshot")) log += l.text;
    expect(log).toBe("done");
    expect((await client.get("Image", "busybox")).status).toMatchObject({ ready: true, digest: expect.stringMatching(/^sha256:/) });

    const again = await client.apply({ stack: "basic", files: files(text) });
    expect(again.changes.map((c) => c.action)).toEqual(["unchanged", "unchanged", "unchanged"]);
    await new Promise((r) => setTimeout(r, 500));
    expect(status(await client.get("Container", "sleeper")).pid).toBe(status(running).pid);
  });

  it("restarts a crash-looping container with growing delays, and says it is backing off", async () => {
    await client.apply({
      stack: "crash",
      files: files(ctr("crasher", "  command: [sh, -c, 'exit 3']\n  restartPolicy: {name: always, backoff: {initial: 200ms, max: 5s, resetAfter: 10s}}\n")),
    });
    const backing = await untilContainer(client, "crasher", "backing off", (s) => s.phase === "Restarting" && s.restartCount >= 1);
    expect(status(backing)).toMatchObject({ reason: "CrashLoopBackOff", exitCode: 3 });
    expect(status(backing).message).toMatch(/^back-off \d+ms restarting/);
    await until("4 restarts", async () => ((await events("container/crasher", "Restarted")).length >= 4 ? true : undefined), 30_000);
    const starts = (await events("container/crasher", "Restarted")).map((e) => Date.parse(e.time));
    const exits = (await events("container/crasher", "Died")).map((e) => Date.parse(e.time));
    expect(starts.length).toBeGreaterThanOrEqual(4);
    // delay before restart n = start(n) - exit(n-1): 200, 400, 800, 1600 ms (± scheduling)
    const delays = starts.slice(0, 4).map((s, i) => s - exits[i]!);
    for (const [i, want] of [200, 400, 800, 1600].entries()) {
      expect(delays[i]!, `delay ${i} of ${JSON.stringify(delays)}`).toBeGreaterThanOrEqual(want - 20);
      expect(delays[i]!, `delay ${i} of ${JSON.stringify(delays)}`).toBeLessThan(want + 700);
    }
    await client.delete("Container", "crasher");
  });

  it("restarts a container whose healthcheck starts failing, after `retries` failures", async () => {
    await client.apply({
      stack: "health",
      files: files(
        ctr(
          "probed",
          "  command: [sh, -c, 'touch /tmp/ok; exec sleep 3600']\n  restartPolicy: always\n  healthcheck: {exec: [test, -f, /tmp/ok], interval: 300ms, timeout: 2s, retries: 2}\n",
        ),
      ),
    });
    const healthy = await untilContainer(client, "probed", "healthy", (s) => s.phase === "Running" && s.health === "healthy");
    const firstPid = status(healthy).pid;
    expect(status(healthy).healthResults?.at(-1)).toMatchObject({ result: "success" });

    const broke = Date.now();
    expect((await client.exec("probed", { argv: ["rm", "/tmp/ok"] })).exitCode).toBe(0);
    const restarted = await untilContainer(client, "probed", "restarted after turning unhealthy", (s) => s.restartCount === 1 && s.phase === "Running" && s.pid !== firstPid, 20_000);
    const unhealthy = await events("container/probed", "Unhealthy");
    expect(unhealthy.length).toBeGreaterThanOrEqual(1);
    // two failures at a 300ms interval: not before ~600ms after the file went away
    expect(Date.parse(unhealthy[0]!.time) - broke).toBeGreaterThanOrEqual(300);
    expect(unhealthy[0]!.message).toMatch(/health healthy → unhealthy/);
    // the new run creates /tmp/ok again (a new overlay upper? no: same container) and is healthy again
    await untilContainer(client, "probed", "healthy again", (s) => s.health === "healthy" && s.pid === status(restarted).pid);
    await client.delete("Container", "probed");
  });

  it("probes HTTP and TCP inside the network namespace of a container with its own network", async () => {
    // Port 8093 is bound only inside the container's namespace: a probe from the host would fail.
    await client.apply({
      stack: "netns",
      files: files(
        ctr("web-none", "  command: [sh, -c, 'echo ok > /tmp/index.html; exec httpd -f -p 127.0.0.1:8093 -h /tmp']\n  restartPolicy: always\n  healthcheck: {http: {port: 8093, path: /}, interval: 300ms, timeout: 2s}\n") +
          ctr("tcp-none", "  command: [nc, -ll, -p, '8094', -e, cat]\n  healthcheck: {tcp: {port: 8094}, interval: 300ms, timeout: 2s}\n") +
          ctr("tcp-closed", "  command: [sleep, '3600']\n  healthcheck: {tcp: {port: 8095}, interval: 200ms, timeout: 1s, retries: 2}\n  onUnhealthy: none\n"),
      ),
    });
    const web = await untilContainer(client, "web-none", "healthy", (s) => s.health === "healthy");
    expect(status(web).healthResults?.at(-1)).toMatchObject({ result: "success", output: expect.stringMatching(/200/) });
    await untilContainer(client, "tcp-none", "healthy", (s) => s.health === "healthy");
    const closed = await untilContainer(client, "tcp-closed", "unhealthy", (s) => s.health === "unhealthy");
    expect(status(closed).healthResults?.at(-1)).toMatchObject({ result: "failure" });
    await client.delete("Container", "web-none");
    await client.delete("Container", "tcp-none");
    await client.delete("Container", "tcp-closed");
  });

  it("starts a dependent only after its dependency is healthy", async () => {
    const text =
      ctr("db", "  command: [sh, -c, 'sleep 1.5; touch /tmp/ready; exec sleep 3600']\n  healthcheck: {exec: [test, -f, /tmp/ready], interval: 250ms}\n") +
      ctr("app", "  command: [sleep, '3600']\n  dependsOn: [{name: db, condition: healthy}]\n");
    await client.apply({ stack: "deps", files: files(text) });
    const waiting = await untilContainer(client, "app", "waiting for db", (s) => s.reason === "WaitingForDependency");
    expect(status(waiting).phase).toBe("Pending");
    expect(status(waiting).message).toMatch(/waits for db \(healthy\)/);
    const app = await untilContainer(client, "app", "running", (s) => s.phase === "Running", 20_000);
    const healthyAt = Date.parse((await events("container/db", "Healthy"))[0]!.time);
    expect(Date.parse(status(app).startedAt!)).toBeGreaterThanOrEqual(healthyAt);
  });

  it("reports a dependency that can never be satisfied on the dependent", async () => {
    await client.apply({
      stack: "deps2",
      files: files(ctr("broken", "  command: [sh, -c, 'exit 2']\n") + ctr("needs-broken", "  command: [sleep, '3600']\n  dependsOn: [{name: broken, condition: completed}]\n")),
    });
    const failed = await untilContainer(client, "needs-broken", "failed", (s) => s.phase === "Failed");
    expect(status(failed)).toMatchObject({ reason: "DependencyFailed" });
    expect(status(failed).message).toMatch(/broken exited with code 2/);
  });

  it("recreates only the container whose manifest changed", async () => {
    const v1 = ctr("keep", "  command: [sleep, '3600']\n") + ctr("change", "  command: [sleep, '3600']\n  env: {V: '1'}\n");
    await client.apply({ stack: "edit", files: files(v1) });
    const keep = await untilContainer(client, "keep", "running", (s) => s.phase === "Running");
    const change = await untilContainer(client, "change", "running", (s) => s.phase === "Running");
    const r = await client.apply({ stack: "edit", files: files(v1.replace("V: '1'", "V: '2'")) });
    expect(r.changes).toEqual([
      { kind: "Container", name: "change", action: "configured" },
      { kind: "Container", name: "keep", action: "unchanged" },
    ]);
    const changed = await untilContainer(client, "change", "recreated", (s) => s.phase === "Running" && s.containerId !== status(change).containerId);
    expect((await client.exec("change", { argv: ["sh", "-c", "echo $V"] })).stdout).toBe("2\n");
    expect(status(changed).specHash).not.toBe(status(change).specHash);
    const kept = await client.get("Container", "keep");
    expect(status(kept)).toMatchObject({ containerId: status(keep).containerId, pid: status(keep).pid });
  });

  it("brings back a container killed behind its back (drift)", async () => {
    const before = status(await client.get("Container", "sleeper"));
    execFileSync("runc", ["--root", path.join(env.runRoot, "runc"), "kill", before.containerId!, "KILL"]);
    const back = await untilContainer(client, "sleeper", "restarted", (s) => s.phase === "Running" && s.pid !== before.pid, 15_000);
    expect(status(back).restartCount).toBe(before.restartCount + 1);
  });

  it("brings back a container removed behind its back with runc delete", async () => {
    await client.apply({ stack: "basic", files: files(env.imageManifest) }); // unchanged after the first test
    await client.apply({ stack: "victim", files: files(ctr("victim", "  command: [sleep, '3600']\n  restartPolicy: unless-stopped\n")) });
    const before = status(await untilContainer(client, "victim", "running", (s) => s.phase === "Running"));
    execFileSync("runc", ["--root", path.join(env.runRoot, "runc"), "delete", "-f", before.containerId!]);
    const back = await untilContainer(client, "victim", "running again", (s) => s.phase === "Running" && s.pid !== before.pid, 15_000);
    expect(status(back).pid).toBeGreaterThan(1);
    await client.delete("Container", "victim");
  });

  it("prunes only the applying stack's missing objects", async () => {
    await client.apply({ stack: "p1", files: files(ctr("p1-a", "  command: [sleep, '3600']\n") + ctr("p1-b", "  command: [sleep, '3600']\n")) });
    await untilContainer(client, "p1-b", "running", (s) => s.phase === "Running");
    const r = await client.apply({ stack: "p1", files: files(ctr("p1-a", "  command: [sleep, '3600']\n")), prune: true });
    expect(r.changes).toEqual([
      { kind: "Container", name: "p1-a", action: "unchanged" },
      { kind: "Container", name: "p1-b", action: "deleted" },
    ]);
    await until("p1-b removed from the host", async () => {
      const all = await daemon.runtime.containers.list();
      return all.some((c) => c.name === "p1-b") ? undefined : true;
    });
    // other stacks untouched
    expect(status(await client.get("Container", "keep")).phase).toBe("Running");
    expect(status(await client.get("Container", "sleeper")).phase).toBe("Running");
  });

  it("refuses to take an object from another stack, and keeps the last good state on a bad apply", async () => {
    await expect(client.apply({ stack: "other", files: files(ctr("keep", "  command: [sleep, '3600']\n")) })).rejects.toMatchObject({ kind: "Conflict" });
    const bad = await client.apply({ stack: "edit", files: files(ctr("keep", "  command: [sleep, '3600']\n  restartPolicy: sometimes\n")) });
    expect(bad.changes).toEqual([]);
    expect(bad.diagnostics[0]).toMatchObject({ file: "stack.yaml", line: 11, path: "spec.restartPolicy" });
    expect(status(await client.get("Container", "keep")).phase).toBe("Running");
  });

  it("berth restart restarts a running container under every restart policy, as Docker does", async () => {
    const policies = ["no", "on-failure", "always", "unless-stopped"] as const;
    // (the image: imported by the first test's stack)
    const text = policies.map((p) => ctr(`rs-${p}`, `  command: [sleep, '3600']\n  restartPolicy: ${p}\n`)).join("");
    expect((await client.apply({ stack: "restarts", files: files(text) })).diagnostics).toEqual([]);
    for (const p of policies) {
      const name = `rs-${p}`;
      const before = status(await untilContainer(client, name, "running", (s) => s.phase === "Running"));
      // answered once carried out: stopped (sleep ignores SIGTERM: 1s grace, then SIGKILL) and started again
      const view = status(await client.act(name, "restart"));
      expect(view, p).toMatchObject({ phase: "Running", restartCount: 0 });
      expect(view.pid, p).not.toBe(before.pid);
      const reasons = (await client.events()).filter((e) => e.object === `container/${name}` && ["Stopped", "Started", "Restarted", "BackOff"].includes(e.reason));
      expect(reasons.map((e) => `${e.reason}: ${e.message.replace(/, pid \d+$/, "")}`).slice(-2), p).toEqual(["Stopped: stopped by the user to restart it", "Started: started by the user"]);
      expect(reasons.some((e) => e.reason === "BackOff" || e.reason === "Restarted"), p).toBe(false);
    }
    // stop is remembered, start starts it again keeping the count
    expect(status(await client.act("rs-always", "stop"))).toMatchObject({ phase: "Exited" });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(status(await client.get("Container", "rs-always")).phase).toBe("Exited");
    expect(status(await client.act("rs-always", "start"))).toMatchObject({ phase: "Running", restartCount: 0 });
    for (const p of policies) await client.delete("Container", `rs-${p}`);
  });

  it("leaves containers running when the daemon stops, and a new daemon adopts them", async () => {
    const before = status(await client.get("Container", "keep"));
    await daemon.stop();
    process.kill(before.pid!, 0); // still alive
    daemon = await startTestDaemon(env);
    client = new ApiClient(daemon.socketPath);
    const after = await untilContainer(client, "keep", "adopted", (s) => s.phase === "Running");
    expect(status(after)).toMatchObject({ pid: before.pid, containerId: before.containerId, restartCount: 0 });
  });

  it("starts on a garbage desired.json (issue 8: it refused to start), recovers the last apply from its backup, and keeps the containers", async () => {
    const before = status(await client.get("Container", "keep"));
    await daemon.stop();
    const { writeFileSync, readdirSync } = await import("node:fs");
    const dir = path.join(env.root, "controller");
    writeFileSync(path.join(dir, "desired.json"), "\u0000garbage");
    daemon = await startTestDaemon(env);
    client = new ApiClient(daemon.socketPath);
    const after = await untilContainer(client, "keep", "adopted", (s) => s.phase === "Running");
    expect(status(after)).toMatchObject({ pid: before.pid, containerId: before.containerId });
    const recovered = (await client.events()).filter((e) => e.reason === "DesiredStateRecovered");
    expect(recovered.map((e) => e.message)).toEqual([expect.stringMatching(/desired\.json: not JSON.*recovered the last acknowledged state \(\d+ objects\) from the backup copy/)]);
    expect(readdirSync(dir).filter((n) => n.startsWith("desired.json.corrupt-"))).toHaveLength(1);
  });
});
