/**
 * The controller against Docker Compose and dockerd, side by side in one run:
 *
 * 1. apply of a 10-container stack (independent `sleep 3600`) until all are Running, vs
 *    `docker-compose up -d` of the equivalent compose file until all are running;
 * 2. a 10-deep `dependsOn: healthy` chain (exec healthcheck, interval 200ms) until all are
 *    Running and healthy, vs compose `depends_on: {condition: service_healthy}`;
 * 3. a no-op re-apply of the 10-container stack (API round trip; also the CLI), vs
 *    `docker-compose up -d` with nothing to change;
 * 4. `kill -9` of a `restartPolicy: always` container until the replacement runs (new pid),
 *    vs a `docker run --restart always` container;
 * 5. a healthcheck failing `retries` times until the restarted container runs (Docker only
 *    reports unhealthy; its detection time is shown for reference);
 * 6. the daemon's RSS, as a separate process, idle and with 50 containers, vs dockerd +
 *    containerd (private instance) at 0 and 50.
 *
 * berth runs in this process for 1–5 (its own temp root, a run-root on a private tmpfs and a
 * unique cgroup parent), driven through ApiClient and polled every `pollMs`; Docker is a
 * private dockerd (no iptables, no bridge; every container `network_mode: none`) polled
 * through its API socket at the same rate. Every wait is bounded; containers, compose
 * projects, mounts, cgroups, daemons and temp dirs are removed in `finally`. Needs root,
 * runc, conmon, overlayfs and busybox; returns a JSON-able summary (with the reason instead
 * of numbers for what cannot run here).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { ApiClient } from "../controller/api/client.js";
import type { ContainerStatusView, EventRecord, ObjectView } from "../controller/api/protocol.js";
import { startDaemon, type Daemon } from "../controller/daemon.js";
import {
  dockerdMissing,
  pidsMentioning,
  removeCgroupTrees,
  runProcess,
  startPrivateDockerd,
  unmountAllUnder,
  type PrivateDockerd,
  type ProcessResult,
} from "../test/helpers/dockerd.js";
import { until } from "../test/helpers/daemon.js";
import { which } from "../test/helpers/host.js";
import { mean, median, now, round, sleep } from "./stats.js";

export interface ControllerBenchOptions {
  /** Repetitions of the 10-container apply (median reported). */
  stackReps: number;
  stackSize: number;
  chainReps: number;
  chainDepth: number;
  /** No-op re-applies through the API, the berth CLI, and docker-compose. */
  noopApiReps: number;
  noopCliReps: number;
  noopComposeReps: number;
  crashReps: number;
  unhealthyReps: number;
  /** Containers of the RSS measurement. */
  memoryContainers: number;
  /** Idle time before an RSS reading. */
  settleMs: number;
  /** Status poll period (berth API and Docker API alike). */
  pollMs: number;
  /** Bound on any one spawned process, API call, or wait. */
  stepTimeoutMs: number;
}

export function defaultControllerBenchOptions(): ControllerBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    stackReps: quick ? 1 : 3,
    stackSize: 10,
    chainReps: quick ? 1 : 3,
    chainDepth: 10,
    noopApiReps: quick ? 5 : 20,
    noopCliReps: quick ? 2 : 5,
    noopComposeReps: quick ? 3 : 10,
    crashReps: quick ? 2 : 5,
    unhealthyReps: quick ? 1 : 3,
    memoryContainers: quick ? 10 : 50,
    settleMs: 3000,
    pollMs: 20,
    stepTimeoutMs: 120_000,
  };
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const IMAGE = "localhost/berth-bench/busybox:1";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** pid 1 that exits on SIGTERM (a plain `sleep` as pid 1 ignores it and waits out the grace period). */
const TERM_AWARE = "touch /tmp/ok; trap 'exit 0' TERM; sleep 3600 & wait";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 600);


interface Stats {
  n: number;
  medianMs: number | null;
  minMs: number | null;
  maxMs: number | null;
  samplesMs: (number | null)[];
}

function stats(xs: number[]): Stats {
  const f = xs.filter(Number.isFinite);
  return {
    n: f.length,
    medianMs: round(median(f)),
    minMs: f.length ? round(Math.min(...f)) : null,
    maxMs: f.length ? round(Math.max(...f)) : null,
    samplesMs: xs.map((x) => round(x)),
  };
}

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? round(a / b, 2) : null);


async function must(cmd: string, args: string[], timeoutMs: number, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ProcessResult> {
  const r = await runProcess(cmd, args, { timeoutMs, ...opts });
  if (r.code !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
  }
  return r;
}

// ---------------------------------------------------------------------------- /proc

async function statusKiB(pid: number, field: string): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function pssKiB(pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
  const m = /^Pss:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

const commOf = async (pid: number) => (await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();

/** Pids whose command line mentions `needle` and whose comm passes `pred`. */
async function pidsByComm(needle: string, pred: (comm: string) => boolean): Promise<number[]> {
  const out: number[] = [];
  for (const p of await pidsMentioning(needle)) if (pred(await commOf(p))) out.push(p);
  return out;
}

async function sumRssKiB(pids: number[]): Promise<number> {
  let s = 0;
  for (const p of pids) s += (await statusKiB(p, "VmRSS")) || 0;
  return s;
}

/** PSS sums shared pages once (RSS summed over 50 copies of one binary counts its text 50 times). */
async function sumPssKiB(pids: number[]): Promise<number> {
  let s = 0;
  for (const p of pids) s += (await pssKiB(p)) || 0;
  return s;
}

// ---------------------------------------------------------------------------- berth side

const doc = (o: unknown) => `---\n${JSON.stringify(o, null, 2)}\n`;
const files = (text: string) => [{ file: "stack.yaml", text, baseDir: "/" }];

function imageDoc(tar: string): string {
  return doc({ apiVersion: "berth/v1", kind: "Image", metadata: { name: "bench-busybox" }, spec: { reference: IMAGE, import: { path: tar, config: { cmd: ["sh"] } } } });
}

function ctrDoc(name: string, spec: Record<string, unknown>): string {
  return doc({ apiVersion: "berth/v1", kind: "Container", metadata: { name }, spec: { image: IMAGE, networkMode: "none", ...spec } });
}

const sleeperSpec = { command: ["sleep", "3600"], stopSignal: "SIGKILL", stopGracePeriod: "1s" };
const cs = (v: ObjectView) => v.status as ContainerStatusView;

interface Berth {
  client: ApiClient;
  root: string;
  runRoot: string;
  cgroupParent: string;
  /** Names of the containers of this berth on the host (runtime view). */
  hostNames(): Promise<string[]>;
  close(): Promise<void>;
}

async function applyOrThrow(client: ApiClient, stack: string, text: string) {
  const r = await client.apply({ stack, files: files(text) });
  if (r.diagnostics.length) throw new Error(`apply ${stack}: ${JSON.stringify(r.diagnostics).slice(0, 600)}`);
  return r;
}

async function stackStatus(client: ApiClient, stack: string): Promise<{ name: string; s: ContainerStatusView }[]> {
  return (await client.list("Container")).filter((v) => v.metadata.stack === stack).map((v) => ({ name: v.metadata.name, s: cs(v) }));
}

/** Removes what a daemon on these dirs left behind: containers, conmons, mounts, cgroups. */
async function scrubBerth(root: string, runRoot: string, cgroupParent: string, timeoutMs: number): Promise<void> {
  const runcRoot = path.join(runRoot, "runc");
  const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs })).stdout.split("\n").filter(Boolean);
  for (const id of ids) await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs });
  for (const p of [...(await pidsMentioning(runRoot)), ...(await pidsMentioning(root))]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {}
  }
  await unmountAllUnder(root);
  await unmountAllUnder(runRoot);
  await removeCgroupTrees(cgroupParent);
}

