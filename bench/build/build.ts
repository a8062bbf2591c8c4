/**
 * Build of the example app (fixtures.ts: a multi-stage Dockerfile) by berth's builder and by
 * `docker build` against the private dockerd, network `none` for both:
 *
 * - cold: berth on a fresh root each round (the base imported untimed); Docker with
 *   `--no-cache`, every image but the base removed between rounds;
 * - unchanged rebuild: the same context again, the cache warm (every step CACHED / "Using
 *   cache"); berth in this process; as users run it, `berth image build` (a CLI process)
 *   against a running `berth daemon` on the root — the counterpart of `docker build` against
 *   dockerd; and in a fresh node process with no daemon (rebuild-child.ts: node's start,
 *   module loading and opening the runtime count).
 *
 * One untimed cold build each first (module loading, page cache).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runProcess, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { testSpec } from "../../test/helpers/rootfs.js";
import { withTimeout } from "../runtime/helpers.js";
import { median, now, range, ratio, round, summarize } from "../stats.js";
import { openBerthRoot, type BerthRoot } from "./berth-root.js";
import { APP_IMAGE, BASE_IMAGE, makeAppContext, PATH_ENV } from "./fixtures.js";
import type { BuildBenchEnv, BuildResult, BuildSide, Unavailable } from "./types.js";

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "rebuild-child.js");
const BERTH_CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../cli/main.js");

/** `berth daemon` on the root, as a process; resolves once its API answers. */
async function startDaemon(root: string, runRoot: string, cgroupParent: string, timeoutMs: number): Promise<{ stop(): Promise<void> }> {
  const child = spawn(process.execPath, [BERTH_CLI, "--root", root, "--run-root", runRoot, "daemon", "--log-level", "warn", "--cgroup-parent", cgroupParent], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`berth daemon exited: ${stderr.trim().slice(-800)}`);
    // `berth get` needs the daemon (`image ls` can read a root without one).
    const r = await runProcess(process.execPath, [BERTH_CLI, "--run-root", runRoot, "get"], { timeoutMs: 10_000 });
    if (r.code === 0) return { stop };
    if (now() > deadline) {
      await stop();
      throw new Error(`berth daemon did not answer within ${timeoutMs} ms: ${stderr.trim().slice(-800)} ${r.stderr.trim().slice(-400)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One `berth image build -q` against the daemon: its wall time and the image ID it printed. */
async function cliBuild(runRoot: string, context: string, timeoutMs: number): Promise<{ wallMs: number; id: string }> {
  const t0 = now();
  const r = await runProcess(process.execPath, [BERTH_CLI, "--run-root", runRoot, "image", "build", "-q", "--network", "none", "-t", APP_IMAGE, context], { timeoutMs });
  const wallMs = now() - t0;
  if (r.code !== 0) throw new Error(`berth image build exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
  return { wallMs, id: r.stdout.trim() };
}

interface ChildOut {
  openMs: number;
  buildMs: number;
  steps: number;
  cached: number;
  digest: string;
}

function runChild(args: object, timeoutMs: number): Promise<{ wallMs: number; out: ChildOut }> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      const wallMs = now() - t0;
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`rebuild child exited ${code}: ${stderr.trim().slice(-800)}`));
      try {
        resolve({ wallMs, out: JSON.parse(stdout.trim().split("\n").pop()!) as ChildOut });
      } catch (err) {
        reject(new Error(`rebuild child: no result: ${stdout.slice(-400)} ${(err as Error).message}`));
      }
    });
  });
}

