/**
 * Commit to running: a git work tree watched by the daemon (`berth watch DIR --stack`), a
 * stack of a network and `stackContainers` containers; each round changes one container's
 * env in its manifest, `git add` + `git commit`, and polls the API every pollMs (at most
 * convergeTimeoutMs) until that container runs with the new spec: a new container id,
 * phase Running, its observed generation the object's, the new env in its spec. After it,
 * the source must show that commit as applied.
 *
 * The split comes from the daemon's own events: the stack's `Synced` (the revision read and
 * applied as desired state: detection by chokidar, the 300 ms debounce, reading the set,
 * the apply) and the container's `Recreated` (old one stopped and removed, new one created)
 * and `Started`. Times are wall clock of this host (the daemon's events and Date.now() here).
 *
 * The container's own start: a fresh container of the same spec on the same network applied
 * through the API (stack bbprobe), polled the same way until Running, then deleted; and
 * `berth restart` of the changed one (the CLI's wall time: stop + start).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { ContainerStatusView, ObjectView } from "../../controller/api/protocol.js";
import { now, range, round, sleep, summarize, type Summary } from "../stats.js";
import type { BerthDaemonProc } from "./berth-daemon.js";
import { initGitTree } from "./git-tree.js";
import type { GitopsBenchOptions } from "./options.js";
import { IMAGE, type SuiteEnv } from "./suite-env.js";

export const STACK = "bbgit";
const CHANGED = "api";
const NAMES = ["web", "api", "worker", "cache"];
/** pid 1 that exits on SIGTERM at once (a plain sleep as pid 1 ignores it). */
const COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 2147483647 & wait"];

