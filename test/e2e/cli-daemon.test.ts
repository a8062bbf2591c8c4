/**
 * The berth CLI end to end: a real `berth daemon` child process (runc + conmon + overlay on
 * this host) driven only through the built CLI, as a user would. The tests run in order and
 * build on each other's objects, like a session at a terminal.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOf, leftovers, spawnBerth, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";
import type { RunResult } from "../helpers/cli.js";
import { cgroupDirsOf, runcIds } from "../helpers/rootfs.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

const ctr = (name: string, labels: string, spec: string) =>
  `---\napiVersion: berth/v1\nkind: Container\nmetadata:\n  name: ${name}\n  labels: {${labels}}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n${spec}`;

// web: a line on stderr, two on stdout, then prints whatever lands in /tmp/say (so a test can
// make it log a line on demand); healthy while /tmp exists. Its shell ignores SIGTERM as PID 1.
// conmon reads stdout and stderr separately, so lines written to both at once may be logged
// in either order: the pause keeps the order of the log file certain.
const WEB = ctr(
  "web",
  "app: x",
  `  command: [sh, -c, 'echo oops >&2; sleep 0.3; echo hello; echo world; while true; do if [ -f /tmp/say ]; then cat /tmp/say; rm -f /tmp/say; fi; sleep 0.2; done']
  stopGracePeriod: 1s
  restartPolicy: always
  healthcheck: {exec: [test, -d, /tmp], interval: 500ms}
`,
);
const WORKER = (grace: string) => ctr("worker", "app: y", `  command: [sleep, '3600']\n  stopGracePeriod: ${grace}\n  restartPolicy: unless-stopped\n`);

type Status = {
  phase: string;
  health: string;
  restartCount: number;
  exitCode?: number;
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  message?: string;
  containerId?: string;
};

describe.skipIf(lacking)("berth CLI against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let dir: string;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };
  let appYaml: string;
  let appText: string;
  let webId: string | undefined;
  let idsAfterWait: string[] = [];

  const statusOf = async (name: string): Promise<Status> => {
    const r = await cli(["get", "ctr", name, "-o", "json"]);
    if (r.code !== 0) throw new Error(`get ctr ${name}: ${r.code} ${r.stderr}`);
    return (JSON.parse(r.stdout) as { status: Status }).status;
  };
  const untilStatus = (name: string, what: string, pred: (s: Status) => boolean, timeoutMs = 30_000) =>
    until(`container ${name} ${what}`, async () => {
      const s = await statusOf(name);
      return pred(s) ? s : undefined;
    }, timeoutMs, 250);
  const ok = (r: RunResult) => expect(r, `stderr: ${r.stderr}`).toMatchObject({ code: 0 });

  beforeAll(async () => {
    env = daemonEnv();
    dir = path.join(env.base, "manifests");
    cli = cliOf(env);
    appText = `${env.imageManifest}${WEB}${WORKER("1s")}`;
    appYaml = file("app.yaml", appText);
    daemon = await startCliDaemon(env);
  });

  afterAll(() => stopAndCheckClean(daemon, env));

  it("apply --wait creates the objects and returns once they are running and healthy; a re-apply is unchanged", async () => {
    const r = await cli(["apply", "-f", appYaml, "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    ok(r);
    expect(r.stdout.startsWith("image/busybox created\ncontainer/web created\ncontainer/worker created\n"), r.stdout).toBe(true);
    expect(r.stdout).toMatch(/\n3 objects ready in \S+\n$/);
    // ready means ready now, not eventually
    expect(await statusOf("web")).toMatchObject({ phase: "Running", health: "healthy" });
    expect(await statusOf("worker")).toMatchObject({ phase: "Running", health: "none" });
    // under the daemon's --cgroup-parent, not the host-wide default
    const { containerId } = await statusOf("web");
    const parents = await cgroupDirsOf(env.cgroupParent);
    expect(parents.some((d) => existsSync(path.join(d, containerId!))), `${containerId} under ${parents.join(", ")}`).toBe(true);

    expect(await cli(["apply", "-f", appYaml])).toEqual({
      code: 0,
      stdout: "image/busybox unchanged\ncontainer/web unchanged\ncontainer/worker unchanged\n",
      stderr: "",
    });
  });

  it("apply --dry-run and diff show a change without making it; diff exits 0 when nothing changed", async () => {
    const v2 = file("v2/app.yaml", `${env.imageManifest}${WEB}${WORKER("2s")}`);
    expect(await cli(["apply", "-f", v2, "--dry-run"])).toEqual({
      code: 0,
      stdout: "image/busybox unchanged (dry run)\ncontainer/web unchanged (dry run)\ncontainer/worker configured (dry run)\n",
      stderr: "",
    });
    const diff = await cli(["diff", "-f", v2]);
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.stdout).toContain("diff container/worker\n--- container/worker (live)\n+++ container/worker (applied)\n");
    expect(diff.stdout).toMatch(/^-\s+stopGracePeriodMs: 1000$/m);
    expect(diff.stdout).toMatch(/^\+\s+stopGracePeriodMs: 2000$/m);
    expect(diff.stdout).not.toContain("container/web");
    // the dry run changed nothing
    expect(await cli(["diff", "-f", appYaml])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("apply --wait fails at once, naming the container, when it exits 1 under restart policy no", async () => {
    const failer = file("failer.yaml", ctr("failer", "app: z", `  command: [sh, -c, 'exit 1']\n  restartPolicy: "no"\n`));
    const started = Date.now();
    const r = await cli(["apply", "-f", failer, "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stdout).toMatch(/^container\/failer created\n/);
    expect(r.stderr).toMatch(/^berth: container\/failer failed: .*code 1/m);
    const s = await statusOf("failer");
    expect(s).toMatchObject({ phase: "Exited", exitCode: 1, restartCount: 0 });
    expect(Date.parse(s.finishedAt!)).not.toBeNaN();
  });

  it("get: docker-ps STATUS, the status fields as JSON, names, label selectors, and a usage error for an unknown kind", async () => {
    const table = await untilCli(
      "`get ctr web` to say Up N seconds",
      () => cli(["get", "ctr", "web"]),
      (r) => /^web\s+localhost\/busybox:latest\s+Up \d+ seconds \(healthy\)\s+0\s+\d+s$/m.test(r.stdout),
    );
    expect(table.stdout).toMatch(/^NAME\s+IMAGE\s+STATUS\s+RESTARTS\s+AGE\n/);

    const s = await statusOf("web");
    expect(s).toMatchObject({ phase: "Running", health: "healthy", restartCount: 0 });
    expect(s.pid).toBeGreaterThan(1);
    expect(new Date(s.startedAt!).toISOString()).toBe(s.startedAt);
    // set only when they apply
    expect(s).not.toHaveProperty("exitCode");
    expect(s).not.toHaveProperty("reason");
    expect(s).not.toHaveProperty("message");

    expect(await cli(["get", "-o", "name"])).toEqual({
      code: 0,
      stdout: "image/busybox\ncontainer/failer\ncontainer/web\ncontainer/worker\n",
      stderr: "",
    });
    expect((await cli(["get", "ctr", "-l", "app=x", "-o", "name"])).stdout).toBe("container/web\n");
    const selected = await cli(["get", "containers", "-l", "app=y"]);
    expect(selected.stdout).toMatch(/^worker\s/m);
    expect(selected.stdout).not.toMatch(/^web\s/m);
    expect(await cli(["get", "ctr", "-l", "app=nope"])).toEqual({ code: 0, stdout: "", stderr: "No containers found.\n" });

    const pods = await cli(["get", "pods"]);
    expect(pods.code).toBe(2);
    expect(pods.stdout).toBe("");
    expect(pods.stderr).toMatch(/^berth: unknown kind "pods".*\bcontainers\b/);
  });

  it("describe shows the spec, status, health results and events", async () => {
    const r = await cli(["describe", "container", "web"]);
    ok(r);
    expect(r.stdout).toMatch(/^Name:\s+web$/m);
    expect(r.stdout).toMatch(/^Kind:\s+Container$/m);
    expect(r.stdout).toMatch(/^Labels:\s+app=x$/m);
    expect(r.stdout).toMatch(/^Spec:\n\s+image: localhost\/busybox:latest$/m);
    expect(r.stdout).toMatch(/^\s+restartPolicy:\n\s+name: always$/m);
    expect(r.stdout).toMatch(/^Status:\n\s+Phase:\s+Running\n\s+Health:\s+healthy$/m);
    expect(r.stdout).toMatch(/^\s+PID:\s+\d+$/m);
    expect(r.stdout).toMatch(/^Health:\n\s+TIME\s+RESULT\s+OUTPUT\n\s+\S+\s+success/m);
    expect(r.stdout).toMatch(/^Events:\n/m);
    expect(r.stdout).toMatch(/^\s+Normal\s+Started\s+\S+\s+started, pid \d+$/m);
    expect(r.stdout).toMatch(/^\s+Normal\s+Healthy\s+\S+\s+health starting → healthy$/m);
  });

  it("logs prints the output by stream; --tail, --timestamps; -f streams new lines until Ctrl-C", async () => {
    expect(await cli(["logs", "web"])).toEqual({ code: 0, stdout: "hello\nworld\n", stderr: "oops\n" });
    expect(await cli(["logs", "--tail", "1", "web"])).toEqual({ code: 0, stdout: "world\n", stderr: "" });
    const ts = await cli(["logs", "-t", "web"]);
    ok(ts);
    expect(ts.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}) hello\n\S+ world\n$/);

    const follow = spawnBerth(["--run-root", env.runRoot, "logs", "-f", "web"]);
    try {
      await until("logs -f to print the old lines", async () => (follow.stdout() === "hello\nworld\n" ? true : undefined), 10_000);
      ok(await cli(["exec", "web", "--", "sh", "-c", "echo streamed-line > /tmp/say.new && mv /tmp/say.new /tmp/say"]));
      await until("logs -f to print the new line", async () => (follow.stdout() === "hello\nworld\nstreamed-line\n" ? true : undefined), 10_000);
      expect(await follow.stop("SIGINT", 10_000)).toBe(0);
    } finally {
      await follow.stop("SIGKILL").catch(() => {});
    }
  });

  it("exec prints the command's output and exits with its code", async () => {
    expect(await cli(["exec", "web", "--", "sh", "-c", "echo hi; exit 3"])).toEqual({ code: 3, stdout: "hi\n", stderr: "" });
  });

  it("events lists what happened, by object", async () => {
    const r = await cli(["events"]);
    ok(r);
    expect(r.stdout).toMatch(/^TIME\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
    expect(r.stdout).toMatch(/^\S+\s+Normal\s+Imported\s+image\/busybox\s+imported localhost\/busybox:latest/m);
    for (const name of ["web", "worker"]) {
      expect(r.stdout).toMatch(new RegExp(`^\\S+\\s+Normal\\s+Created\\s+container/${name}\\s+created container [0-9a-f]{12}$`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^\\S+\\s+Normal\\s+Started\\s+container/${name}\\s+started, pid \\d+$`, "m"));
    }
    const only = await cli(["events", "--for", "container/worker"]);
    const objects = new Set(only.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[3]));
    expect([...objects]).toEqual(["container/worker"]);
  });

  it("stop leaves containers exited (policy always and unless-stopped do not restart them); start and restart", async () => {
    expect(await cli(["stop", "web", "worker"], { timeoutMs: 30_000 })).toEqual({ code: 0, stdout: "web\nworker\n", stderr: "" });
    const stopped = { web: await untilStatus("web", "exited", (s) => s.phase === "Exited"), worker: await untilStatus("worker", "exited", (s) => s.phase === "Exited") };
    await new Promise((r) => setTimeout(r, 3_000));
    for (const name of ["web", "worker"] as const) {
      const s = await statusOf(name);
      expect(s, name).toMatchObject({ phase: "Exited", restartCount: stopped[name].restartCount });
      expect(s.exitCode, name).toBeDefined();
    }
    expect((await cli(["get", "ctr", "worker"])).stdout).toMatch(/^worker\s+\S+\s+Exited \(\d+\) .*ago\s+0\s/m);

    expect(await cli(["start", "web", "worker"])).toEqual({ code: 0, stdout: "web\nworker\n", stderr: "" });
    const web = await untilStatus("web", "running again", (s) => s.phase === "Running");
    await untilStatus("worker", "running again", (s) => s.phase === "Running");

    expect(await cli(["restart", "web"], { timeoutMs: 30_000 })).toEqual({ code: 0, stdout: "web\n", stderr: "" });
    const again = await untilStatus("web", "running with a new pid", (s) => s.phase === "Running" && s.pid !== undefined && s.pid !== web.pid);
    expect(again.pid).not.toBe(web.pid);
  });

  it("a crash-looping container shows Restarting and RESTARTS in get, and back-off in describe", async () => {
    const crasher = file("crasher.yaml", ctr("crasher", "app: z", `  command: [sh, -c, 'echo boom; exit 1']\n  restartPolicy: always\n`));
    ok(await cli(["apply", "-f", crasher]));
    await untilCli(
      "`get ctr crasher` to say Restarting (1) ... ago with restarts",
      () => cli(["get", "ctr", "crasher"]),
      (r) => /^crasher\s+\S+\s+Restarting \(1\) (Less than a second|\d+ seconds?) ago\s+\d+ \(\d+s ago\)\s+\d+s$/m.test(r.stdout),
      30_000,
      100,
    );
    const s = await untilStatus("crasher", "backing off", (x) => x.reason === "CrashLoopBackOff");
    expect(s).toMatchObject({ exitCode: 1, reason: "CrashLoopBackOff" });
    expect(s.restartCount).toBeGreaterThanOrEqual(1);
    expect(s.message).toMatch(/back-off/);
    // between a restart and the next exit it is Running again: look while it backs off
    const d = await untilCli("describe to show the back-off", () => cli(["describe", "ctr/crasher"]), (r) => /^\s+Reason:\s+CrashLoopBackOff$/m.test(r.stdout), 30_000, 100);
    expect(d.stdout).toMatch(/^\s+Phase:\s+Restarting$/m);
    expect(d.stdout).toMatch(/^\s+Message:\s+back-off \d+ms restarting: exited with code 1/m);
    expect(d.stdout).toMatch(/^\s+Warning\s+BackOff\s+\S+\s+back-off \d+ms restarting: exited with code 1/m);
    expect(d.stdout).toMatch(/^\s+Warning\s+Died\s+\S+\s+exited with code 1$/m);
    expect(await cli(["delete", "ctr", "crasher"])).toEqual({ code: 0, stdout: "container/crasher deleted\n", stderr: "" });
  });

  it("a malformed apply prints the located error and changes nothing; running containers keep running", async () => {
    const before = { web: await statusOf("web"), worker: await statusOf("worker") };
    const badText = appText.replace("  restartPolicy: always\n", "  restartPolcy: always\n");
    const bad = file("bad/app.yaml", badText);
    const line = badText.split("\n").findIndex((l) => l.startsWith("  restartPolcy:")) + 1;
    const r = await cli(["apply", "-f", bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${bad}:${line}:3: error: container/web: spec.restartPolcy: unknown field "restartPolcy"; did you mean "restartPolicy"?\n`);
    expect(r.stderr).toMatch(/^1 error in 1 file$/m);
    await new Promise((r) => setTimeout(r, 1_000));
    for (const name of ["web", "worker"] as const) expect(await statusOf(name), name).toMatchObject({ phase: "Running", pid: before[name].pid });
    expect((await cli(["diff", "-f", appYaml])).code).toBe(0);
  });

  it("refuses a second daemon on the same root; after SIGTERM containers keep running and a new daemon adopts them", async () => {
    const first = daemon!;
    const second = spawnBerth(["--root", env.root, "--run-root", env.runRoot, "daemon", "--log-level", "warn", "--cgroup-parent", env.cgroupParent]);
    const code = await Promise.race([second.exited, new Promise<"running">((r) => setTimeout(() => r("running"), 20_000))]);
    if (code === "running") await second.stop("SIGKILL").catch(() => {});
    expect(code).not.toBe("running");
    expect(code).not.toBe(0);
    expect(second.stderr()).toMatch(new RegExp(`^berth: .*\\bprocess ${first.pid}\\b`, "m"));
    // the first daemon still serves, on its socket
    ok(await cli(["get"]));

    const before = { web: await statusOf("web"), worker: await statusOf("worker") };
    expect(await first.stop("SIGTERM")).toBe(0);
    daemon = undefined;
    const down = await cli(["get"]);
    expect(down.code).toBe(6);
    expect(down.stderr).toMatch(/no berth daemon is listening/);
    for (const s of Object.values(before)) process.kill(s.pid!, 0); // still alive

    daemon = await startCliDaemon(env);
    for (const name of ["web", "worker"] as const) {
      const s = await untilStatus(name, "adopted", (x) => x.phase === "Running");
      expect(s, name).toMatchObject({ pid: before[name].pid, containerId: before[name].containerId, restartCount: before[name].restartCount });
    }
  });

  it("wait --for=healthy, delete by name, wait --for=deleted, delete -f; the daemon removes what it made", async () => {
    expect(await cli(["wait", "--for=healthy", "container/web", "--timeout", "30s"], { timeoutMs: 45_000 })).toEqual({
      code: 0,
      stdout: "container/web condition met\n",
      stderr: "",
    });
    webId = (await statusOf("web")).containerId;
    expect(await cli(["delete", "container", "web"])).toEqual({ code: 0, stdout: "container/web deleted\n", stderr: "" });
    expect(await cli(["wait", "--for=deleted", "container/web", "--timeout", "30s"], { timeoutMs: 45_000 })).toEqual({
      code: 0,
      stdout: "container/web condition met\n",
      stderr: "",
    });
    idsAfterWait = await runcIds(env.runRoot);
    expect(await cli(["delete", "-f", path.join(dir, "failer.yaml")])).toEqual({ code: 0, stdout: "container/failer deleted\n", stderr: "" });
    // web is gone already: the others are still deleted, and the exit code says NotFound
    expect(await cli(["delete", "-f", appYaml])).toEqual({
      code: 3,
      stdout: "container/worker deleted\nimage/busybox deleted\n",
      stderr: "berth: delete container web: not found\n",
    });
    // deleted containers are listed as Terminating until they are gone from the host
    await untilCli("every deleted container gone from get", () => cli(["get"]), (r) => r.stdout === "");
    expect(await cli(["get"])).toEqual({ code: 0, stdout: "", stderr: "No resources found.\n" });
    await until("the daemon to remove every container and its mounts", async () => {
      const left = await leftovers(env);
      return left.containers.length === 0 && left.mounts.length === 0 ? true : undefined;
    }, 30_000, 250);
  });

  // A deleted container stays visible (reason Terminating) until it is gone from the host;
  // web ignores SIGTERM, so it lives through its 1s grace period after the delete.
  it("wait --for=deleted is met only once the container is gone from the host", () => {
    expect(webId).toMatch(/^[0-9a-f]{64}$/);
    expect(idsAfterWait).not.toContain(webId);
  });
});
