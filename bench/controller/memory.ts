/**
 * Scenario 6: the daemon's RSS as a separate process: fresh (started, nothing applied yet),
 * idle (an image imported, which loads the manifest and archive code the daemon loads
 * lazily) and with
 * `memoryContainers` × `sleep 3600`, vs dockerd + containerd (a fresh private instance) at 0
 * and the same number; the monitors (conmon, containerd-shim) summed as RSS and PSS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient } from "../../controller/api/client.js";
import { until } from "../../test/helpers/daemon.js";
import { runProcess, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { pidsByComm, pssKiB, statusKiB, sumPssKiB, sumRssKiB } from "../proc.js";
import { now, range, round, sleep } from "../stats.js";
import { applyOrThrow, composeUpPolling, ctrDoc, IMAGE, imageDoc, scrubBerth, sleeperSpec, startDocker, untilStack, waitImageReady, writeCompose, type Ctx } from "./helpers.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export interface RssReading {
  daemonRssKiB: number | null;
  daemonPssKiB: number | null;
  /** dockerd: its containerd. */
  helperRssKiB?: number | null;
  totalRssKiB: number | null;
  /** Sums over the per-container monitors (conmon / containerd-shim). */
  monitorsRssKiB: number | null;
  monitorsPssKiB: number | null;
  monitors: number;
}

export async function berthMemory(ctx: Ctx) {
  const { o } = ctx;
  const root = path.join(ctx.base, "mem-root");
  const runRoot = path.join(ctx.run, "mem");
  const cgroupParent = `berth-bench-mem-${randomBytes(4).toString("hex")}`;
  const n = o.memoryContainers;
  const names = range(n).map((i) => `m-${i}`);
  let child: ChildProcess | undefined;
  let exited = false;
  let client: ApiClient | undefined;
  const read = async (pid: number): Promise<RssReading> => {
    const monitors = await pidsByComm(runRoot, (c) => c === "conmon");
    const rss = await statusKiB(pid, "VmRSS");
    return {
      daemonRssKiB: round(rss),
      daemonPssKiB: round(await pssKiB(pid)),
      totalRssKiB: round(rss),
      monitorsRssKiB: round(await sumRssKiB(monitors)),
      monitorsPssKiB: round(await sumPssKiB(monitors)),
      monitors: monitors.length,
    };
  };
  try {
    const script = path.join(REPO, "test/fixtures/daemon-child.mjs");
    child = spawn(process.execPath, [script, root, runRoot, cgroupParent], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BERTH_TEST_LOG: "silent" } });
    const c = child;
    c.on("exit", () => (exited = true));
    let stderr = "";
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon child: not ready within ${o.stepTimeoutMs}ms: ${stderr.slice(-600)}`)), o.stepTimeoutMs);
      c.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`daemon child exited ${code}: ${stderr.slice(-600)}`));
      });
    });
    client = new ApiClient(path.join(runRoot, "berth.sock"));
    await sleep(o.settleMs);
    const fresh = await read(c.pid!);
    await applyOrThrow(client, "bench-image", imageDoc(ctx.tar));
    await waitImageReady(client, o);
    await sleep(o.settleMs);
    const idle = await read(c.pid!);
    const t0 = now();
    await applyOrThrow(client, "m", names.map((x) => ctrDoc(x, sleeperSpec)).join(""));
    const cl = client;
    await untilStack(cl, "m", n, "all Running", (s) => s.phase === "Running", o.stepTimeoutMs * 2, 100);
    const startMs = now() - t0;
    await sleep(o.settleMs);
    const loaded = await read(c.pid!);
    return { pid: c.pid, process: "node test/fixtures/daemon-child.mjs (startDaemon, resyncMs 1000)", fresh, idle, loaded, startAllMs: round(startMs) };
  } finally {
    if (client) {
      for (const x of names) await client.delete("Container", x).catch(() => {});
      const runcRoot = path.join(runRoot, "runc");
      await until("memory containers removed", async () => {
        const r = await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: 30_000 });
        return r.stdout.trim() === "" ? true : undefined;
      }, o.stepTimeoutMs, 200).catch(() => {});
    }
    if (child && !exited) {
      child.kill("SIGTERM");
      const gone = await until("daemon child exit", async () => (exited ? true : undefined), 15_000, 50).catch(() => false);
      if (!gone) child.kill("SIGKILL");
    }
    await scrubBerth(root, runRoot, cgroupParent, o.stepTimeoutMs);
  }
}

export async function dockerMemory(ctx: Ctx, mustStop: PrivateDockerd | undefined) {
  const { o } = ctx;
  // A fresh dockerd, like the fresh berth daemon process: no heap left from earlier rounds.
  await mustStop?.stop();
  const dk = await startDocker(path.join(ctx.base, "mem-docker"), ctx.tar, o);
  const n = o.memoryContainers;
  const project = `${ctx.prefix}mem`;
  const read = async (): Promise<RssReading> => {
    const containerd = await pidsByComm(dk.d.dir, (c) => c === "containerd");
    const shims = await pidsByComm(dk.d.dir, (c) => c.startsWith("containerd-shim"));
    const daemonRss = await statusKiB(dk.d.pid, "VmRSS");
    const helper = await sumRssKiB(containerd);
    return {
      daemonRssKiB: round(daemonRss),
      daemonPssKiB: round(await pssKiB(dk.d.pid)),
      helperRssKiB: round(helper),
      totalRssKiB: round(daemonRss + helper),
      monitorsRssKiB: round(await sumRssKiB(shims)),
      monitorsPssKiB: round(await sumPssKiB(shims)),
      monitors: shims.length,
    };
  };
  try {
    await sleep(o.settleMs);
    const idle = await read();
    let startMs: number | null = null;
    let how: string;
    if (dk.compose) {
      const file = await writeCompose(dk, project, { s: { image: IMAGE, network_mode: "none", command: ["sleep", "3600"], stop_signal: "SIGKILL" } });
      const t0 = now();
      const r = await composeUpPolling(dk, project, file, ["--scale", `s=${n}`], t0, async () => (await dk.list(project)).filter((c) => c.State === "running").length === n, { ...o, pollMs: 100 });
      startMs = r.doneMs;
      how = `${dk.compose.version} up -d --scale s=${n}`;
    } else {
      for (const i of range(n)) await dk.d.mustDocker(["run", "-d", "--network", "none", "--name", `${project}-${i}`, IMAGE, "sleep", "3600"], { timeoutMs: o.stepTimeoutMs });
      how = `docker run -d ×${n}`;
    }
    await sleep(o.settleMs);
    const loaded = await read();
    return { version: dk.d.version, started: how, idle, loaded, startAllMs: round(startMs) };
  } finally {
    await dk.d.stop();
  }
}