async function waitImageReady(client: ApiClient, o: ControllerBenchOptions): Promise<void> {
  await until(
    "image bench-busybox ready",
    async () => {
      const st = (await client.get("Image", "bench-busybox")).status as { ready: boolean; reason?: string; message?: string };
      if (!st.ready && st.reason && /fail/i.test(st.reason)) throw new Error(`image import failed: ${st.message ?? st.reason}`);
      return st.ready ? true : undefined;
    },
    o.stepTimeoutMs,
    50,
  );
}

async function startBerth(base: string, run: string, tar: string, o: ControllerBenchOptions): Promise<Berth & { daemon: Daemon }> {
  const root = path.join(base, "berth-root");
  const runRoot = path.join(run, "berth");
  const cgroupParent = `berth-bench-ctl-${randomBytes(4).toString("hex")}`;
  let daemon: Daemon | undefined;
  const close = async () => {
    await daemon?.stop().catch(() => {});
    await scrubBerth(root, runRoot, cgroupParent, o.stepTimeoutMs);
  };
  try {
    // Production controller defaults (concurrency 4, resync 10s): only the dirs are the bench's.
    daemon = await startDaemon({ root, runRoot, cgroupParent, logger: pino({ level: process.env.BERTH_BENCH_LOG ?? "silent" }), version: "bench" });
    const client = new ApiClient(daemon.socketPath);
    await applyOrThrow(client, "bench-image", imageDoc(tar));
    await waitImageReady(client, o);
    const d = daemon;
    return { daemon: d, client, root, runRoot, cgroupParent, hostNames: async () => (await d.runtime.containers.list()).map((c) => c.name), close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function berthRemove(b: Berth, names: string[], o: ControllerBenchOptions): Promise<void> {
  for (const n of names) await b.client.delete("Container", n).catch(() => {});
  await until(
    `berth containers ${names[0]}… removed`,
    async () => ((await b.hostNames()).some((n) => names.includes(n)) ? undefined : true),
    o.stepTimeoutMs,
    100,
  );
}

async function eventsSince(client: ApiClient, object: string, sinceMs: number): Promise<EventRecord[]> {
  return (await client.events()).filter((e) => e.object === object && Date.parse(e.time) >= sinceMs);
}

const firstAt = (evs: EventRecord[], reason: string) => {
  const e = evs.find((x) => x.reason === reason);
  return e ? Date.parse(e.time) : NaN;
};

// ---------------------------------------------------------------------------- docker side

interface DockerContainerJson {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Running: boolean; Pid: number; StartedAt: string; Health?: { Status: string; Log?: { Start: string; End: string; ExitCode: number }[] } };
}

interface DockerListEntry {
  Id: string;
  State: string;
  Status: string;
  Labels: Record<string, string>;
}

interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
}

function dockerGet(socket: string, p: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: socket, path: p, timeout: timeoutMs }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => ((res.statusCode ?? 500) >= 400 ? reject(new Error(`docker GET ${p}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`)) : resolve(text)));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`docker GET ${p}: no answer within ${timeoutMs}ms`)));
  });
}

interface Docker {
  d: PrivateDockerd;
  /** `docker-compose` (v1) or `docker compose`; undefined with the reason when neither exists. */
  compose?: { cmd: string; pre: string[]; version: string };
  composeMissing?: string;
  env: NodeJS.ProcessEnv;
  dir: string;
  api<T>(p: string): Promise<T>;
  list(project: string): Promise<DockerListEntry[]>;
  inspect(id: string): Promise<DockerContainerJson>;
  events(project: string, sinceMs: number): Promise<DockerEvent[]>;
  composeRun(project: string, file: string, args: string[]): Promise<ProcessResult>;
}

const dockerTime = (ms: number) => `${Math.floor(ms / 1000)}.${String(Math.floor(ms % 1000) * 1_000_000).padStart(9, "0")}`;

async function startDocker(base: string, tar: string, o: ControllerBenchOptions): Promise<Docker> {
  const d = await startPrivateDockerd();
  try {
    await d.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, tar, IMAGE], { timeoutMs: o.stepTimeoutMs });
    const dir = path.join(base, "compose");
    await fs.mkdir(dir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: d.dir,
      DOCKER_CONFIG: path.join(d.dir, "client"),
      DOCKER_HOST: `unix://${d.socket}`,
    };
    let compose: Docker["compose"];
    let composeMissing: string | undefined;
    const v1 = which("docker-compose");
    if (v1) {
      const r = await runProcess(v1, ["version", "--short"], { timeoutMs: 30_000, env });
      compose = { cmd: v1, pre: [], version: `docker-compose ${r.stdout.trim()}` };
    } else {
      const r = await runProcess(d.cli, ["compose", "version", "--short"], { timeoutMs: 30_000, env });
      if (r.code === 0) compose = { cmd: d.cli, pre: ["compose"], version: `docker compose ${r.stdout.trim()}` };
      else composeMissing = "neither docker-compose nor the docker compose plugin is installed (apt-get install docker-compose)";
    }
    const api = async <T>(p: string) => JSON.parse(await dockerGet(d.socket, p, 30_000)) as T;
    const label = (project: string) => encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
    return {
      d,
      ...(compose ? { compose } : {}),
      ...(composeMissing ? { composeMissing } : {}),
      env,
      dir,
      api,
      list: (project) => api<DockerListEntry[]>(`/containers/json?all=1&filters=${label(project)}`),
      inspect: (id) => api<DockerContainerJson>(`/containers/${encodeURIComponent(id)}/json`),
      async events(project, sinceMs) {
        const filters = encodeURIComponent(JSON.stringify({ type: ["container"], ...(project ? { label: [`com.docker.compose.project=${project}`] } : {}) }));
        const text = await dockerGet(d.socket, `/events?since=${dockerTime(sinceMs)}&until=${dockerTime(Date.now())}&filters=${filters}`, 30_000);
        return text
          .split("\n")
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as DockerEvent);
      },
      composeRun(project, file, args) {
        if (!compose) throw new Error(composeMissing);
        return runProcess(compose.cmd, [...compose.pre, "-p", project, "-f", file, ...args], { timeoutMs: o.stepTimeoutMs, env, cwd: dir });
      },
    };
  } catch (err) {
    await d.stop();
    throw err;
  }
}

