/**
 * `berth daemon` as a process on a root of a suite (suite-env.ts), as users run it: the
 * suite's cgroup parent and chain prefix, an address pool of the suite's, DNS upstreams
 * none (the daemon's resolver forwards nowhere), an empty settings file (never the host's
 * /etc/berth/daemon.json), logs to a file under the root's dir. `startBerthDaemon` resolves
 * once the API answers; the CLI and the API client talk to it through its socket.
 *
 * `stop()` sends SIGTERM (the daemon leaves its containers running: delete them first),
 * SIGKILL after 20 s; idempotent, never throws. Containers and network state it leaves are
 * removed by teardownSuiteEnv.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient } from "../../controller/api/client.js";
import { runProcess, type ProcessResult } from "../../test/helpers/dockerd.js";
import { now, sleep } from "../stats.js";
import { IMAGE, PATH_ENV, type SuiteEnv } from "./suite-env.js";

export const BERTH_CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../cli/main.js");

export interface BerthDaemonProc {
  root: string;
  runRoot: string;
  pid: number;
  client: ApiClient;
  logFile: string;
  /** `berth --run-root <runRoot> ...args` as a process. */
  cli(args: string[], timeoutMs?: number): Promise<ProcessResult>;
  /** Like cli, but throws with the output unless it exits 0; its stdout. */
  mustCli(args: string[], timeoutMs?: number): Promise<string>;
  alive(): boolean;
  stop(): Promise<void>;
}

export interface BerthDaemonOptions {
  /** A name for the root's dirs: <base>/<name>-root and <run>/<name>. */
  name: string;
  /** `--address-pool` (base/len:size) of its bridge networks. */
  addressPool: string;
  extraArgs?: string[];
}

export async function startBerthDaemon(env: SuiteEnv, o: BerthDaemonOptions): Promise<BerthDaemonProc> {
  const root = path.join(env.base, `${o.name}-root`);
  const runRoot = path.join(env.run, o.name);
  env.roots.push([root, runRoot]);
  const config = path.join(env.base, `${o.name}-daemon.json`);
  await fs.writeFile(config, "{}\n");
  const logFile = path.join(env.base, `${o.name}-daemon.log`);
  const logFd = openSync(logFile, "a");
  const childEnv = { ...process.env, BERTH_FIREWALL_PREFIX: env.prefix, BERTH_DNS_UPSTREAMS: "none" };
  const args = [BERTH_CLI, "--root", root, "--run-root", runRoot, "daemon", "--log-level", "info", "--cgroup-parent", env.cgroupParent, "--config", config, "--address-pool", o.addressPool, ...(o.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", logFd, logFd], env: childEnv });
  closeSync(logFd);
  let exited = false;
  const gone = new Promise<void>((resolve) => child.on("close", () => ((exited = true), resolve())));
  child.on("error", () => (exited = true));
  const cli = (a: string[], timeoutMs = env.timeoutMs) => runProcess(process.execPath, [BERTH_CLI, "--run-root", runRoot, ...a], { timeoutMs, env: childEnv });
  const mustCli = async (a: string[], timeoutMs = env.timeoutMs) => {
    const r = await cli(a, timeoutMs);
    if (r.code !== 0) throw new Error(`berth ${a.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
    return r.stdout;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await gone;
    clearTimeout(timer);
  };
  const client = new ApiClient(path.join(runRoot, "berth.sock"));
  const deadline = now() + env.timeoutMs;
  for (;;) {
    if (exited) throw new Error(`berth daemon exited: ${(await fs.readFile(logFile, "utf8").catch(() => "")).trim().slice(-800)}`);
    if (await client.version().then(() => true, () => false)) break;
    if (now() > deadline) {
      await stop();
      throw new Error(`berth daemon did not answer within ${env.timeoutMs} ms: ${(await fs.readFile(logFile, "utf8").catch(() => "")).trim().slice(-800)}`);
    }
    await sleep(50);
  }
  return { root, runRoot, pid: child.pid!, client, logFile, cli, mustCli, alive: () => !exited, stop };
}

/** The bench's busybox image, imported into the daemon's store by `berth image import` (the CLI, as users do). */
export async function importBusybox(d: BerthDaemonProc, env: SuiteEnv): Promise<void> {
  await d.mustCli(["image", "import", env.rootfsTgz, IMAGE, "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`]);
}

/** The last lines of the daemon's log, for a failure's report. */
export async function logTail(d: BerthDaemonProc, lines = 5): Promise<string[]> {
  return (await fs.readFile(d.logFile, "utf8").catch(() => "")).trim().split("\n").slice(-lines);
}

/**
 * Deletes every container of the daemon (through the API) and waits, at most `timeoutMs`,
 * until neither the API nor runc (under its run-root) has any. Throws when time runs out.
 */
export async function deleteAllContainers(d: BerthDaemonProc, timeoutMs: number): Promise<void> {
  for (const v of await d.client.list("Container")) await d.client.delete("Container", v.metadata.name).catch(() => {});
  const deadline = now() + timeoutMs;
  for (;;) {
    const api = (await d.client.list("Container")).length;
    const r = await runProcess("runc", ["--root", path.join(d.runRoot, "runc"), "list", "-q"], { timeoutMs: 30_000 });
    const runc = r.stdout.split("\n").filter(Boolean).length;
    if (api === 0 && runc === 0) return;
    if (now() > deadline) throw new Error(`containers not gone within ${timeoutMs} ms: ${api} in the API, ${runc} in runc`);
    await sleep(100);
  }
}
