import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { Stream } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { berth, BERTH } from "../helpers/cli.js";
import { portOpen, untilCli } from "../helpers/cli-daemon.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";
import { runcIds } from "../helpers/rootfs.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** A stack dir: the busybox image and one container serving /www with httpd on `port`, healthchecked. */
function writeStack(env: DaemonEnv, stack: string, name: string, port: number, extra = "  stopGracePeriod: 1s\n"): string {
  const dir = path.join(env.base, stack);
  mkdirSync(path.join(dir, "www"), { recursive: true });
  writeFileSync(path.join(dir, "www", "index.html"), "served by berth up\n");
  writeFileSync(
    path.join(dir, "stack.yaml"),
    env.imageManifest +
      `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: ${name}}\nspec:\n  image: localhost/busybox:latest\n  command: [sh, -c, 'echo starting; exec httpd -f -v -p 127.0.0.1:${port} -h /www']\n  networkMode: host\n  mounts: ['./www:/www:ro']\n  restartPolicy: always\n${extra}  healthcheck: {http: {port: ${port}}, interval: 500ms}\n`,
  );
  return dir;
}

interface Up {
  child: ChildProcess;
  /** What `up` wrote to the pipes the test holds (stderr always; stdout when it is "pipe"). */
  output(): string;
  /** Exit code, or the signal's name when a signal's default action ended it. */
  exited: Promise<number | NodeJS.Signals>;
}

/** Starts `berth up -f dir` on the env with stdout as given (stderr is always captured). */
function spawnUp(env: DaemonEnv, dir: string, stdout: "pipe" | number | Stream = "pipe"): Up {
  const child = spawn(process.execPath, [BERTH, "--root", env.root, "--run-root", env.runRoot, "up", "-f", dir], {
    env: { ...process.env, NO_COLOR: "1", BERTH_CGROUP_PARENT: env.cgroupParent },
    stdio: ["ignore", stdout, "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | NodeJS.Signals>((r) => child.on("close", (code, signal) => r(code ?? signal ?? -1)));
  return { child, output: () => out, exited };
}

/** Waits for container `name` of the env to be Running and healthy, through `berth get`. */
function untilHealthy(env: DaemonEnv, name: string): Promise<unknown> {
  return untilCli(
    `${name} Running and healthy`,
    () => berth(["--run-root", env.runRoot, "get", "ctr", name, "-o", "json"], { timeoutMs: 5_000 }),
    (r) => r.code === 0 && /"phase": *"Running"/.test(r.stdout) && /"health": *"healthy"/.test(r.stdout),
    60_000,
    250,
  );
}

/** Bounded wait for the exit; SIGKILL (and a failure naming the output) when it does not come. */
async function exitOf(up: Up, timeoutMs = 30_000): Promise<number | NodeJS.Signals> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      up.child.kill("SIGKILL");
      reject(new Error(`berth up did not exit within ${timeoutMs}ms; output: ${up.output()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([up.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `test` on a fresh env of its own; whatever happens, a still running `up` is killed
 * and the env (containers, mounts, cgroups, dirs) removed.
 */
async function withEnv(test: (env: DaemonEnv, track: (c: ChildProcess) => void) => Promise<void>): Promise<void> {
  const env = daemonEnv();
  const children: ChildProcess[] = [];
  try {
    await test(env, (c) => children.push(c));
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await env.cleanup();
  }
}

describe.skipIf(lacking)("berth up", () => {
  const env = daemonEnv();
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await env.cleanup();
  });

  it("runs a stack in the foreground with progress and logs, and Ctrl-C stops it (exit 130)", async () => {
    const dir = writeStack(env, "site-stack", "upweb", 8087);
    const up = spawnUp(env, dir);
    children.push(up.child);

    await until("the stack is up", async () => (up.output().includes("stack site-stack is up") ? true : undefined), 60_000);
    expect(up.output()).toContain("image/busybox created\ncontainer/upweb created\n");
    expect(up.output()).toMatch(/container\/upweb: Running \(healthy\)/);
    expect((await get("http://127.0.0.1:8087/")).body).toBe("served by berth up\n");
    await until("logs streamed", async () => (up.output().includes("upweb | starting") ? true : undefined), 10_000);

    // other commands reach the daemon that up runs
    const got = await berth(["--run-root", env.runRoot, "get", "ctr", "upweb", "-o", "json"]);
    expect(JSON.parse(got.stdout).status).toMatchObject({ phase: "Running", health: "healthy" });

    up.child.kill("SIGINT");
    expect(await exitOf(up)).toBe(130);
    expect(up.output()).toContain("berth: SIGINT: stopping stack site-stack; a second SIGINT or SIGTERM exits at once and leaves it running\n");
    expect(up.output()).toContain("stopping stack site-stack...\ncontainer/upweb stopped\n");
    await expect(get("http://127.0.0.1:8087/")).rejects.toThrow();
    expect(existsSync(`/sys/fs/cgroup/memory/${env.cgroupParent}/berth`), "nothing under the default parent").toBe(false);
  });

  it("exits 1 with located errors for invalid manifests, and starts nothing", async () => {
    const file = path.join(env.base, "bad.yaml");
    writeFileSync(file, "apiVersion: berth/v1\nkind: Container\nmetadata: {name: bad}\nspec:\n  imagee: busybox\n");
    const r = await berth(["--root", env.root, "--run-root", env.runRoot, "up", "-f", file], { timeoutMs: 60_000, env: { BERTH_CGROUP_PARENT: env.cgroupParent } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:5:3: error: container/bad: spec.imagee: unknown field "imagee"; did you mean "image"?`);
  });
});

