/**
 * The embedded runtime against its floor and its peers, side by side in one run; a file per
 * contender (berth.ts, runc.ts, podman.ts, docker.ts) and per scenario:
 *
 * - rounds.ts: create+start of N busybox containers (`sleep 3600`, no network),
 *   sequentially: berth's runtime API vs `runc run -d` on a prepared bundle (the floor),
 *   `runc create` + `runc start`, and `podman run -d` / `docker run -d` (a private dockerd)
 *   where installed; and per-container memory at N=10: the container process and its
 *   monitor (conmon, the containerd shim), VmRSS and PSS;
 * - unpack.ts: layer unpack throughput: the snapshot store's unpack of a ~150 MB gzip layer
 *   vs `tar -xzf` of the same file.
 *
 * Everything lives under one temp dir (the run-roots on a private tmpfs, like /run); every
 * spawned process is bounded by a timeout; containers, mounts, cgroups and daemons are
 * removed in `finally`. Needs root, runc, conmon, overlayfs and busybox; returns a JSON-able
 * summary (with the reason instead of numbers for what cannot run here).
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { unmountAllUnder } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { median, now, round } from "../stats.js";
import { berthContender } from "./berth.js";
import { dockerContender } from "./docker.js";
import { makeBusybox, must } from "./helpers.js";
import { defaultRuntimeBenchOptions, type RuntimeBenchOptions } from "./options.js";
import { podmanContender } from "./podman.js";
import { report } from "./report.js";
import { runRound } from "./rounds.js";
import { runcContender } from "./runc.js";
import type { BenchEnv, Contender, ContenderResult, RoundResult, UnpackResult } from "./types.js";
import { benchUnpack } from "./unpack.js";

export { defaultRuntimeBenchOptions, type RuntimeBenchOptions } from "./options.js";

export async function benchRuntime(o: RuntimeBenchOptions = defaultRuntimeBenchOptions()) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const started = now();
  const base = await fs.mkdtemp("/tmp/berth-bench-");
  const env: BenchEnv = {
    base,
    run: path.join(base, "run"),
    rootfsDir: path.join(base, "rootfs"),
    rootfsTgz: path.join(base, "busybox.tar.gz"),
    cgroupPrefix: `berth-bench-${randomBytes(3).toString("hex")}`,
    timeoutMs: o.stepTimeoutMs,
  };
  let tmpfsMounted = false;
  const contenders: Contender[] = [];
  const results: ContenderResult[] = [];
  try {
    await fs.mkdir(env.run);
    await must("mount", ["-t", "tmpfs", "-o", "mode=0700,size=512m", "berth-bench", env.run], o.stepTimeoutMs);
    tmpfsMounted = true;
    await fs.mkdir(env.rootfsDir);
    await makeBusybox(env);

    const setups: [string, () => Promise<Contender>][] = [
      ["runc run -d (floor)", () => runcContender(env, "run")],
      ["runc create + start", () => runcContender(env, "create+start")],
      ["berth (runtime API)", () => berthContender(env)],
      ["podman run -d", () => podmanContender(env)],
      ["docker run -d (private dockerd)", () => dockerContender(env)],
    ];
    const active: { c: Contender; res: ContenderResult }[] = [];
    for (const [name, setup] of setups) {
      try {
        const c = await setup();
        contenders.push(c);
        const res: ContenderResult = { name: c.name, available: true, version: c.version, rounds: {} };
        // Warm-up: one container started and removed, untimed (page cache, first-use costs).
        await runRound(c, "warm", 1, -1, res);
        results.push(res);
        active.push({ c, res });
      } catch (err) {
        results.push({ name, available: false, reason: (err as Error).message.slice(0, 600), rounds: {} });
      }
    }

    for (const n of o.sizes) {
      for (const { c, res } of active) {
        if (!res.available) continue;
        try {
          const reps = n === 1 ? o.singleReps : 1;
          const rs: RoundResult[] = [];
          for (let i = 0; i < reps; i++) rs.push(await runRound(c, `b${n}x${i}`, n, o.memoryAt, res));
          const pick = (k: keyof RoundResult) => median(rs.map((r) => r[k]));
          res.rounds[String(n)] = { n, totalMs: pick("totalMs"), perContainerMs: pick("perContainerMs"), removeMsPerContainer: pick("removeMsPerContainer") };
        } catch (err) {
          res.available = false;
          res.reason = `failed at N=${n}: ${(err as Error).message.slice(0, 600)}`;
        }
      }
    }

    let unpack: UnpackResult | { error: string };
    try {
      unpack = await benchUnpack(env, o);
    } catch (err) {
      unpack = { error: (err as Error).message.slice(0, 600) };
    }

    const summary = report(results, unpack, o);
    // Where berth's start goes, phase by phase (create, then start), medians over every start.
    const berth = active.find((a) => a.c.phases)?.c.phases?.();
    if (berth) {
      const width = Math.max(...Object.keys(berth).map((k) => k.length));
      console.log(`\nberth create+start by phase (median ms over every container started):`);
      for (const [k, v] of Object.entries(berth)) console.log(`  ${k.padEnd(width)}  ${v.toFixed(1).padStart(6)}`);
      console.log(`  ${"sum".padEnd(width)}  ${Object.values(berth).reduce((a, b) => a + b, 0).toFixed(1).padStart(6)}`);
    }
    return { ...summary, ...(berth ? { berthPhasesMs: berth } : {}), durationS: round((now() - started) / 1000) };
  } finally {
    for (const c of contenders.reverse()) await c.close().catch(() => {});
    if (tmpfsMounted) await unmountAllUnder(env.run);
    await unmountAllUnder(base);
    await fs.rm(base, { recursive: true, force: true }).catch(() => {});
  }
}
