/**
 * What every controller scenario shares: the berth side (an in-process daemon on its own
 * dirs, driven only through startDaemon and ApiClient, observed on the host through runc)
 * and the Docker side (a private dockerd and docker-compose, observed through its API
 * socket), their setup and teardown, and polling. Every wait is bounded by the options'
 * stepTimeoutMs (or less); `close`/`stop` remove everything a side created and never throw.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import pino from "pino";
import { ApiClient } from "../../controller/api/client.js";
import type { ContainerStatusView, EventRecord, ObjectView } from "../../controller/api/protocol.js";
import { startDaemon, type Daemon } from "../../controller/daemon.js";
import { until } from "../../test/helpers/daemon.js";
import { pidsMentioning, removeCgroupTrees, runProcess, startPrivateDockerd, unmountAllUnder, type PrivateDockerd, type ProcessResult } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { errText } from "../proc.js";
import { now, range, sleep } from "../stats.js";
import type { ControllerBenchOptions } from "./options.js";

export const IMAGE = "localhost/berth-bench/busybox:1";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** pid 1 that exits on SIGTERM (a plain `sleep` as pid 1 ignores it and waits out the grace period). */
export const TERM_AWARE = "touch /tmp/ok; trap 'exit 0' TERM; sleep 3600 & wait";

/** What a scenario runs with. */
export interface Ctx {
  o: ControllerBenchOptions;
  base: string;
  /** A private tmpfs, like /run: the run-roots go here. */
  run: string;
  /** The busybox rootfs tarball both sides import. */
  tar: string;
  /** Prefix of compose projects and docker container names. */
  prefix: string;
  berth: Berth;
  docker?: Docker;
  dockerMissing?: string;
  /** Oddities worth a line in the report. */
  notes: string[];
}

/** A measurement that could not be made, and why. */
export interface Unavailable {
  notMeasured: string;
}

export const failed = (err: unknown): Unavailable => ({ notMeasured: errText(err) });

/** Why compose cannot be measured, or undefined when it can. */
export function composeMissing(ctx: Ctx): string | undefined {
  if (!ctx.docker) return ctx.dockerMissing ?? "no private dockerd";
  return ctx.docker.composeMissing;
}

// ---------------------------------------------------------------------------- berth side

const doc = (o: unknown) => `---\n${JSON.stringify(o, null, 2)}\n`;
const files = (text: string) => [{ file: "stack.yaml", text, baseDir: "/" }];

export function imageDoc(tar: string): string {
  return doc({ apiVersion: "berth/v1", kind: "Image", metadata: { name: "bench-busybox" }, spec: { reference: IMAGE, import: { path: tar, config: { cmd: ["sh"] } } } });
}

export function ctrDoc(name: string, spec: Record<string, unknown>): string {
  return doc({ apiVersion: "berth/v1", kind: "Container", metadata: { name }, spec: { image: IMAGE, networkMode: "none", ...spec } });
}

export const sleeperSpec = { command: ["sleep", "3600"], stopSignal: "SIGKILL", stopGracePeriod: "1s" };
export const cs = (v: ObjectView) => v.status as ContainerStatusView;

export interface Berth {
  client: ApiClient;
  root: string;
  runRoot: string;
  cgroupParent: string;
  /** Names of this berth's containers on the host (runc's view, from their OCI annotation). */
  hostNames(): Promise<string[]>;
  close(): Promise<void>;
}

export async function applyOrThrow(client: ApiClient, stack: string, text: string) {
  const r = await client.apply({ stack, files: files(text) });
  if (r.diagnostics.length) throw new Error(`apply ${stack}: ${JSON.stringify(r.diagnostics).slice(0, 600)}`);
  return r;
}

export async function stackStatus(client: ApiClient, stack: string): Promise<{ name: string; s: ContainerStatusView }[]> {
  return (await client.list("Container")).filter((v) => v.metadata.stack === stack).map((v) => ({ name: v.metadata.name, s: cs(v) }));
}

/** Polls until every container of `stack` (exactly `n`) passes `pred`. */
export function untilStack(client: ApiClient, stack: string, n: number, what: string, pred: (s: ContainerStatusView) => boolean, timeoutMs: number, everyMs: number) {
  return until(`${stack} ${what}`, async () => {
    const l = await stackStatus(client, stack);
    return l.length === n && l.every((x) => pred(x.s)) ? true : undefined;
  }, timeoutMs, everyMs);
}

/** The berth container names runc knows under `runRoot` (berth annotates each with its name). */
export async function runcNames(runRoot: string, timeoutMs: number): Promise<string[]> {
  const r = await runProcess("runc", ["--root", path.join(runRoot, "runc"), "list", "--format", "json"], { timeoutMs });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  const list = (JSON.parse(r.stdout) ?? []) as { id: string; annotations?: Record<string, string> }[];
  return list.map((c) => c.annotations?.["io.berth.container.name"] ?? c.id);
}