// Issue 7: `berth up | tee up.log` then Ctrl-C must stop the stack, not die of EPIPE first.
describe.skipIf(lacking)("berth up stops the stack on a signal, whatever its stdout is", () => {
  it("stdout piped to a reader that exits first, then SIGINT: the container is stopped and gone from runc, exit 130", () =>
    withEnv(async (env, track) => {
      const dir = writeStack(env, "piped", "pipeweb", 8091);
      // `head -c 1`-like: reads the first chunk of up's output, then exits, closing the pipe.
      const reader = spawn(process.execPath, ["-e", "process.stdin.once('data', () => process.exit(0))"], { stdio: ["pipe", "ignore", "inherit"] });
      track(reader);
      const readerExited = new Promise<number | null>((r) => reader.on("exit", (code) => r(code)));
      const up = spawnUp(env, dir, reader.stdin!);
      track(up.child);
      reader.stdin!.destroy(); // only up holds the write end

      expect(await readerExited).toBe(0);
      await untilHealthy(env, "pipeweb");
      // meanwhile up has written into the closed pipe ("is up", the container's log lines)
      await new Promise((r) => setTimeout(r, 1500));
      expect(up.child.exitCode, `up ended early: ${up.output()}`).toBeNull();
      expect(await runcIds(env.runRoot)).toHaveLength(1);

      up.child.kill("SIGINT");
      expect(await exitOf(up)).toBe(130);
      expect(up.output()).toContain("berth: SIGINT: stopping stack piped");
      expect(up.output()).not.toMatch(/EPIPE|internal error/);
      expect(await runcIds(env.runRoot)).toEqual([]);
      expect(await portOpen(8091)).toBe(false);
    }));

  it("stdout to a file, SIGTERM: stopped, exit 143, the file has the whole story", () =>
    withEnv(async (env, track) => {
      const dir = writeStack(env, "filed", "fileweb", 8092);
      const log = path.join(env.base, "up.log");
      const fd = openSync(log, "w");
      let up: Up;
      try {
        up = spawnUp(env, dir, fd);
      } finally {
        closeSync(fd);
      }
      track(up.child);
      await until("the stack is up (in the file)", async () => (readFileSync(log, "utf8").includes("stack filed is up") ? true : undefined), 60_000);

      up.child.kill("SIGTERM");
      expect(await exitOf(up)).toBe(143);
      expect(readFileSync(log, "utf8")).toContain("stopping stack filed...\ncontainer/fileweb stopped\n");
      expect(up.output()).toContain("berth: SIGTERM: stopping stack filed");
      expect(await runcIds(env.runRoot)).toEqual([]);
    }));

  it("SIGHUP (the terminal went away): stopped, exit 129", () =>
    withEnv(async (env, track) => {
      const dir = writeStack(env, "hung", "hupweb", 8093);
      const up = spawnUp(env, dir);
      track(up.child);
      await until("the stack is up", async () => (up.output().includes("stack hung is up") ? true : undefined), 60_000);

      up.child.kill("SIGHUP");
      expect(await exitOf(up)).toBe(129);
      expect(up.output()).toContain("stopping stack hung...\ncontainer/hupweb stopped\n");
      expect(await runcIds(env.runRoot)).toEqual([]);
    }));

  it("a second SIGINT while stopping exits at once, says so, and leaves the container running", () =>
    withEnv(async (env, track) => {
      // pid 1 `sh` ignores SIGTERM: the stop waits out the 10s grace period, time for a second Ctrl-C
      const dir = writeStack(env, "forced", "forceweb", 8094, "  stopGracePeriod: 10s\n");
      const up = spawnUp(env, dir);
      track(up.child);
      await until("the stack is up", async () => (up.output().includes("stack forced is up") ? true : undefined), 60_000);

      up.child.kill("SIGINT");
      await until("stopping to begin", async () => (up.output().includes("stopping stack forced...") ? true : undefined), 10_000);
      up.child.kill("SIGINT");
      expect(await exitOf(up, 5_000)).toBe(130);
      expect(up.output()).toContain("berth: SIGINT again: exiting without stopping stack forced; its containers keep running\n");
      expect(await runcIds(env.runRoot)).toHaveLength(1);
    }));
});