async function berthSide(env: BuildBenchEnv, context: string): Promise<BuildResult["berth"]> {
  const o = env.options;
  let n = 0;
  const fresh = async () => {
    const b = await openBerthRoot({ root: path.join(env.base, `build-root-${n}`), runRoot: path.join(env.run, `build-${n++}`), cgroupParent: env.cgroupParent, seen: env.seen });
    await b.rt.images.importRootfs(env.rootfsTgz, BASE_IMAGE, { config: { Cmd: ["sh"], Env: [PATH_ENV] } });
    // `docker import` extracts the base's layer there and then; berth unpacks an imported
    // image when a container first needs it. So one container of the base is created (and
    // removed) untimed, leaving berth's base unpacked as Docker's is before either build.
    const c = await b.rt.containers.create(testSpec(`bench-base-${n}`, { image: BASE_IMAGE, command: ["true"] }));
    await b.rt.containers.remove(c.id, { force: true });
    return b;
  };
  const build = async (b: BerthRoot, noCache = false) => {
    let steps = 0;
    let cached = 0;
    let missed = 0;
    const t0 = now();
    const img = await withTimeout(
      b.rt.builder!.build({
        context,
        tags: [APP_IMAGE],
        network: "none",
        noCache,
        onEvent: (e) => {
          if (e.type === "cached") cached++;
          if (e.type === "miss") missed++;
          if (e.type === "step") steps++;
        },
      }),
      o.stepTimeoutMs,
      "berth build",
    );
    return { ms: now() - t0, steps, cached, missed, digest: img.digest, configDigest: img.configDigest, layers: img.layers.length };
  };
  const cold: number[] = [];
  const warm: number[] = [];
  const proc: { wallMs: number; out: ChildOut }[] = [];
  const cli: { wallMs: number; id: string }[] = [];
  let last: BerthRoot | undefined;
  try {
    for (const i of range(o.coldRounds + 1)) {
      await last?.dispose();
      last = await fresh();
      const r = await build(last);
      if (i > 0) cold.push(r.ms);
    }
    let w = { ms: NaN, steps: 0, cached: 0, missed: 0, digest: "", configDigest: "", layers: 0 };
    for (const _ of range(o.warmRounds)) warm.push((w = await build(last!)).ms);
    await last!.close(); // the daemon, then the child, take the root lock
    const daemon = await startDaemon(last!.root, last!.runRoot, env.cgroupParent, o.stepTimeoutMs);
    try {
      await cliBuild(last!.runRoot, context, o.stepTimeoutMs); // the daemon's first build: its module loading, untimed
      for (const _ of range(o.processRounds)) cli.push(await cliBuild(last!.runRoot, context, o.stepTimeoutMs));
    } finally {
      await daemon.stop();
    }
    const lastCli = cli[cli.length - 1];
    if (lastCli && lastCli.id !== w.configDigest) throw new Error(`berth: the rebuild through the daemon gave image ID ${lastCli.id}, in process ${w.configDigest}`);
    for (const _ of range(o.processRounds)) proc.push(await runChild({ root: last!.root, runRoot: last!.runRoot, cgroupParent: env.cgroupParent, context, tag: APP_IMAGE }, o.stepTimeoutMs));
    const lastChild = proc[proc.length - 1]?.out;
    if (lastChild && lastChild.digest !== w.digest) throw new Error(`berth: the rebuild in a child gave ${lastChild.digest}, in process ${w.digest}`);
    return {
      version: "runtime API (in process)",
      builder: "berth builder",
      cold: summarize(cold),
      warm: summarize(warm),
      warmCached: `${w.cached} of ${w.cached + w.missed} cacheable steps CACHED (${w.steps} steps in all)`,
      layers: w.layers,
      cli: summarize(cli.map((c) => c.wallMs)),
      process: { ...summarize(proc.map((p) => p.wallMs)), inChildOpenMs: round(median(proc.map((p) => p.out.openMs))), inChildBuildMs: round(median(proc.map((p) => p.out.buildMs))) },
    };
  } finally {
    await last?.dispose();
  }
}

type DockerBuilder = "classic" | "buildkit";

