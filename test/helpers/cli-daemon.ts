import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as net from "node:net";
import { expect } from "vitest";
import { BERTH, berth, REPO, type RunResult } from "./cli.js";
import { until, type DaemonEnv } from "./daemon.js";
import { cgroupDirsOf, mountsUnder, runcIds } from "./rootfs.js";

/**
 * A berth CLI process that keeps running (`berth daemon`, `logs -f`, `events -w`): its output
 * so far, and a way to signal it and wait for its exit.
 */
export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) when the process has ended. */
  exited: Promise<number | NodeJS.Signals>;
  /** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`, which then rejects. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | NodeJS.Signals>;
}

/** Starts the built CLI with argv (never a shell) and leaves it running. */
export function spawnBerth(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [BERTH, ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  child.stdin.end();
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on("close", (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal = "SIGTERM", timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`berth ${args.join(" ")} did not exit within ${timeoutMs}ms of ${signal}; stderr: ${err}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs the built CLI against the env's daemon (`--run-root`). */
export function cliOf(env: DaemonEnv) {
  return (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> =>
    berth(["--run-root", env.runRoot, ...args], options);
}

/**
 * Starts `berth daemon` as a child process on the env (its own cgroup parent), with
 * `daemonArgs` (e.g. `--config FILE`) after its own, and waits until `berth get` answers. A
 * daemon that exits first fails with its output.
 */
export async function startCliDaemon(env: DaemonEnv, timeoutMs = 30_000, daemonArgs: string[] = []): Promise<CliProcess> {
  const daemon = spawnBerth(["--root", env.root, "--run-root", env.runRoot, "daemon", "--log-level", process.env.BERTH_TEST_DAEMON_LOG ?? "warn", "--cgroup-parent", env.cgroupParent, ...daemonArgs]);
  let exit: number | NodeJS.Signals | undefined;
  void daemon.exited.then((c) => (exit = c));
  await until(
    "berth daemon to answer `berth get`",
    async () => {
      if (exit !== undefined) throw new Error(`berth daemon exited (${exit}): ${daemon.stderr()}${daemon.stdout()}`);
      const r = await berth(["--run-root", env.runRoot, "get"], { timeoutMs: 5_000 });
      return r.code === 0 ? true : undefined;
    },
    timeoutMs,
    200,
  ).catch(async (err) => {
    await daemon.stop("SIGKILL").catch(() => {});
    throw err;
  });
  return daemon;
}

/** Polls the CLI until `pred` accepts its result; returns that result. */
export function untilCli(what: string, run: () => Promise<RunResult>, pred: (r: RunResult) => boolean, timeoutMs = 30_000, everyMs = 250): Promise<RunResult> {
  let last: RunResult | undefined;
  return until(
    what,
    async () => {
      last = await run();
      return pred(last) ? last : undefined;
    },
    timeoutMs,
    everyMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last result: ${JSON.stringify(last)}`);
  });
}

/**
 * Teardown of a test against a daemon process: SIGTERM must stop it with exit 0, then the
 * env is cleaned (and `after` run) whatever happened, and nothing of it may be left.
 */
export async function stopAndCheckClean(daemon: CliProcess | undefined, env: DaemonEnv | undefined, after?: () => void): Promise<void> {
  try {
    if (daemon) expect(await daemon.stop("SIGTERM")).toBe(0);
  } finally {
    await env?.cleanup();
    after?.();
  }
  if (env) expect(await leftovers(env)).toEqual({ mounts: [], containers: [], cgroups: [] });
}

/** What is left of an env on the host: mounts under its base, runc containers, cgroup dirs. */
export async function leftovers(env: DaemonEnv): Promise<{ mounts: string[]; containers: string[]; cgroups: string[] }> {
  return { mounts: await mountsUnder(env.base), containers: await runcIds(env.runRoot), cgroups: await cgroupDirsOf(env.cgroupParent) };
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** GET http://127.0.0.1:port/path, a few tries, each bounded; the body of the first 200. */
export async function httpGet(port: number, path = "/", tries = 10): Promise<string> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.status === 200) return body;
      last = new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`GET http://127.0.0.1:${port}${path} failed ${tries} times: ${(last as Error)?.message}`);
}