function containerYaml(name: string, env: Record<string, string>): string {
  return [
    "apiVersion: berth/v1",
    "kind: Container",
    "metadata:",
    `  name: ${name}`,
    "  labels:",
    `    app.kubernetes.io/part-of: ${STACK}`,
    "spec:",
    `  image: ${IMAGE}`,
    `  command: ${JSON.stringify(COMMAND)}`,
    "  networks: [app]",
    "  restartPolicy: unless-stopped",
    "  stopGracePeriod: 5s",
    "  env:",
    ...Object.entries(env).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`),
    "",
  ].join("\n");
}

const NETWORK_YAML = "apiVersion: berth/v1\nkind: Network\nmetadata:\n  name: app\nspec:\n  driver: bridge\n";

const status = (v: ObjectView) => v.status as ContainerStatusView;
/** A variable of the normalized spec (env is `[{name, value}]` there). */
const specEnv = (v: ObjectView, name: string) => ((v.spec as { env?: { name: string; value: string }[] }).env ?? []).find((e) => e.name === name)?.value;

export interface CommitRound {
  /** Commit's return → container running the new spec, as polled. */
  totalMs: number;
  /** Commit's return → the stack's Synced event (detection + 300 ms debounce + read + apply). */
  syncedMs: number;
  /** Synced → Recreated (old stopped and removed, new created) → Started, and Started → seen by the poll. */
  recreateMs: number;
  startMs: number;
  seenMs: number;
  /** The file write → the commit's return (the watcher sees the write; the commit only adds .git objects, which are ignored). */
  commitMs: number;
}

export interface CommitResult {
  stack: { containers: number; network: string; changed: string };
  rounds: CommitRound[];
  total: Summary;
  synced: Summary;
  recreate: Summary;
  start: Summary;
  seen: Summary;
  commit: Summary;
  /** A fresh container of the same spec and network: apply → Running, polled the same way. */
  ownStart: Summary;
  /** `berth restart api` (the CLI process, stop + start). */
  restartCli: Summary;
  /** Median total minus the median own start: what the GitOps path adds. */
  overheadMs: number | null;
  appliedCommitMatches: boolean;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, o: GitopsBenchOptions): Promise<T> {
  const deadline = now() + o.convergeTimeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (now() > deadline) throw new Error(`${what}: not within ${o.convergeTimeoutMs} ms`);
    await sleep(o.pollMs);
  }
}

export async function benchCommit(env: SuiteEnv, d: BerthDaemonProc, o: GitopsBenchOptions): Promise<CommitResult> {
  const tree = await initGitTree(path.join(env.base, "gitops-tree"), o.stepTimeoutMs);
  const names = NAMES.slice(0, Math.max(1, o.stackContainers));
  const write = (name: string, rev: string) => fs.writeFile(path.join(tree.dir, "stack", `${name}.yaml`), containerYaml(name, { APP_NAME: name, LOG_LEVEL: "info", REVISION: rev }));
  await fs.mkdir(path.join(tree.dir, "stack"));
  await fs.writeFile(path.join(tree.dir, "stack", "network.yaml"), NETWORK_YAML);
  for (const n of names) await write(n, "0");
  await fs.writeFile(path.join(tree.dir, "README.md"), "The bench's stack.\n");
  await tree.commitAll("stack");
  await d.mustCli(["watch", tree.dir, "--stack", STACK]);
  await until("the stack running", async () => {
    const l = (await d.client.list("Container")).filter((v) => v.metadata.stack === STACK);
    return l.length === names.length && l.every((v) => status(v).phase === "Running") ? true : undefined;
  }, o);

  const runsNew = async (rev: string, oldId: string | undefined) => {
    const v = await d.client.get("Container", CHANGED);
    const s = status(v);
    return s.phase === "Running" && s.containerId !== oldId && s.observedGeneration === v.metadata.generation && specEnv(v, "REVISION") === rev ? v : undefined;
  };
  const rounds: CommitRound[] = [];
  const ownStart: number[] = [];
  const restartCli: number[] = [];
  let lastCommit = "";
  for (const i of range(o.commitRounds + 1)) {
    const rev = String(i + 1);
    const oldId = status(await d.client.get("Container", CHANGED)).containerId;
    const tWrite = now();
    await write(CHANGED, rev);
    await tree.git(["add", "-A"]);
    await tree.git(["commit", "-q", "-m", `api: REVISION=${rev}`]);
    const t0 = now();
    const t0Wall = Date.now();
    await until(`${CHANGED} running REVISION=${rev}`, () => runsNew(rev, oldId), o);
    const totalMs = now() - t0;
    lastCommit = (await tree.git(["rev-parse", "HEAD"])).trim();
    const evs = (await d.client.events()).filter((e) => Date.parse(e.time) >= t0Wall - (t0 - tWrite) - 5);
    const at = (object: string, reason: string) => {
      const e = evs.find((x) => x.object === object && x.reason === reason);
      return e ? Date.parse(e.time) - t0Wall : NaN;
    };
    const synced = at(`stack/${STACK}`, "Synced");
    const recreated = at(`container/${CHANGED}`, "Recreated");
    const started = at(`container/${CHANGED}`, "Started");
    if (i > 0) rounds.push({ totalMs, syncedMs: synced, recreateMs: recreated - synced, startMs: started - recreated, seenMs: totalMs - started, commitMs: t0 - tWrite });

    // The container's own start: the same spec, a fresh name, the same network.
    const probe = `probe-${i}`;
    const p0 = now();
    const res = await d.client.apply({ stack: "bbprobe", files: [{ file: "probe.yaml", text: containerYaml(probe, { APP_NAME: probe, LOG_LEVEL: "info", REVISION: rev }), baseDir: "/" }] });
    if (res.diagnostics.length) throw new Error(`apply ${probe}: ${JSON.stringify(res.diagnostics).slice(0, 400)}`);
    await until(`${probe} running`, async () => (status(await d.client.get("Container", probe)).phase === "Running" ? true : undefined), o);
    if (i > 0) ownStart.push(now() - p0);
    await d.client.delete("Container", probe);
    await until(`${probe} deleted`, async () => ((await d.client.list("Container")).some((v) => v.metadata.name === probe) ? undefined : true), o);
    if (i > 0) {
      const r0 = now();
      await d.mustCli(["restart", CHANGED]);
      restartCli.push(now() - r0);
    }
  }
  const src = await d.client.getSource(STACK);
  const pick = (k: keyof CommitRound) => summarize(rounds.map((r) => r[k]));
  const total = pick("totalMs");
  const own = summarize(ownStart);
  return {
    stack: { containers: names.length, network: "app (bridge)", changed: CHANGED },
    rounds: rounds.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])) as unknown as CommitRound),
    total,
    synced: pick("syncedMs"),
    recreate: pick("recreateMs"),
    start: pick("startMs"),
    seen: pick("seenMs"),
    commit: pick("commitMs"),
    ownStart: own,
    restartCli: summarize(restartCli),
    overheadMs: total.medianMs !== null && own.medianMs !== null ? round(total.medianMs - own.medianMs) : null,
    appliedCommitMatches: src.appliedCommit === lastCommit,
  };
}
