/**
 * The controller against Docker Compose and dockerd, side by side in one run, a file per
 * scenario:
 *
 * 1. stack.ts: apply of a 10-container stack (independent `sleep 3600`) until all are
 *    Running, vs `docker-compose up -d` of the equivalent compose file until all are running;
 * 2. chain.ts: a 10-deep `dependsOn: healthy` chain (exec healthcheck, interval 200ms) until
 *    all are Running and healthy, vs compose `depends_on: {condition: service_healthy}`;
 * 3. noop.ts: a no-op re-apply of the 10-container stack (API round trip; also the CLI), vs
 *    `docker-compose up -d` with nothing to change;
 * 4. crash.ts: `kill -9` of a `restartPolicy: always` container until the replacement runs
 *    (new pid), vs a `docker run --restart always` container;
 * 5. unhealthy.ts: a healthcheck failing `retries` times until the restarted container runs
 *    (Docker only reports unhealthy; its detection time is shown for reference);
 * 6. memory.ts: the daemon's RSS, as a separate process, idle and with 50 containers, vs
 *    dockerd + containerd (private instance) at 0 and 50.
 *
 * berth runs in this process for 1–5 (its own temp root, a run-root on a private tmpfs and a
 * unique cgroup parent), driven through ApiClient and polled every `pollMs`; Docker is a
 * private dockerd (no iptables, no bridge; every container `network_mode: none`) polled
 * through its API socket at the same rate (helpers.ts). Every wait is bounded; containers,
 * compose projects, mounts, cgroups, daemons and temp dirs are removed in `finally`. Needs
 * root, runc, conmon, overlayfs and busybox; returns a JSON-able summary (with the reason
 * instead of numbers for what cannot run here).
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { dockerdMissing, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { errText, mustRun } from "../proc.js";
import { now, ratio, round } from "../stats.js";
import { benchChain } from "./chain.js";
import { benchCrash } from "./crash.js";
import { failed, startBerth, startDocker, type Berth, type Ctx, type Docker, type Unavailable } from "./helpers.js";
import { berthMemory, dockerMemory, type RssReading } from "./memory.js";
import { benchNoop } from "./noop.js";
import { defaultControllerBenchOptions, type ControllerBenchOptions } from "./options.js";
import { report } from "./report.js";
import { benchStack } from "./stack.js";
import { benchUnhealthy } from "./unhealthy.js";

export { defaultControllerBenchOptions, type ControllerBenchOptions } from "./options.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export async function benchController(o: ControllerBenchOptions = defaultControllerBenchOptions()) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const started = now();
  const base = await fs.mkdtemp("/tmp/berth-bc-");
  const run = path.join(base, "run");
  const tar = path.join(base, "busybox.tar");
  const notes: string[] = [];
  let tmpfsMounted = false;
  let berth: Berth | undefined;
  let docker: Docker | undefined;
  let dockerMissing: string | undefined = dockerdMissing();
  const out: Record<string, unknown> = {};
  try {
    await fs.mkdir(run);
    // The run-roots on a private tmpfs, like /run.
    await mustRun("mount", ["-t", "tmpfs", "-o", "mode=0700,size=256m", "berth-bench", run], o.stepTimeoutMs);
    tmpfsMounted = true;
    await mustRun(path.join(REPO, "scripts/busybox-rootfs.sh"), [tar], o.stepTimeoutMs);
    berth = await startBerth(base, run, tar, o);
    if (!dockerMissing) {
      try {
        docker = await startDocker(base, tar, o);
      } catch (err) {
        dockerMissing = errText(err);
      }
    }
    const ctx: Ctx = { o, base, run, tar, prefix: `bc${randomBytes(3).toString("hex")}`, berth, ...(docker ? { docker } : {}), ...(dockerMissing ? { dockerMissing } : {}), notes };
    out.versions = {
      node: process.version,
      runc: (await runProcess("runc", ["--version"], { timeoutMs: 30_000 })).stdout.split("\n")[0]?.trim(),
      conmon: (await runProcess("conmon", ["--version"], { timeoutMs: 30_000 })).stdout.split("\n")[0]?.trim(),
      dockerd: docker?.d.version ?? null,
      compose: docker?.compose?.version ?? null,
    };
    out.options = o;

    const step = async (name: string, fn: () => Promise<unknown>) => {
      const t0 = now();
      try {
        out[name] = await fn();
      } catch (err) {
        out[name] = failed(err);
      }
      console.error(`  [controller bench] ${name}: ${((now() - t0) / 1000).toFixed(1)}s`);
    };
    // 1, then 3 on the stacks 1 leaves running
    await step("stack", async () => {
      const { apply10, inner } = await benchStack(ctx, (running) => benchNoop(ctx, running));
      return { apply10, noopReapply: inner };
    });
    const stack = out.stack as { apply10?: unknown; noopReapply?: unknown } | Unavailable;
    delete out.stack;
    out.apply10 = "notMeasured" in stack ? stack : stack.apply10;
    out.noopReapply = "notMeasured" in stack ? stack : stack.noopReapply;
    await step("chain10Healthy", () => benchChain(ctx));
    await step("crashRestart", () => benchCrash(ctx));
    await step("unhealthyRestart", () => benchUnhealthy(ctx));

    // 6: both daemons as separate processes; the in-process daemon goes first (idle host).
    await berth.close();
    berth = undefined;
    const memory: Record<string, unknown> = { containers: o.memoryContainers, settleMs: o.settleMs };
    await step("memoryBerth", async () => berthMemory(ctx));
    if (docker || !dockerMissing) {
      const d = docker;
      docker = undefined;
      await step("memoryDocker", async () => dockerMemory(ctx, d?.d));
    } else out.memoryDocker = { notMeasured: dockerMissing };
    memory.berth = out.memoryBerth;
    memory.docker = out.memoryDocker;
    delete out.memoryBerth;
    delete out.memoryDocker;
    const bm = memory.berth as { idle?: RssReading; loaded?: RssReading } | undefined;
    const dm = memory.docker as { idle?: RssReading; loaded?: RssReading } | undefined;
    memory.ratioIdle = ratio(bm?.idle?.totalRssKiB, dm?.idle?.totalRssKiB);
    memory.ratioLoaded = ratio(bm?.loaded?.totalRssKiB, dm?.loaded?.totalRssKiB);
    out.daemonRss = memory;
    out.notes = notes;
    out.durationS = round((now() - started) / 1000);
    try {
      report(out, o);
    } catch (err) {
      console.error(`controller bench: report failed: ${errText(err)}`);
    }
    return out;
  } finally {
    await berth?.close().catch(() => {});
    await docker?.d.stop();
    if (tmpfsMounted) await unmountAllUnder(run);
    await unmountAllUnder(base);
    await fs.rm(base, { recursive: true, force: true }).catch(() => {});
  }
}
