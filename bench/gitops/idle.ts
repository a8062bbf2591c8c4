/**
 * Idle watching CPU: a fresh daemon (`berth daemon --watch DIR=STACK`) on a git work tree of
 * `idleFiles` YAML files in nested dirs (apps/<team>/<service>/*.yaml): one Container (a
 * sleeper, network none) and one Volume, every other file a commented-out manifest (as
 * repositories keep disabled ones), so the daemon reads, hashes and parses all of them but
 * runs one container. Once the source is Synced at the tree's commit and the container runs,
 * after idleSettleMs of quiet, the daemon process's utime+stime (/proc/<pid>/stat, in clock
 * ticks of `getconf CLK_TCK`) is read at the start and end of idleWindowMs: % of one core.
 * Children it waited for (cutime+cstime: git, runc, iptables) are reported apart.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { ContainerStatusView } from "../../controller/api/protocol.js";
import { must } from "../runtime/helpers.js";
import { median, now, round, sleep } from "../stats.js";
import { deleteAllContainers, startBerthDaemon, importBusybox, type BerthDaemonProc } from "./berth-daemon.js";
import { initGitTree } from "./git-tree.js";
import type { GitopsBenchOptions } from "./options.js";
import { IMAGE, type SuiteEnv } from "./suite-env.js";

export const IDLE_STACK = "bbidle";

export interface IdleResult {
  files: number;
  dirs: number;
  bytes: number;
  settleMs: number;
  windowMs: number;
  clockTicks: number;
  /** utime+stime of the daemon over the window, and as % of one core. */
  cpuMs: number | null;
  cpuPercentOfCore: number | null;
  /** Reaped children's cutime+cstime over the window. */
  childrenCpuMs: number | null;
  /** The daemon's RSS at the end, MiB. */
  rssMiB: number | null;
  /**
   * The source's own resync (every 60 s: the whole set re-read, hashed and planned) does not
   * fall in the window (it starts ~settle s after the daemon); its CPU is measured apart, as a
   * `berth sync` of the unchanged tree (median of 3), and amortized over its 60 s.
   */
  resyncCpuMs: number | null;
  resyncAmortizedPercent: number | null;
}

/** [utime+stime, cutime+cstime] in ticks. */
async function cpuTicks(pid: number): Promise<[number, number]> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // after the comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
  return [Number(f[11]) + Number(f[12]), Number(f[13]) + Number(f[14])];
}

async function writeIdleTree(dir: string, files: number): Promise<{ dirs: number; bytes: number }> {
  const dirs = new Set<string>();
  let bytes = 0;
  const put = async (rel: string, text: string) => {
    const file = path.join(dir, rel);
    dirs.add(path.dirname(file));
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
    bytes += text.length;
  };
  await put("apps/core/sleeper/container.yaml", `apiVersion: berth/v1\nkind: Container\nmetadata:\n  name: idle-sleeper\nspec:\n  image: ${IMAGE}\n  command: ["sh", "-c", "trap 'exit 0' TERM; sleep 2147483647 & wait"]\n  networkMode: none\n  mounts:\n    - idle-data:/data\n`);
  await put("apps/core/sleeper/volume.yaml", "apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: idle-data\nspec: {}\n");
  for (let i = 0; i < files - 2; i++) {
    const team = `team-${String(i % 10).padStart(2, "0")}`;
    const svc = `svc-${String(Math.floor(i / 10) % 25).padStart(2, "0")}`;
    const name = `${team}-${svc}-${i}`;
    const text = [
      `# ${name}: disabled until its owner enables it (uncomment to deploy)`,
      "# apiVersion: berth/v1",
      "# kind: Container",
      "# metadata:",
      `#   name: ${name}`,
      "#   labels:",
      `#     team: ${team}`,
      "# spec:",
      `#   image: ${IMAGE}`,
      '#   command: ["httpd", "-f", "-p", "8080"]',
      "#   env:",
      `#     SERVICE: ${svc}`,
      "#     LOG_LEVEL: info",
      "#   restartPolicy: unlessStopped",
      "",
    ].join("\n");
    await put(`apps/${team}/${svc}/${i % 3 === 0 ? "config" : "deploy"}-${i}.${i % 4 === 0 ? "yml" : "yaml"}`, text);
  }
  return { dirs: dirs.size, bytes };
}

export async function benchIdle(env: SuiteEnv, o: GitopsBenchOptions): Promise<IdleResult> {
  const tree = await initGitTree(path.join(env.base, "idle-tree"), o.stepTimeoutMs);
  const made = await writeIdleTree(tree.dir, o.idleFiles);
  const head = await tree.commitAll("1,000 manifests");
  let d: BerthDaemonProc | undefined;
  try {
    // the image first (a daemon without --watch), then the daemon that watches from its start
    d = await startBerthDaemon(env, { name: "idle", addressPool: "10.214.64.0/18:24" });
    await importBusybox(d, env);
    await d.stop();
    env.roots.pop(); // the same root again below
    d = await startBerthDaemon(env, { name: "idle", addressPool: "10.214.64.0/18:24", extraArgs: ["--watch", `${tree.dir}=${IDLE_STACK}`] });
    const client = d.client;
    const deadline = now() + o.convergeTimeoutMs;
    for (;;) {
      const src = await client.getSource(IDLE_STACK).catch(() => undefined);
      const ctr = await client.get("Container", "idle-sleeper").catch(() => undefined);
      if (src?.state === "Synced" && src.appliedCommit === head && (ctr?.status as ContainerStatusView | undefined)?.phase === "Running") break;
      if (src?.state === "Invalid" || src?.state === "Failed") throw new Error(`idle source ${src.state}: ${src.message ?? ""} ${JSON.stringify(src.errors).slice(0, 400)}`);
      if (now() > deadline) throw new Error(`idle source not Synced with its container running within ${o.convergeTimeoutMs} ms: ${JSON.stringify(src ?? null).slice(0, 400)}`);
      await sleep(100);
    }
    await sleep(o.idleSettleMs);
    const hz = Number((await must("getconf", ["CLK_TCK"], 10_000)).trim());
    const [a0, c0] = await cpuTicks(d.pid);
    const t0 = now();
    await sleep(o.idleWindowMs);
    const [a1, c1] = await cpuTicks(d.pid);
    const wallMs = now() - t0;
    const cpuMs = ((a1 - a0) / hz) * 1000;
    const status = await fs.readFile(`/proc/${d.pid}/status`, "utf8").catch(() => "");
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const resync: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [b0] = await cpuTicks(d.pid);
      await client.syncSource(IDLE_STACK);
      await sleep(200);
      const [b1] = await cpuTicks(d.pid);
      resync.push(((b1 - b0) / hz) * 1000);
    }
    const resyncCpuMs = median(resync);
    await d.client.unregisterSource(IDLE_STACK);
    await deleteAllContainers(d, o.stepTimeoutMs);
    return {
      files: o.idleFiles,
      dirs: made.dirs,
      bytes: made.bytes,
      settleMs: o.idleSettleMs,
      windowMs: round(wallMs)!,
      clockTicks: hz,
      cpuMs: round(cpuMs),
      cpuPercentOfCore: round((cpuMs / wallMs) * 100, 2),
      childrenCpuMs: round(((c1 - c0) / hz) * 1000),
      rssMiB: rss ? round(Number(rss[1]) / 1024) : null,
      resyncCpuMs: round(resyncCpuMs),
      resyncAmortizedPercent: round((resyncCpuMs / 60_000) * 100, 2),
    };
  } finally {
    await d?.stop();
  }
}