/** `docker build` with the builder chosen by DOCKER_BUILDKIT (20.10's CLI has BuildKit built in; unset means classic). */
async function dockerBuild(d: PrivateDockerd, mode: DockerBuilder, args: string[], timeoutMs: number): Promise<string> {
  const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: d.dir, DOCKER_CONFIG: path.join(d.dir, "client"), DOCKER_BUILDKIT: mode === "buildkit" ? "1" : "0" };
  const r = await runProcess(d.cli, ["-H", `unix://${d.socket}`, "build", ...(mode === "buildkit" ? ["--progress", "plain"] : []), ...args], { timeoutMs, env });
  if (r.code !== 0) throw new Error(`docker build (${mode}) exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return `${r.stdout}\n${r.stderr}`;
}

async function dockerSide(d: PrivateDockerd, env: BuildBenchEnv, context: string, mode: DockerBuilder): Promise<BuildSide & { available: true }> {
  const o = env.options;
  const baseId = (await d.mustDocker(["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE])).trim();
  // Every image but the base: the app, its untagged parents, the build stage's intermediates; and BuildKit's cache.
  const removeBuilt = async () => {
    const ids = [...new Set((await d.mustDocker(["images", "-aq", "--no-trunc"])).split("\n").map((s) => s.trim()).filter((s) => s && s !== baseId))];
    if (ids.length) await d.docker(["rmi", "-f", ...ids], { timeoutMs: o.stepTimeoutMs });
    await d.docker(["builder", "prune", "-af"], { timeoutMs: o.stepTimeoutMs });
  };
  const build = async (noCache: boolean) => {
    const t0 = now();
    const out = await dockerBuild(d, mode, [...(noCache ? ["--no-cache"] : []), "--network", "none", "-t", APP_IMAGE, context], o.stepTimeoutMs);
    const ms = now() - t0;
    if (mode === "classic" && !/Sending build context to Docker daemon/.test(out)) throw new Error("docker build: DOCKER_BUILDKIT=0 did not use the classic builder");
    const cached = mode === "classic" ? (out.match(/Using cache/g) ?? []).length : (out.match(/^#\d+ CACHED$/gm) ?? []).length;
    const steps = mode === "classic" ? (out.match(/^Step \d+\/\d+ :/gm) ?? []).length : (out.match(/^#\d+ \[(?:build|stage-\d+|\d+\/\d+)[^\]]*\]/gm) ?? []).length;
    return { ms, cached, steps };
  };
  const cold: number[] = [];
  const warm: number[] = [];
  for (const i of range(o.coldRounds + 1)) {
    await removeBuilt();
    const r = await build(true);
    if (i > 0) cold.push(r.ms);
  }
  let w = { ms: NaN, cached: 0, steps: 0 };
  for (const _ of range(o.warmRounds)) warm.push((w = await build(false)).ms);
  const layers = Number((await d.mustDocker(["image", "inspect", "--format", "{{len .RootFS.Layers}}", APP_IMAGE])).trim());
  await removeBuilt();
  return {
    available: true,
    version: `dockerd ${d.version}`,
    builder: mode === "classic" ? "classic builder (DOCKER_BUILDKIT=0; 20.10's default)" : "BuildKit (DOCKER_BUILDKIT=1, the 20.10 CLI's built-in client)",
    cold: summarize(cold),
    warm: summarize(warm),
    warmCached: mode === "classic" ? `${w.cached} "Using cache" of ${w.steps} steps` : `${w.cached} CACHED of ${w.steps} step lines`,
    layers,
  };
}

export async function benchBuild(env: BuildBenchEnv, dockerd: PrivateDockerd | Unavailable): Promise<BuildResult> {
  const context = path.join(env.base, "app");
  const made = await makeAppContext(context, env.options);
  const berth = await berthSide(env, context);
  const side = async (mode: DockerBuilder): Promise<BuildResult["docker"]> => {
    if ("available" in dockerd) return dockerd;
    try {
      return await dockerSide(dockerd, env, context, mode);
    } catch (err) {
      return { available: false, reason: (err as Error).message.slice(0, 600) };
    }
  };
  if (!("available" in dockerd)) await dockerd.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTgz, BASE_IMAGE]);
  const docker = await side("classic");
  const buildkit = await side("buildkit");
  const d = docker.available ? docker : undefined;
  const k = buildkit.available ? buildkit : undefined;
  return {
    context: made,
    berth,
    docker,
    buildkit,
    ratios: {
      cold: ratio(berth.cold.medianMs, d?.cold.medianMs),
      warm: ratio(berth.warm.medianMs, d?.warm.medianMs),
      warmCli: ratio(berth.cli.medianMs, d?.warm.medianMs),
      warmProcess: ratio(berth.process.medianMs, d?.warm.medianMs),
      coldBuildkit: ratio(berth.cold.medianMs, k?.cold.medianMs),
      warmBuildkit: ratio(berth.warm.medianMs, k?.warm.medianMs),
      warmCliBuildkit: ratio(berth.cli.medianMs, k?.warm.medianMs),
      warmProcessBuildkit: ratio(berth.process.medianMs, k?.warm.medianMs),
    },
  };
}