async function mustCompose(dk: Docker, project: string, file: string, args: string[]): Promise<ProcessResult> {
  const r = await dk.composeRun(project, file, args);
  if (r.code !== 0) throw new Error(`compose -p ${project} ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
  return r;
}

/**
 * Runs `compose … up -d` and meanwhile polls `done` every `pollMs` (so "all running" is seen
 * when it happens, not when compose exits). Resolves with the ms from `t0` at which `done`
 * first held and at which compose returned; throws when compose fails or time runs out.
 */
async function composeUpPolling(
  dk: Docker,
  project: string,
  file: string,
  args: string[],
  t0: number,
  done: () => Promise<boolean>,
  o: ControllerBenchOptions,
): Promise<{ doneMs: number; upReturnedMs: number }> {
  let upReturnedMs: number | undefined;
  let upErr: unknown;
  const up = mustCompose(dk, project, file, ["up", "-d", ...args]).then(
    () => void (upReturnedMs = now() - t0),
    (err: unknown) => void (upErr = err),
  );
  const deadline = Date.now() + o.stepTimeoutMs;
  let doneMs: number | undefined;
  while (doneMs === undefined) {
    if (upErr) throw upErr;
    if (await done().catch(() => false)) doneMs = now() - t0;
    else if (Date.now() > deadline) throw new Error(`compose ${project}: not done within ${o.stepTimeoutMs}ms`);
    else await sleep(o.pollMs);
  }
  await up;
  if (upErr) throw upErr;
  return { doneMs, upReturnedMs: upReturnedMs! };
}

async function writeCompose(dk: Docker, project: string, services: Record<string, unknown>): Promise<string> {
  const file = path.join(dk.dir, `${project}.yaml`);
  // JSON is YAML; indented so that every `key: value` has its space.
  await fs.writeFile(file, JSON.stringify({ version: "2.4", services }, null, 2) + "\n");
  return file;
}

const composeDown = (dk: Docker, project: string, file: string) => dk.composeRun(project, file, ["down", "-t", "0", "--remove-orphans"]).catch(() => undefined);

const composeSleepers = (n: number) =>
  Object.fromEntries(range(n).map((i) => [`s${i}`, { image: IMAGE, network_mode: "none", command: ["sleep", "3600"], stop_signal: "SIGKILL" }]));

// ---------------------------------------------------------------------------- measurements

interface Unavailable {
  notMeasured: string;
}

const failed = (err: unknown): Unavailable => ({ notMeasured: errText(err) });

interface Ctx {
  o: ControllerBenchOptions;
  base: string;
  run: string;
  tar: string;
  prefix: string;
  berth: Berth & { daemon: Daemon };
  docker?: Docker;
  dockerMissing?: string;
  notes: string[];
}

function composeOk(ctx: Ctx): string | undefined {
  if (!ctx.docker) return ctx.dockerMissing ?? "no private dockerd";
  return ctx.docker.composeMissing;
}

/** 1 and 3: the 10-container stack, then no-op re-applies while it runs. */
async function benchStack(ctx: Ctx) {
  const { o, berth: b } = ctx;
  const berthMs: number[] = [];
  const composeMs: number[] = [];
  const composeUpMs: number[] = [];
  const applyReturnedMs: number[] = [];
  const firstCreated: number[] = [];
  const firstStarted: number[] = [];
  const lastStarted: number[] = [];
  const createdToStarted: number[] = [];
  let berthErr: string | undefined;
  let composeErr: string | undefined = composeOk(ctx);
  let keepBerth: { stack: string; names: string[]; text: string } | undefined;
  let keepCompose: { project: string; file: string } | undefined;
  const cleanupBerth: string[][] = [];
  const cleanupCompose: { project: string; file: string }[] = [];

  const berthRep = async (rep: number, keep: boolean) => {
    const stack = `s10-${rep}`;
    const names = range(o.stackSize).map((i) => `s${rep}-c${i}`);
    const text = names.map((n) => ctrDoc(n, sleeperSpec)).join("");
    cleanupBerth.push(names);
    const wall0 = Date.now();
    const t0 = now();
    await applyOrThrow(b.client, stack, text);
    applyReturnedMs.push(now() - t0);
    await until(`${stack} all Running`, async () => {
      const l = await stackStatus(b.client, stack);
      return l.length === names.length && l.every((x) => x.s.phase === "Running") ? true : undefined;
    }, o.stepTimeoutMs, o.pollMs);
    berthMs.push(now() - t0);
    // Where the time went, from the controller's events (ms after the apply was sent).
    const evs = (await b.client.events()).filter((e) => Date.parse(e.time) >= wall0 && names.includes(e.object.slice("container/".length)));
    const times = (reason: string) => evs.filter((e) => e.reason === reason).map((e) => Date.parse(e.time) - wall0);
    const created = times("Created");
    const startedAt = times("Started");
    firstCreated.push(Math.min(...created));
    firstStarted.push(Math.min(...startedAt));
    lastStarted.push(Math.max(...startedAt));
    createdToStarted.push(
      median(names.map((n) => firstAt(evs.filter((e) => e.object === `container/${n}`), "Started") - firstAt(evs.filter((e) => e.object === `container/${n}`), "Created"))),
    );
    if (keep) keepBerth = { stack, names, text };
    else {
      await berthRemove(b, names, o);
      cleanupBerth.pop();
    }
  };
  const composeRep = async (rep: number, keep: boolean) => {
    const dk = ctx.docker!;
    const project = `${ctx.prefix}s10r${rep}`;
    const file = await writeCompose(dk, project, composeSleepers(o.stackSize));
    cleanupCompose.push({ project, file });
    const t0 = now();
    const r = await composeUpPolling(dk, project, file, [], t0, async () => (await dk.list(project)).filter((c) => c.State === "running").length === o.stackSize, o);
    composeMs.push(r.doneMs);
    composeUpMs.push(r.upReturnedMs);
    if (keep) keepCompose = { project, file };
    else {
      await mustCompose(dk, project, file, ["down", "-t", "0"]);
      cleanupCompose.pop();
    }
  };

  const noop: Record<string, unknown> = {};
  try {
    // Warm-up, untimed, on both sides: one container started and removed (first-use costs).
    try {
      await applyOrThrow(b.client, "warm", ctrDoc("warm-0", sleeperSpec));
      await until("warm-0 Running", async () => (cs(await b.client.get("Container", "warm-0")).phase === "Running" ? true : undefined), o.stepTimeoutMs, 50);
      await berthRemove(b, ["warm-0"], o);
    } catch (err) {
      berthErr = `warm-up: ${errText(err)}`;
    }
    if (!composeErr) {
      const dk = ctx.docker!;
      const project = `${ctx.prefix}warm`;
      const file = await writeCompose(dk, project, composeSleepers(1));
      try {
        await mustCompose(dk, project, file, ["up", "-d"]);
      } catch (err) {
        composeErr = `warm-up: ${errText(err)}`;
      } finally {
        await composeDown(dk, project, file);
      }
    }
    for (const rep of range(o.stackReps)) {
      const last = rep === o.stackReps - 1;
      // Alternate who goes first, so neither always runs on a cooler host.
      const order: (() => Promise<void>)[] = [
        async () => {
          if (berthErr) return;
          try {
            await berthRep(rep, last);
          } catch (err) {
            berthErr = errText(err);
          }
        },
        async () => {
          if (composeErr) return;
          try {
            await composeRep(rep, last);
          } catch (err) {
            composeErr = errText(err);
          }
        },
      ];
      if (rep % 2) order.reverse();
      for (const f of order) await f();
    }

    // 3. no-op re-apply while both stacks run.
    if (keepBerth) {
      const k = keepBerth;
      const before = await stackStatus(b.client, k.stack);
      const api: number[] = [];
      let allUnchanged = true;
      for (let i = 0; i < o.noopApiReps; i++) {
        const t0 = now();
        const r = await applyOrThrow(b.client, k.stack, k.text);
        api.push(now() - t0);
        allUnchanged &&= r.changes.every((c) => c.action === "unchanged");
      }
      const after = await stackStatus(b.client, k.stack);
      const samePids = before.every((x) => after.find((y) => y.name === x.name)?.s.pid === x.s.pid);
      noop.berthApi = { ...stats(api), allUnchanged, samePids };
      // The CLI, a process per apply like docker-compose (its startup is part of it).
      try {
        const main = path.join(REPO, "dist/cli/main.js");
        const file = path.join(ctx.base, `${k.stack}.yaml`);
        await fs.writeFile(file, k.text);
        const cli: number[] = [];
        let out = "";
        for (let i = 0; i < o.noopCliReps; i++) {
          const t0 = now();
          const r = await must(process.execPath, [main, "--socket", b.client.socketPath, "apply", "-f", file, "--stack", k.stack], o.stepTimeoutMs);
          cli.push(now() - t0);
          out = r.stdout;
        }
        const floor: number[] = [];
        for (let i = 0; i < o.noopCliReps; i++) {
          const t0 = now();
          await must(process.execPath, [main, "validate", "-f", file], o.stepTimeoutMs);
          floor.push(now() - t0);
        }
        noop.berthCli = { ...stats(cli), allUnchanged: !/created|configured|deleted/.test(out) && /unchanged/.test(out) };
        noop.berthCliValidateFloor = stats(floor);
      } catch (err) {
        noop.berthCli = failed(err);
      }
    } else noop.berthApi = { notMeasured: berthErr ?? "no stack" };

    if (keepCompose) {
      const dk = ctx.docker!;
      const k = keepCompose;
      const ids = async () => (await dk.list(k.project)).map((c) => c.Id).sort().join(",");
      const before = await ids();
      const xs: number[] = [];
      for (let i = 0; i < o.noopComposeReps; i++) {
        const t0 = now();
        await mustCompose(dk, k.project, k.file, ["up", "-d"]);
        xs.push(now() - t0);
      }
      const floor: number[] = [];
      for (let i = 0; i < Math.min(5, o.noopComposeReps); i++) {
        const t0 = now();
        await mustCompose(dk, k.project, k.file, ["config", "-q"]);
        floor.push(now() - t0);
      }
      noop.compose = { ...stats(xs), sameContainers: (await ids()) === before };
      noop.composeConfigFloor = stats(floor);
    } else noop.compose = { notMeasured: composeErr ?? "no stack" };
  } finally {
    for (const names of cleanupBerth) await berthRemove(b, names, o).catch(() => {});
    for (const c of cleanupCompose) await composeDown(ctx.docker!, c.project, c.file);
  }
  const apply10 = {
    size: o.stackSize,
    berth:
      berthErr && !berthMs.length
        ? { notMeasured: berthErr }
        : {
            ...stats(berthMs),
            applyReturned: stats(applyReturnedMs),
            eventsMedianMs: {
              firstCreated: round(median(firstCreated)),
              firstStarted: round(median(firstStarted)),
              lastStarted: round(median(lastStarted)),
              createdToStartedPerContainer: round(median(createdToStarted)),
            },
          },
    compose: composeErr && !composeMs.length ? { notMeasured: composeErr } : { ...stats(composeMs), upReturnedMs: stats(composeUpMs) },
    ratio: ratio(median(berthMs), median(composeMs)),
  };
  const api = noop.berthApi as Stats | undefined;
  const cli = noop.berthCli as Stats | undefined;
  const comp = noop.compose as Stats | undefined;
  return {
    apply10,
    noopReapply: { ...noop, ratioApi: ratio(api?.medianMs, comp?.medianMs), ratioCli: ratio(cli?.medianMs, comp?.medianMs) },
  };
}

/** 2: c0 ← c1 ← … ← c(depth-1), each `dependsOn` the previous being healthy. */
async function benchChain(ctx: Ctx) {
  const { o, berth: b } = ctx;
  const n = o.chainDepth;
  const res = {
    berth: { allRunning: [] as number[], allHealthy: [] as number[], handoff: [] as number[], startToHealthy: [] as number[] },
    compose: { upReturned: [] as number[], allRunning: [] as number[], allHealthy: [] as number[], handoff: [] as number[], startToHealthy: [] as number[] },
  };
  let berthErr: string | undefined;
  let composeErr = composeOk(ctx);

  const berthRep = async (rep: number) => {
    const stack = `chain-${rep}`;
    const names = range(n).map((i) => `k${rep}-c${i}`);
    const text = names
      .map((name, i) =>
        ctrDoc(name, {
          command: ["sh", "-c", "touch /tmp/ok; exec sleep 3600"],
          stopSignal: "SIGKILL",
          stopGracePeriod: "1s",
          healthcheck: { exec: ["test", "-f", "/tmp/ok"], interval: "200ms", timeout: "2s", retries: 3, startPeriod: "0s" },
          ...(i ? { dependsOn: [{ name: names[i - 1]!, condition: "healthy" }] } : {}),
        }),
      )
      .join("");
    const wall0 = Date.now();
    const t0 = now();
    let runningMs: number | undefined;
    try {
      await applyOrThrow(b.client, stack, text);
      await until(`${stack} all healthy`, async () => {
        const l = await stackStatus(b.client, stack);
        if (l.length !== n) return undefined;
        if (runningMs === undefined && l.every((x) => x.s.phase === "Running")) runningMs = now() - t0;
        return l.every((x) => x.s.phase === "Running" && x.s.health === "healthy") ? true : undefined;
      }, o.stepTimeoutMs, o.pollMs);
      res.berth.allHealthy.push(now() - t0);
      res.berth.allRunning.push(runningMs ?? NaN);
      const all = (await b.client.events()).filter((e) => Date.parse(e.time) >= wall0);
      const at = (name: string, reason: string) => firstAt(all.filter((e) => e.object === `container/${name}`), reason);
      for (const [i, name] of names.entries()) {
        const started = at(name, "Started");
        res.berth.startToHealthy.push(at(name, "Healthy") - started);
        if (i) res.berth.handoff.push(started - at(names[i - 1]!, "Healthy"));
      }
    } finally {
      await berthRemove(b, names, o);
    }
  };

  const composeRep = async (rep: number) => {
    const dk = ctx.docker!;
    const project = `${ctx.prefix}chainr${rep}`;
    const services = Object.fromEntries(
      range(n).map((i) => [
        `c${i}`,
        {
          image: IMAGE,
          network_mode: "none",
          command: ["sh", "-c", "touch /tmp/ok; exec sleep 3600"],
          stop_signal: "SIGKILL",
          healthcheck: { test: ["CMD", "test", "-f", "/tmp/ok"], interval: "200ms", timeout: "2s", retries: 3, start_period: "0s" },
          ...(i ? { depends_on: { [`c${i - 1}`]: { condition: "service_healthy" } } } : {}),
        },
      ]),
    );
    const file = await writeCompose(dk, project, services);
    const wall0 = Date.now();
    const t0 = now();
    try {
      let runningMs: number | undefined;
      const r = await composeUpPolling(dk, project, file, [], t0, async () => {
        const l = await dk.list(project);
        if (l.length !== n) return false;
        if (runningMs === undefined && l.every((c) => c.State === "running")) runningMs = now() - t0;
        return l.every((c) => c.State === "running" && c.Status.includes("(healthy)"));
      }, o);
      res.compose.upReturned.push(r.upReturnedMs);
      res.compose.allHealthy.push(r.doneMs);
      res.compose.allRunning.push(runningMs ?? NaN);
      const evs = await dk.events(project, wall0 - 1000);
      const at = (svc: string, action: string) => {
        const e = evs.find((x) => x.Actor.Attributes["com.docker.compose.service"] === svc && x.Action === action);
        return e ? e.timeNano / 1e6 : NaN;
      };
      for (const i of range(n)) {
        const started = at(`c${i}`, "start");
        res.compose.startToHealthy.push(at(`c${i}`, "health_status: healthy") - started);
        if (i) res.compose.handoff.push(started - at(`c${i - 1}`, "health_status: healthy"));
      }
    } finally {
      await composeDown(dk, project, file);
    }
  };

  for (const rep of range(o.chainReps)) {
    const order: (() => Promise<void>)[] = [
      async () => {
        if (berthErr) return;
        try {
          await berthRep(rep);
        } catch (err) {
          berthErr = errText(err);
        }
      },
      async () => {
        if (composeErr) return;
        try {
          await composeRep(rep);
        } catch (err) {
          composeErr = errText(err);
        }
      },
    ];
    if (rep % 2) order.reverse();
    for (const f of order) await f();
  }
  const link = (xs: number[]) => ({ meanMs: round(mean(xs)), medianMs: round(median(xs)), n: xs.filter(Number.isFinite).length });
  return {
    depth: n,
    note: "healthcheck exec [test, -f, /tmp/ok], interval 200ms, timeout 2s, retries 3, startPeriod 0; with startPeriod 0 startInterval is never used (Docker's semantics), so the first probe of each link runs one interval after its start",
    berth:
      berthErr && !res.berth.allHealthy.length
        ? { notMeasured: berthErr }
        : { allRunning: stats(res.berth.allRunning), allHealthy: stats(res.berth.allHealthy), perLink: { handoff: link(res.berth.handoff), startToHealthy: link(res.berth.startToHealthy) } },
    compose:
      composeErr && !res.compose.allHealthy.length
        ? { notMeasured: composeErr }
        : {
            upReturned: stats(res.compose.upReturned),
            allRunning: stats(res.compose.allRunning),
            allHealthy: stats(res.compose.allHealthy),
            perLink: { handoff: link(res.compose.handoff), startToHealthy: link(res.compose.startToHealthy) },
          },
    ratioAllRunning: ratio(median(res.berth.allRunning), median(res.compose.allRunning)),
    ratioAllHealthy: ratio(median(res.berth.allHealthy), median(res.compose.allHealthy)),
  };
}

/** 4: kill -9 of a `restart: always` container until its replacement runs with a new pid. */
async function benchCrash(ctx: Ctx) {
  const { o, berth: b } = ctx;
  const reps = o.crashReps;
  // One container per repetition: each sees its first crash, so the restart delay is the
  // initial backoff on both sides (berth 100ms; dockerd's restart manager 100ms too).
  const berthRes = { total: [] as number[], killToDied: [] as number[], diedToRestarted: [] as number[], restartedToObserved: [] as number[], killToNewStart: [] as number[] };
  let berthOut: unknown;
  const names = range(reps).map((i) => `crash-${i}`);
  try {
    await applyOrThrow(b.client, "crash", names.map((n) => ctrDoc(n, { ...sleeperSpec, restartPolicy: "always" })).join(""));
    await until("crash-* Running", async () => {
      const l = await stackStatus(b.client, "crash");
      return l.length === reps && l.every((x) => x.s.phase === "Running") ? true : undefined;
    }, o.stepTimeoutMs, 50);
    for (const name of names) {
      await sleep(300);
      const before = cs(await b.client.get("Container", name));
      const wall = Date.now();
      const t0 = now();
      process.kill(before.pid!, "SIGKILL");
      const after = await until(`${name} replaced`, async () => {
        const s = cs(await b.client.get("Container", name));
        return s.phase === "Running" && s.pid && s.pid !== before.pid ? s : undefined;
      }, 30_000, o.pollMs);
      const obs = Date.now();
      berthRes.total.push(now() - t0);
      const evs = await eventsSince(b.client, `container/${name}`, wall - 1);
      const died = firstAt(evs, "Died");
      const restarted = firstAt(evs, "Restarted");
      berthRes.killToDied.push(died - wall);
      berthRes.diedToRestarted.push(restarted - died);
      berthRes.restartedToObserved.push(obs - restarted);
      berthRes.killToNewStart.push(Date.parse(after.startedAt ?? "") - wall);
      if (after.restartCount !== before.restartCount + 1) ctx.notes.push(`crash ${name}: restartCount ${before.restartCount} → ${after.restartCount}`);
    }
    berthOut = {
      ...stats(berthRes.total),
      breakdownMedianMs: {
        killToDiedEvent: round(median(berthRes.killToDied)),
        diedToRestartedEvent: round(median(berthRes.diedToRestarted)),
        restartedEventToObservedRunning: round(median(berthRes.restartedToObserved)),
        killToNewStartedAt: round(median(berthRes.killToNewStart)),
      },
    };
  } catch (err) {
    berthOut = berthRes.total.length ? { ...stats(berthRes.total), error: errText(err) } : failed(err);
  } finally {
    await berthRemove(b, names, o).catch(() => {});
  }

  let dockerOut: unknown;
  if (!ctx.docker) dockerOut = { notMeasured: ctx.dockerMissing ?? "no private dockerd" };
  else {
    const dk = ctx.docker;
    const res = { total: [] as number[], killToDie: [] as number[], dieToStart: [] as number[], startToObserved: [] as number[], killToNewStart: [] as number[] };
    const ids: string[] = [];
    try {
      for (const i of range(reps)) {
        const out = await dk.d.mustDocker(["run", "-d", "--name", `${ctx.prefix}crash${i}`, "--network", "none", "--restart", "always", "--stop-signal", "SIGKILL", IMAGE, "sleep", "3600"], { timeoutMs: o.stepTimeoutMs });
        ids.push(out.trim());
      }
      for (const id of ids) {
        await sleep(300);
        const before = await dk.inspect(id);
        const wall = Date.now();
        const t0 = now();
        process.kill(before.State.Pid, "SIGKILL");
        const after = await until(`docker ${id.slice(0, 12)} replaced`, async () => {
          const j = await dk.inspect(id);
          return j.State.Running && j.State.Pid > 0 && j.State.Pid !== before.State.Pid ? j : undefined;
        }, 30_000, o.pollMs);
        const obs = Date.now();
        res.total.push(now() - t0);
        const evs = (await dk.events("", wall - 1)).filter((e) => e.Actor.ID === id);
        const die = evs.find((e) => e.Action === "die");
        const start = evs.find((e) => e.Action === "start");
        const dieMs = die ? die.timeNano / 1e6 : NaN;
        const startMs = start ? start.timeNano / 1e6 : NaN;
        res.killToDie.push(dieMs - wall);
        res.dieToStart.push(startMs - dieMs);
        res.startToObserved.push(obs - startMs);
        res.killToNewStart.push(Date.parse(after.State.StartedAt) - wall);
      }
      dockerOut = {
        ...stats(res.total),
        breakdownMedianMs: {
          killToDieEvent: round(median(res.killToDie)),
          dieToStartEvent: round(median(res.dieToStart)),
          startEventToObservedRunning: round(median(res.startToObserved)),
          killToNewStartedAt: round(median(res.killToNewStart)),
        },
      };
    } catch (err) {
      dockerOut = res.total.length ? { ...stats(res.total), error: errText(err) } : failed(err);
    } finally {
      if (ids.length) await dk.d.docker(["rm", "-f", ...ids], { timeoutMs: o.stepTimeoutMs });
    }
  }
  return {
    note: "kill -9 of the container's pid (status.pid / State.Pid); each repetition is a different container's first crash, so the restart delay is the initial backoff (100ms on both)",
    berth: berthOut,
    docker: dockerOut,
    ratio: ratio((berthOut as Stats).medianMs, (dockerOut as Stats).medianMs),
  };
}

/** 5: a healthcheck failing `retries` times → restarted container running (new pid). */
async function benchUnhealthy(ctx: Ctx) {
  const { o, berth: b } = ctx;
  const reps = o.unhealthyReps;
  const names = range(reps).map((i) => `hc-${i}`);
  const r = {
    rmToUnhealthy: [] as number[],
    lastFailureToUnhealthy: [] as number[],
    unhealthyToDied: [] as number[],
    diedToRestarted: [] as number[],
    unhealthyToNewStartedAt: [] as number[],
    unhealthyToObserved: [] as number[],
    failureToObserved: [] as number[],
  };
  let berthOut: unknown;
  try {
    await applyOrThrow(
      b.client,
      "health",
      names
        .map((n) =>
          ctrDoc(n, {
            command: ["sh", "-c", TERM_AWARE],
            restartPolicy: "always",
            stopGracePeriod: "2s",
            healthcheck: { exec: ["test", "-f", "/tmp/ok"], interval: "300ms", timeout: "2s", retries: 3 },
          }),
        )
        .join(""),
    );
    await until("hc-* healthy", async () => {
      const l = await stackStatus(b.client, "health");
      return l.length === reps && l.every((x) => x.s.phase === "Running" && x.s.health === "healthy") ? true : undefined;
    }, o.stepTimeoutMs, 50);
    for (const name of names) {
      const before = cs(await b.client.get("Container", name));
      const ex = await b.client.exec(name, { argv: ["rm", "/tmp/ok"] });
      const rmDone = Date.now();
      if (ex.exitCode !== 0) throw new Error(`exec rm /tmp/ok in ${name} exited ${ex.exitCode}`);
      let lastOld: ContainerStatusView | undefined;
      const after = await until(`${name} restarted after turning unhealthy`, async () => {
        const s = cs(await b.client.get("Container", name));
        if (s.pid === before.pid) lastOld = s;
        return s.phase === "Running" && s.pid && s.pid !== before.pid ? s : undefined;
      }, 30_000, o.pollMs);
      const obs = Date.now();
      const evs = await eventsSince(b.client, `container/${name}`, rmDone - 1);
      const unhealthy = firstAt(evs, "Unhealthy");
      const died = firstAt(evs, "Died");
      const restarted = firstAt(evs, "Restarted");
      const failures = (lastOld?.healthResults ?? []).filter((h) => h.result === "failure" && Date.parse(h.start) >= rmDone - 1);
      const lastFailureEnd = failures.length >= 3 ? Date.parse(failures[2]!.end) : NaN;
      r.rmToUnhealthy.push(unhealthy - rmDone);
      r.lastFailureToUnhealthy.push(unhealthy - lastFailureEnd);
      r.unhealthyToDied.push(died - unhealthy);
      r.diedToRestarted.push(restarted - died);
      r.unhealthyToNewStartedAt.push(Date.parse(after.startedAt ?? "") - unhealthy);
      r.unhealthyToObserved.push(obs - unhealthy);
      r.failureToObserved.push(obs - lastFailureEnd);
    }
    berthOut = {
      ...stats(r.unhealthyToObserved),
      fromRetriesThFailureToObserved: stats(r.failureToObserved),
      breakdownMedianMs: {
        rmToUnhealthyEvent: round(median(r.rmToUnhealthy)),
        retriesThFailureEndToUnhealthyEvent: round(median(r.lastFailureToUnhealthy)),
        unhealthyToDiedEvent: round(median(r.unhealthyToDied)),
        diedToRestartedEvent: round(median(r.diedToRestarted)),
        unhealthyToNewStartedAt: round(median(r.unhealthyToNewStartedAt)),
      },
    };
  } catch (err) {
    berthOut = r.unhealthyToObserved.length ? { ...stats(r.unhealthyToObserved), error: errText(err) } : failed(err);
  } finally {
    await berthRemove(b, names, o).catch(() => {});
  }

  // Docker: the same container and check; it reports unhealthy and does nothing else.
  let dockerOut: unknown;
  const missing = composeOk(ctx);
  if (missing) dockerOut = { notMeasured: missing };
  else {
    const dk = ctx.docker!;
    const project = `${ctx.prefix}health`;
    const file = await writeCompose(
      dk,
      project,
      Object.fromEntries(
        range(reps).map((i) => [
          `h${i}`,
          {
            image: IMAGE,
            network_mode: "none",
            restart: "always",
            command: ["sh", "-c", TERM_AWARE],
            stop_grace_period: "2s",
            healthcheck: { test: ["CMD", "test", "-f", "/tmp/ok"], interval: "300ms", timeout: "2s", retries: 3 },
          },
        ]),
      ),
    );
    try {
      await mustCompose(dk, project, file, ["up", "-d"]);
      await until(`${project} healthy`, async () => {
        const l = await dk.list(project);
        return l.length === reps && l.every((c) => c.Status.includes("(healthy)")) ? true : undefined;
      }, o.stepTimeoutMs, 50);
      const rmToUnhealthy: number[] = [];
      let restarted = 0;
      for (const c of await dk.list(project)) {
        const before = await dk.inspect(c.Id);
        await dk.d.mustDocker(["exec", c.Id, "rm", "/tmp/ok"], { timeoutMs: o.stepTimeoutMs });
        const rmDone = Date.now();
        const j = await until(`docker ${c.Id.slice(0, 12)} unhealthy`, async () => {
          const x = await dk.inspect(c.Id);
          return x.State.Health?.Status === "unhealthy" ? x : undefined;
        }, 30_000, o.pollMs);
        const log = j.State.Health?.Log ?? [];
        rmToUnhealthy.push(Date.parse(log[log.length - 1]?.End ?? "") - rmDone);
        await sleep(2000);
        const later = await dk.inspect(c.Id);
        if (later.State.Pid !== before.State.Pid || later.RestartCount !== before.RestartCount) restarted++;
      }
      dockerOut = {
        restart: "not supported: dockerd marks the container unhealthy and leaves it running (restart policies act on exits only)",
        rmToUnhealthyStatus: stats(rmToUnhealthy),
        restartedWithin2s: restarted,
      };
    } catch (err) {
      dockerOut = failed(err);
    } finally {
      await composeDown(dk, project, file);
    }
  }
  return {
    note: "exec healthcheck [test, -f, /tmp/ok], interval 300ms, retries 3, made to fail by `exec rm /tmp/ok`; pid 1 exits on SIGTERM, so the stop is not a grace-period wait; first unhealthy restart of each container (backoff 100ms)",
    berth: berthOut,
    docker: dockerOut,
  };
}

// ---------------------------------------------------------------------------- 6: memory

interface RssReading {
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

async function berthMemory(ctx: Ctx) {
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
    await applyOrThrow(client, "bench-image", imageDoc(ctx.tar));
    await waitImageReady(client, o);
    await sleep(o.settleMs);
    const idle = await read(c.pid!);
    const t0 = now();
    await applyOrThrow(client, "m", names.map((x) => ctrDoc(x, sleeperSpec)).join(""));
    const cl = client;
    await until(`${n} containers Running`, async () => {
      const l = await stackStatus(cl, "m");
      return l.length === n && l.every((x) => x.s.phase === "Running") ? true : undefined;
    }, o.stepTimeoutMs * 2, 100);
    const startMs = now() - t0;
    await sleep(o.settleMs);
    const loaded = await read(c.pid!);
    return { pid: c.pid, process: "node test/fixtures/daemon-child.mjs (startDaemon, resyncMs 1000)", idle, loaded, startAllMs: round(startMs) };
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

async function dockerMemory(ctx: Ctx, mustStop: PrivateDockerd | undefined) {
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

// ---------------------------------------------------------------------------- main

export async function benchController(o: ControllerBenchOptions = defaultControllerBenchOptions()) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const started = now();
  const base = await fs.mkdtemp("/tmp/berth-bc-");
  const run = path.join(base, "run");
  const tar = path.join(base, "busybox.tar");
  const notes: string[] = [];
  let tmpfsMounted = false;
  let berth: (Berth & { daemon: Daemon }) | undefined;
  let docker: Docker | undefined;
  let dockerMissing: string | undefined = dockerdMissing();
  const out: Record<string, unknown> = {};
  try {
    await fs.mkdir(run);
    // The run-roots on a private tmpfs, like /run.
    await must("mount", ["-t", "tmpfs", "-o", "mode=0700,size=256m", "berth-bench", run], o.stepTimeoutMs);
    tmpfsMounted = true;
    await must(path.join(REPO, "scripts/busybox-rootfs.sh"), [tar], o.stepTimeoutMs);
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
    await step("stack", () => benchStack(ctx));
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

// ---------------------------------------------------------------------------- report

type Row = [string, ...(string | number | null | undefined)[]];

function printTable(title: string, header: string[], rows: Row[]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : typeof c === "number" ? String(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  for (const r of cells) console.log(`  ${r.map((c, i) => (i === 0 ? (c ?? "").padEnd(widths[i]!) : (c ?? "").padStart(widths[i]!))).join("  ")}`);
}

const get = (x: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), x);
const num = (x: unknown) => (typeof x === "number" ? x : null);
const why = (x: unknown) => (get(x, "notMeasured") as string | undefined) ?? (get(x, "error") as string | undefined);
const statRow = (label: string, s: unknown, r: number | null = null, extra = ""): Row => {
  const reason = why(s);
  if (reason && num(get(s, "medianMs")) === null) return [label, "-", "-", "-", "-", `not measured: ${reason.slice(0, 140)}`];
  return [label, num(get(s, "medianMs")), num(get(s, "minMs")), num(get(s, "maxMs")), r === null ? "" : `${r}x`, extra];
};
const H = ["", "median ms", "min", "max", "ratio", "notes"];

function report(out: Record<string, unknown>, o: ControllerBenchOptions): void {
  const v = out.versions as Record<string, string | null>;
  console.log(`\nController vs Docker Compose / dockerd (berth in-process, API polled every ${o.pollMs}ms; ${v.compose ?? "no compose"}, dockerd ${v.dockerd ?? "-"}, ${v.runc}, ${v.conmon})`);
  console.log("  ratio = berth / Docker: below 1 berth is faster (or smaller)");

  const a = out.apply10;
  printTable(`1. apply of ${o.stackSize} independent containers → all Running (median of ${o.stackReps})`, H, [
    statRow(
      "berth apply (API) + poll list",
      get(a, "berth"),
      num(get(a, "ratio")),
      `apply returned ${num(get(a, "berth", "applyReturned", "medianMs")) ?? "-"}; events: 1st Created ${num(get(a, "berth", "eventsMedianMs", "firstCreated")) ?? "-"}, 1st Started ${num(get(a, "berth", "eventsMedianMs", "firstStarted")) ?? "-"}, last Started ${num(get(a, "berth", "eventsMedianMs", "lastStarted")) ?? "-"}; Created→Started ${num(get(a, "berth", "eventsMedianMs", "createdToStartedPerContainer")) ?? "-"}/ctr`,
    ),
    statRow("docker-compose up -d + poll", get(a, "compose"), null, `up -d returned at ${num(get(a, "compose", "upReturnedMs", "medianMs")) ?? "-"} ms`),
  ]);

  const c = out.chain10Healthy;
  printTable(`2. ${o.chainDepth}-deep dependsOn: healthy chain (interval 200ms) → all Running / all healthy (median of ${o.chainReps})`, ["", "all Running", "all healthy", "ratio healthy", "per link: handoff", "start→healthy", "notes"], [
    why(get(c, "berth")) && !get(c, "berth", "allHealthy")
      ? ["berth", "-", "-", "-", "-", "-", `not measured: ${why(get(c, "berth"))!.slice(0, 140)}`]
      : ["berth", num(get(c, "berth", "allRunning", "medianMs")), num(get(c, "berth", "allHealthy", "medianMs")), `${num(get(c, "ratioAllHealthy")) ?? "-"}x`, num(get(c, "berth", "perLink", "handoff", "medianMs")), num(get(c, "berth", "perLink", "startToHealthy", "medianMs")), "events: dep Healthy → Started; Started → Healthy"],
    why(get(c, "compose")) && !get(c, "compose", "allHealthy")
      ? ["docker-compose", "-", "-", "-", "-", "-", `not measured: ${why(get(c, "compose"))!.slice(0, 140)}`]
      : ["docker-compose up -d", num(get(c, "compose", "allRunning", "medianMs")), num(get(c, "compose", "allHealthy", "medianMs")), "", num(get(c, "compose", "perLink", "handoff", "medianMs")), num(get(c, "compose", "perLink", "startToHealthy", "medianMs")), `up -d returned at ${num(get(c, "compose", "upReturned", "medianMs")) ?? "-"} ms; docker events`],
  ]);
  if (get(c, "notMeasured")) console.log(`  not measured: ${why(c)}`);

  const n = out.noopReapply;
  printTable(`3. no-op re-apply of the ${o.stackSize}-container stack (nothing changes)`, H, [
    statRow(`berth apply, API round trip (×${o.noopApiReps})`, get(n, "berthApi"), num(get(n, "ratioApi")), `all unchanged: ${get(n, "berthApi", "allUnchanged") ?? "-"}, pids kept: ${get(n, "berthApi", "samePids") ?? "-"}`),
    statRow(`berth CLI apply, a process (×${o.noopCliReps})`, get(n, "berthCli"), num(get(n, "ratioCli")), `all unchanged: ${get(n, "berthCli", "allUnchanged") ?? "-"}`),
    statRow(`docker-compose up -d (×${o.noopComposeReps})`, get(n, "compose"), null, `containers kept: ${get(n, "compose", "sameContainers") ?? "-"}`),
    statRow("  floor: berth validate -f (CLI, no daemon)", get(n, "berthCliValidateFloor")),
    statRow("  floor: docker-compose config -q", get(n, "composeConfigFloor")),
  ]);

  const k = out.crashRestart;
  printTable(`4. kill -9 of a restart: always container → replacement Running, new pid (median of ${o.crashReps})`, H, [
    statRow("berth (backoff 100ms)", get(k, "berth"), num(get(k, "ratio")), `kill→Died ${num(get(k, "berth", "breakdownMedianMs", "killToDiedEvent")) ?? "-"}, Died→Restarted ${num(get(k, "berth", "breakdownMedianMs", "diedToRestartedEvent")) ?? "-"}, →seen ${num(get(k, "berth", "breakdownMedianMs", "restartedEventToObservedRunning")) ?? "-"}`),
    statRow("docker --restart always", get(k, "docker"), null, `kill→die ${num(get(k, "docker", "breakdownMedianMs", "killToDieEvent")) ?? "-"}, die→start ${num(get(k, "docker", "breakdownMedianMs", "dieToStartEvent")) ?? "-"}, →seen ${num(get(k, "docker", "breakdownMedianMs", "startEventToObservedRunning")) ?? "-"}`),
  ]);
  if (get(k, "notMeasured")) console.log(`  not measured: ${why(k)}`);

  const u = out.unhealthyRestart;
  const bu = get(u, "berth");
  printTable(`5. healthcheck fails retries (3) times → restarted container Running, new pid (median of ${o.unhealthyReps})`, H, [
    statRow("berth: Unhealthy event → Running", bu, null, `Unhealthy→Died ${num(get(bu, "breakdownMedianMs", "unhealthyToDiedEvent")) ?? "-"}, Died→Restarted ${num(get(bu, "breakdownMedianMs", "diedToRestartedEvent")) ?? "-"}`),
    statRow("berth: 3rd failure's end → Running", get(bu, "fromRetriesThFailureToObserved"), null, `rm→Unhealthy ${num(get(bu, "breakdownMedianMs", "rmToUnhealthyEvent")) ?? "-"} ms`),
    why(get(u, "docker"))
      ? ["docker", "-", "-", "-", "-", `not measured: ${why(get(u, "docker"))!.slice(0, 140)}`]
      : ["docker", "n/a", "-", "-", "n/a", `no equivalent: dockerd does not restart unhealthy containers (restarted within 2s: ${get(u, "docker", "restartedWithin2s")}); rm→unhealthy ${num(get(u, "docker", "rmToUnhealthyStatus", "medianMs")) ?? "-"} ms`],
  ]);
  if (get(u, "notMeasured")) console.log(`  not measured: ${why(u)}`);

  const m = out.daemonRss;
  const memRows: Row[] = [];
  for (const [label, key] of [["berth daemon (node)", "berth"], ["dockerd + containerd", "docker"]] as const) {
    const x = get(m, key);
    if (why(x)) {
      memRows.push([label, "-", "-", "-", "-", "-", `not measured: ${why(x)!.slice(0, 140)}`]);
      continue;
    }
    memRows.push([
      label,
      num(get(x, "idle", "totalRssKiB")),
      num(get(x, "loaded", "totalRssKiB")),
      num(get(x, "loaded", "daemonPssKiB")),
      num(get(x, "loaded", "monitorsPssKiB")),
      num(get(x, "startAllMs")),
      key === "docker" ? `dockerd ${num(get(x, "idle", "daemonRssKiB"))}/${num(get(x, "loaded", "daemonRssKiB"))} + containerd ${num(get(x, "idle", "helperRssKiB"))}/${num(get(x, "loaded", "helperRssKiB"))}` : `${get(x, "loaded", "monitors") ?? "-"} conmon`,
    ]);
  }
  memRows.push(["ratio berth / docker", `${num(get(m, "ratioIdle")) ?? "-"}x`, `${num(get(m, "ratioLoaded")) ?? "-"}x`, "", "", "", ""]);
  printTable(`6. daemon RSS, separate process, KiB (image imported; idle, and ${o.memoryContainers} × sleep 3600; ${o.settleMs / 1000}s settle); monitors = sum over conmon / containerd-shim`, ["", "idle RSS", `RSS @${o.memoryContainers}`, `PSS @${o.memoryContainers}`, `monitors PSS @${o.memoryContainers}`, `start ${o.memoryContainers} ms`, "notes"], memRows);
  if (Array.isArray(out.notes) && out.notes.length) console.log(`\n  notes: ${(out.notes as string[]).join("; ")}`);
}
