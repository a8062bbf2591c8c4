/**
 * A private Docker engine for interop tests and benchmarks: `dockerd` with all of its state
 * (data-root, exec-root, pid file, socket, its containerd) in one temp dir, no iptables, no
 * bridge, so it changes nothing on the host's network. Containers it runs must use
 * `--network none`.
 *
 * Lifecycle: `startPrivateDockerd()` resolves once the API answers `/_ping`; `stop()` removes
 * every container, stops dockerd (SIGTERM, then SIGKILL), kills whatever is left that runs
 * from the temp dir (its containerd and shims), unmounts, removes the cgroups and the temp
 * dir, and the few host paths dockerd creates outside its roots (only those that did not
 * exist before). `stop()` is idempotent and never throws.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync, closeSync, promises as fs } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { which } from "./host.js";

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs `cmd` with an argv array (never a shell), killing it with SIGKILL after `timeoutMs`.
 * Resolves with its exit code (-1 when it could not run or was killed) and output.
 */
export function runProcess(
  cmd: string,
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; stdio?: "pipe" | "ignore" } = {},
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: options.stdio === "ignore" ? "ignore" : ["ignore", "pipe", "pipe"],
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 60_000);
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut });
    };
    child.on("error", (e) => {
      err.push(Buffer.from(String(e.message)));
      finish(-1);
    });
    child.on("close", (code) => finish(timedOut ? -1 : (code ?? -1)));
  });
}

/** Pids of processes (other than this one) whose command line mentions `needle`. */
export async function pidsMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await fs.readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(e) || Number(e) === process.pid) continue;
    const cmdline = await fs.readFile(`/proc/${e}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(needle)) out.push(Number(e));
  }
  return out;
}

/** Unmounts every mount at or below `dir`, deepest first (lazily as a last resort). */
export async function unmountAllUnder(dir: string): Promise<void> {
  const under = async () =>
    (await fs.readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .map((l) => (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
      .filter((m) => m === dir || m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
  for (let i = 0; i < 5; i++) {
    const ms = await under();
    if (ms.length === 0) return;
    for (const m of ms) await runProcess("umount", i < 2 ? [m] : ["-l", m], { timeoutMs: 30_000 });
  }
}

/** Removes the cgroup `name` (a path below the hierarchy roots) and its children in every hierarchy. */
export async function removeCgroupTrees(name: string): Promise<void> {
  const rm = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await rm(path.join(dir, e.name));
    }
    await fs.rmdir(dir).catch(() => {});
  };
  for (const h of await fs.readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
    const d = path.join("/sys/fs/cgroup", h, name);
    if (existsSync(d)) await rm(d);
  }
  if (existsSync(path.join("/sys/fs/cgroup", "cgroup.controllers"))) {
    const d = path.join("/sys/fs/cgroup", name);
    if (existsSync(d)) await rm(d);
  }
}

/**
 * Remembers which of `paths` exist now; the returned function removes those that appeared
 * since (files, and directories only when empty), in the order given (list children first).
 */
export function hostPathsGuard(paths: string[]): () => Promise<void> {
  const before = new Set(paths.filter((p) => existsSync(p)));
  return async () => {
    for (const p of paths) {
      if (before.has(p)) continue;
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await fs.rmdir(p).catch(() => {});
      else await fs.rm(p, { force: true });
    }
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: socket, path: "/_ping", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Paths dockerd/containerd create outside --data-root/--exec-root; listed children first. */
const DOCKER_HOST_PATHS = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd"];

export interface PrivateDockerd {
  /** The temp dir holding all of its state. */
  dir: string;
  socket: string;
  /** The docker CLI used (Debian's /usr/bin/docker when present: same version as dockerd). */
  cli: string;
  pid: number;
  /** Server version, e.g. "20.10.24+dfsg1". */
  version: string;
  /** Runs `docker -H unix://<socket> ...args`. */
  docker(args: string[], options?: { timeoutMs?: number }): Promise<ProcessResult>;
  /** Like `docker`, but throws with the output on a non-zero exit; resolves with stdout. */
  mustDocker(args: string[], options?: { timeoutMs?: number }): Promise<string>;
  stop(): Promise<void>;
}

export interface PrivateDockerdOptions {
  /** Parent of the temp dir (short: unix socket paths are limited to 108 bytes). Default /tmp. */
  parent?: string;
  startTimeoutMs?: number;
}

