/**
 * Issue 10's goals side by side in one run, a file per scenario:
 *
 * 1. pull.ts — a multi-layer image (busybox + 5 layers of incompressible files, pushed once
 *    by berth to a docker-registry on 127.0.0.1 with its own config and storage): berth's
 *    `registry.pull` into a fresh root vs `skopeo copy docker://… dir:…` (goal ≤ 1.2×);
 * 2. build.ts — the example app's multi-stage Dockerfile (fixtures.ts): cold and unchanged
 *    rebuild, berth's builder vs `docker build` on a private dockerd (goals ≤ 1.0× cold,
 *    ≤ 2× unchanged rebuild);
 * 3. unpack.ts — layer unpack vs `tar -xzf` (goal ≤ 1.3×), and where berth's unpack goes.
 *
 * Everything lives under one temp dir (berth's run-roots on a private tmpfs, like /run);
 * berth's containers (RUN steps) run under a cgroup parent of the suite's own. At the end the
 * registry and dockerd are stopped (its state, mounts and cgroups go with it, see
 * test/helpers/dockerd.ts), berth's leftovers (runc state, processes, mounts) are removed,
 * then the cgroup parent and the temp dir. Network only to 127.0.0.1: berth's registry
 * client has a loopback-only guard, and every URL it saw is checked. Needs root, runc, conmon,
 * busybox, tar; docker-registry, skopeo and dockerd where installed (else that part is
 * reported as not measured, with the reason).
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { dockerdMissing, pidsMentioning, removeCgroupTrees, startPrivateDockerd, unmountAllUnder, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { registryMissing, startTestRegistry, type TestRegistry } from "../../test/helpers/registry.js";
import { errText } from "../proc.js";
import { must } from "../runtime/helpers.js";
import { now, round } from "../stats.js";
import { benchBuild } from "./build.js";
import { makeBusyboxRootfs } from "./fixtures.js";
import { defaultBuildBenchOptions, type BuildBenchOptions } from "./options.js";
import { benchPull } from "./pull.js";
import { report } from "./report.js";
import type { BuildBenchEnv } from "./types.js";
import { benchLayerUnpack } from "./unpack.js";

export { defaultBuildBenchOptions, type BuildBenchOptions } from "./options.js";

/** BERTH_BENCH_PARTS=pull,build,unpack (a comma list; default all): the scenarios to run, the others reported as skipped. */
function partsToRun(): Set<string> {
  const v = process.env.BERTH_BENCH_PARTS?.trim();
  return new Set(v ? v.split(",").map((s) => s.trim()) : ["pull", "build", "unpack"]);
}

export async function benchBuildSuite(o: BuildBenchOptions = defaultBuildBenchOptions()) {
  const parts = partsToRun();
  const skipped = { error: "not run (BERTH_BENCH_PARTS)" };
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar", "gzip"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const started = now();
  const base = await fs.mkdtemp("/tmp/berth-bench-build-");
  const env: BuildBenchEnv = {
    base,
    run: path.join(base, "run"),
    rootfsDir: path.join(base, "rootfs"),
    rootfsTgz: path.join(base, "busybox.tar.gz"),
    cgroupParent: `berth-bench-build-${randomBytes(3).toString("hex")}`,
    seen: [],
    options: o,
  };
  const notes: string[] = [];
  let tmpfsMounted = false;
  let registry: TestRegistry | undefined;
  let dockerd: PrivateDockerd | undefined;
  try {
    await fs.mkdir(env.run);
    await must("mount", ["-t", "tmpfs", "-o", "mode=0700,size=512m", "berth-bench-build", env.run], o.stepTimeoutMs);
    tmpfsMounted = true;
    await fs.mkdir(env.rootfsDir);
    await makeBusyboxRootfs(env.rootfsDir, env.rootfsTgz, o.stepTimeoutMs);

    let pull: Awaited<ReturnType<typeof benchPull>> | { error: string };
    const noRegistry = registryMissing();
    if (!parts.has("pull")) pull = skipped;
    else if (noRegistry) pull = { error: noRegistry };
    else {
      try {
        registry = await startTestRegistry({ parent: base });
        pull = await benchPull(env, registry);
      } catch (err) {
        pull = { error: errText(err) };
      } finally {
        await registry?.stop();
      }
    }

    let build: Awaited<ReturnType<typeof benchBuild>> | { error: string } = skipped;
    if (parts.has("build")) try {
      const noDocker = dockerdMissing();
      let d: PrivateDockerd | { available: false; reason: string };
      if (noDocker) d = { available: false, reason: noDocker };
      else {
        try {
          d = dockerd = await startPrivateDockerd();
        } catch (err) {
          d = { available: false, reason: errText(err) };
        }
      }
      build = await benchBuild(env, d);
    } catch (err) {
      build = { error: errText(err) };
    } finally {
      await dockerd?.stop();
    }

    let unpack: Awaited<ReturnType<typeof benchLayerUnpack>> | { error: string } = skipped;
    if (parts.has("unpack")) try {
      unpack = await benchLayerUnpack(env);
    } catch (err) {
      unpack = { error: errText(err) };
    }

    const foreign = env.seen.filter((u) => !/^127\./.test(u.hostname));
    notes.push(foreign.length ? `berth's registry client saw non-loopback URLs: ${foreign.map((u) => u.host).join(", ")}` : `berth's registry client connected only to 127.0.0.1 (${env.seen.length} requests)`);
    return { ...report(pull, build, unpack, o, notes), durationS: round((now() - started) / 1000) };
  } finally {
    await registry?.stop();
    await dockerd?.stop();
    for (const p of await pidsMentioning(base)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    if (tmpfsMounted) await unmountAllUnder(env.run);
    await unmountAllUnder(base);
    await removeCgroupTrees(env.cgroupParent);
    await fs.rm(base, { recursive: true, force: true }).catch(() => {});
  }
}