/** Removes what a daemon on these dirs left behind: containers, conmons, mounts, cgroups. */
export async function scrubBerth(root: string, runRoot: string, cgroupParent: string, timeoutMs: number): Promise<void> {
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

export async function waitImageReady(client: ApiClient, o: ControllerBenchOptions): Promise<void> {
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

/** berth in this process, with the production controller defaults; the image imported. */
export async function startBerth(base: string, run: string, tar: string, o: ControllerBenchOptions): Promise<Berth> {
  const root = path.join(base, "berth-root");
  const runRoot = path.join(run, "berth");
  const cgroupParent = `berth-bench-ctl-${randomBytes(4).toString("hex")}`;
  let daemon: Daemon | undefined;
  const close = async () => {
    await daemon?.stop().catch(() => {});
    await scrubBerth(root, runRoot, cgroupParent, o.stepTimeoutMs).catch(() => {});
  };
  try {
    // Production controller defaults (concurrency 4, resync 10s): only the dirs are the bench's.
    daemon = await startDaemon({ root, runRoot, cgroupParent, logger: pino({ level: process.env.BERTH_BENCH_LOG ?? "silent" }), version: "bench" });
    const client = new ApiClient(daemon.socketPath);
    await applyOrThrow(client, "bench-image", imageDoc(tar));
    await waitImageReady(client, o);
    return { client, root, runRoot, cgroupParent, hostNames: () => runcNames(runRoot, o.stepTimeoutMs), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Deletes the containers and waits until runc no longer has them. */
export async function berthRemove(b: Berth, names: string[], o: ControllerBenchOptions): Promise<void> {
  for (const n of names) await b.client.delete("Container", n).catch(() => {});
  await until(`berth containers ${names[0]}… removed`, async () => ((await b.hostNames()).some((n) => names.includes(n)) ? undefined : true), o.stepTimeoutMs, 100);
}

export async function eventsSince(client: ApiClient, object: string, sinceMs: number): Promise<EventRecord[]> {
  return (await client.events()).filter((e) => e.object === object && Date.parse(e.time) >= sinceMs);
}

/** Epoch ms of the first event with `reason`; NaN when there is none. */
export const firstAt = (evs: EventRecord[], reason: string) => {
  const e = evs.find((x) => x.reason === reason);
  return e ? Date.parse(e.time) : NaN;
};

// ---------------------------------------------------------------------------- docker side

export interface DockerContainerJson {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Running: boolean; Pid: number; StartedAt: string; Health?: { Status: string; Log?: { Start: string; End: string; ExitCode: number }[] } };
}

export interface DockerListEntry {
  Id: string;
  State: string;
  Status: string;
  Labels: Record<string, string>;
}

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
}

export interface Docker {
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

const dockerTime = (ms: number) => `${Math.floor(ms / 1000)}.${String(Math.floor(ms % 1000) * 1_000_000).padStart(9, "0")}`;

/** A private dockerd with the image imported, and compose if installed. `d.stop()` removes it all. */
export async function startDocker(base: string, tar: string, o: ControllerBenchOptions): Promise<Docker> {
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

export async function mustCompose(dk: Docker, project: string, file: string, args: string[]): Promise<ProcessResult> {
  const r = await dk.composeRun(project, file, args);
  if (r.code !== 0) throw new Error(`compose -p ${project} ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
  return r;
}

/**
 * Runs `compose … up -d` and meanwhile polls `done` every `pollMs` (so "all running" is seen
 * when it happens, not when compose exits). Resolves with the ms from `t0` at which `done`
 * first held and at which compose returned; throws when compose fails or time runs out.
 */
export async function composeUpPolling(
  dk: Docker,
  project: string,
  file: string,
  args: string[],
  t0: number,
  done: () => Promise<boolean>,
  o: Pick<ControllerBenchOptions, "pollMs" | "stepTimeoutMs">,
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

export async function writeCompose(dk: Docker, project: string, services: Record<string, unknown>): Promise<string> {
  const file = path.join(dk.dir, `${project}.yaml`);
  // JSON is YAML; indented so that every `key: value` has its space.
  await fs.writeFile(file, JSON.stringify({ version: "2.4", services }, null, 2) + "\n");
  return file;
}

/** `down` of a project; never throws (cleanup). */
export const composeDown = (dk: Docker, project: string, file: string) => dk.composeRun(project, file, ["down", "-t", "0", "--remove-orphans"]).catch(() => undefined);

export const composeSleepers = (n: number) =>
  Object.fromEntries(range(n).map((i) => [`s${i}`, { image: IMAGE, network_mode: "none", command: ["sleep", "3600"], stop_signal: "SIGKILL" }]));

/**
 * Runs the berth and the compose repetition of round `rep`, alternating who goes first (so
 * neither always runs on a cooler host). A side's first failure is recorded in `errs` and
 * ends that side's repetitions; the other goes on.
 */
export async function alternate(rep: number, errs: { berth?: string; compose?: string }, berthRep: () => Promise<void>, composeRep: () => Promise<void>): Promise<void> {
  const side = (key: "berth" | "compose", f: () => Promise<void>) => async () => {
    if (errs[key]) return;
    try {
      await f();
    } catch (err) {
      errs[key] = errText(err);
    }
  };
  const order = [side("berth", berthRep), side("compose", composeRep)];
  if (rep % 2) order.reverse();
  for (const f of order) await f();
}