/** Why a private dockerd cannot be started here, or undefined when the binaries exist. */
export function dockerdMissing(): string | undefined {
  if (!which("dockerd")) return "needs dockerd (apt-get install docker.io)";
  if (!existsSync("/usr/bin/docker") && !which("docker")) return "needs the docker CLI (apt-get install docker.io)";
  return undefined;
}

/** Starts a private dockerd (see the file comment). Throws with dockerd's log when it does not come up. */
export async function startPrivateDockerd(options: PrivateDockerdOptions = {}): Promise<PrivateDockerd> {
  const missing = dockerdMissing();
  if (missing) throw new Error(`start private dockerd: ${missing}`);
  const dockerd = which("dockerd")!;
  const cli = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : which("docker")!;
  const dir = await fs.mkdtemp(path.join(options.parent ?? "/tmp", "berth-dockerd-"));
  const socket = path.join(dir, "docker.sock");
  const execRoot = path.join(dir, "exec");
  const cgroupParent = `berth-dockerd-${randomBytes(4).toString("hex")}`;
  const restoreHost = hostPathsGuard(DOCKER_HOST_PATHS);
  await fs.writeFile(path.join(dir, "daemon.json"), "{}\n");
  await fs.mkdir(path.join(dir, "client"));
  const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir, DOCKER_CONFIG: path.join(dir, "client") };
  const logFile = path.join(dir, "dockerd.log");
  const logFd = openSync(logFile, "a");
  const child = spawn(
    dockerd,
    [
      "--config-file", path.join(dir, "daemon.json"),
      "--data-root", path.join(dir, "data"),
      "--exec-root", execRoot,
      "--pidfile", path.join(dir, "docker.pid"),
      "-H", `unix://${socket}`,
      "--iptables=false",
      "--ip-masq=false",
      "--bridge=none",
      "--cgroup-parent", `/${cgroupParent}`,
      "--log-level", "warn",
    ],
    { stdio: ["ignore", logFd, logFd], detached: true, env },
  );
  closeSync(logFd);
  child.unref();
  let exited = false;
  child.on("exit", () => (exited = true));
  child.on("error", () => (exited = true));

  let stopped = false;
  const docker = (args: string[], o: { timeoutMs?: number } = {}) =>
    runProcess(cli, ["-H", `unix://${socket}`, ...args], { timeoutMs: o.timeoutMs ?? 120_000, env });
  const mustDocker = async (args: string[], o: { timeoutMs?: number } = {}) => {
    const r = await docker(args, o);
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
    return r.stdout;
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      if (!exited && (await ping(socket))) {
        const ids = (await docker(["ps", "-aq"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
        if (ids.length) await docker(["rm", "-f", ...ids], { timeoutMs: 120_000 });
      }
      if (child.pid && !exited) {
        try {
          process.kill(child.pid, "SIGTERM");
        } catch {}
        if (!(await waitGone([child.pid], 20_000))) {
          try {
            process.kill(child.pid, "SIGKILL");
          } catch {}
          await waitGone([child.pid], 5_000);
        }
      }
      // Containers a killed engine left behind, then its containerd and shims.
      const runcRoot = path.join(execRoot, "runtime-runc", "moby");
      if (existsSync(runcRoot)) {
        const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
        for (const id of ids) await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: 30_000 });
      }
      for (let i = 0; i < 3; i++) {
        const left = await pidsMentioning(dir);
        if (left.length === 0) break;
        for (const p of left) {
          try {
            process.kill(p, i === 0 ? "SIGTERM" : "SIGKILL");
          } catch {}
        }
        await waitGone(left, 5_000);
      }
      await unmountAllUnder(dir);
      await removeCgroupTrees(cgroupParent);
      await restoreHost();
      await fs.rm(dir, { recursive: true, force: true });
    } catch {
      // Best effort: never mask the caller's error.
    }
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (await ping(socket)) break;
    if (exited || Date.now() > deadline) {
      const log = await fs.readFile(logFile, "utf8").catch(() => "");
      await stop();
      throw new Error(`start private dockerd: ${exited ? "it exited" : "no answer on its socket"}: ${log.trim().slice(-2000)}`);
    }
    await sleep(100);
  }
  const version = (await docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 30_000 })).stdout.trim();
  return { dir, socket, cli, pid: child.pid!, version, docker, mustDocker, stop };
}
