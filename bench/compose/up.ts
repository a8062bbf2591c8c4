/**
 * `up -d` of the 10-service file (compose-file.ts), side by side in one run, as users run
 * each: `berth apply -f compose.yaml -p bbshop --wait` (a CLI process against the running
 * daemon; berth has no `up -d`: `berth up` stays in the foreground) vs `docker-compose -f
 * compose.yaml -p bbshop up -d` against the private dockerd. Each round is timed from the
 * command's start to its return and then checked: ten containers running (and db and api
 * healthy, gated). Between rounds, untimed: `berth delete -f compose.yaml -p bbshop` until
 * the daemon has no container, network or volume left, and `docker-compose down -v`.
 * Rounds alternate which side goes first; one untimed round of each first.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { ContainerStatusView } from "../../controller/api/protocol.js";
import { runProcess, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { median, now, ratio, range, round, sleep, summarize, type Summary } from "../stats.js";
import { BERTH_CLI, type BerthDaemonProc } from "../gitops/berth-daemon.js";
import { IMAGE, type SuiteEnv } from "../gitops/suite-env.js";
import { composeYaml, HEALTHCHECKED, SERVICES } from "./compose-file.js";
import type { ComposeBenchOptions } from "./options.js";

export const PROJECT = "bbshop";

export interface VariantResult {
  gated: boolean;
  /** What each side's command waits for before it returns. */
  waitsFor: { berth: string; docker: string };
  berth: Summary;
  /** Where berth's time goes, from the daemon's events (medians): the command's start → the first container Created (node's start, reading and converting the file, the apply, the first reconcile), → the last Started, → the command's return (its --wait seeing it, exit). */
  berthSplit: { toFirstCreatedMs: number | null; toLastStartedMs: number | null; toReturnMs: number | null };
  docker: Summary;
  ratio: number | null;
}

export interface ComposeSides {
  berth: BerthDaemonProc;
  dockerd: PrivateDockerd;
  compose: string;
}

export async function benchUp(env: SuiteEnv, s: ComposeSides, gated: boolean, o: ComposeBenchOptions): Promise<VariantResult> {
  const dir = path.join(env.base, gated ? "compose-gated" : "compose-ungated");
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, "compose.yaml");
  await fs.writeFile(file, composeYaml(gated));
  const base = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", IMAGE };
  const berthEnv = { ...base, BERTH_FIREWALL_PREFIX: env.prefix, FRONT_SUBNET: "10.214.130.0/24", BACK_SUBNET: "10.214.131.0/24" };
  const d = s.dockerd;
  const dockerEnv = { ...base, HOME: d.dir, DOCKER_CONFIG: path.join(d.dir, "client"), DOCKER_HOST: `unix://${d.socket}`, FRONT_SUBNET: "10.214.140.0/24", BACK_SUBNET: "10.214.141.0/24" };
  const run = async (cmd: string, args: string[], e: NodeJS.ProcessEnv, what: string) => {
    const r = await runProcess(cmd, args, { timeoutMs: o.stepTimeoutMs, env: e, cwd: dir });
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
    return r;
  };
  const splits: [number, number, number][] = [];
  const berthUp = async () => {
    const t0 = now();
    const t0Wall = Date.now();
    await run(process.execPath, [BERTH_CLI, "--run-root", s.berth.runRoot, "apply", "-f", file, "-p", PROJECT, "--wait", "--timeout", "2m"], berthEnv, "berth apply --wait");
    const ms = now() - t0;
    const l = (await s.berth.client.list("Container")).filter((v) => v.metadata.stack === PROJECT);
    const st = (n: string) => l.find((v) => v.metadata.name === `${PROJECT}-${n}`)?.status as ContainerStatusView | undefined;
    const bad = SERVICES.filter((n) => st(n)?.phase !== "Running" || (gated && HEALTHCHECKED.includes(n) && st(n)?.health !== "healthy"));
    if (l.length !== SERVICES.length || bad.length) throw new Error(`berth: after apply --wait ${l.length} containers, not ready: ${bad.join(", ")}`);
    const evs = (await s.berth.client.events()).filter((e) => e.object.startsWith(`container/${PROJECT}-`) && Date.parse(e.time) >= t0Wall);
    const times = (reason: string) => evs.filter((e) => e.reason === reason).map((e) => Date.parse(e.time) - t0Wall);
    const created = Math.min(...times("Created"));
    const started = Math.max(...times("Started"));
    splits.push([created, started - created, ms - started]);
    return ms;
  };
  const berthDown = async () => {
    await run(process.execPath, [BERTH_CLI, "--run-root", s.berth.runRoot, "delete", "-f", file, "-p", PROJECT, "--ignore-not-found"], berthEnv, "berth delete");
    const deadline = now() + o.stepTimeoutMs;
    for (;;) {
      const left = [...(await s.berth.client.list("Container")), ...(await s.berth.client.list("Network")), ...(await s.berth.client.list("Volume"))].filter((v) => v.metadata.stack === PROJECT);
      const runc = (await runProcess("runc", ["--root", path.join(s.berth.runRoot, "runc"), "list", "-q"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
      if (left.length === 0 && runc.length === 0) return;
      if (now() > deadline) throw new Error(`berth: ${left.length} objects and ${runc.length} runc containers left ${o.stepTimeoutMs} ms after delete`);
      await sleep(100);
    }
  };
  const dockerUp = async () => {
    const t0 = now();
    await run(s.compose, ["-f", file, "-p", PROJECT, "up", "-d"], dockerEnv, "docker-compose up -d");
    const ms = now() - t0;
    const ps = (await d.mustDocker(["ps", "-a", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--format", "{{.Label \"com.docker.compose.service\"}} {{.State}} {{.Status}}"])).trim().split("\n").filter(Boolean);
    const bad = SERVICES.filter((n) => {
      const line = ps.find((l) => l.startsWith(`${n} `));
      return !line || !line.includes(" running ") || (gated && HEALTHCHECKED.includes(n) && !line.includes("(healthy)"));
    });
    if (ps.length !== SERVICES.length || bad.length) throw new Error(`docker: after up -d ${ps.length} containers, not ready: ${bad.join(", ")} (${ps.join("; ").slice(0, 400)})`);
    return ms;
  };
  const dockerDown = async () => {
    await run(s.compose, ["-f", file, "-p", PROJECT, "down", "-v", "--timeout", "5"], dockerEnv, "docker-compose down -v");
  };

  const berth: number[] = [];
  const docker: number[] = [];
  for (const i of range(o.rounds + 1)) {
    if (i === 1) splits.length = 0; // the untimed round's
    const sides: [() => Promise<number>, () => Promise<void>, number[]][] = [
      [berthUp, berthDown, berth],
      [dockerUp, dockerDown, docker],
    ];
    if (i % 2) sides.reverse();
    for (const [up, down, out] of sides) {
      try {
        const ms = await up();
        if (i > 0) out.push(ms);
      } finally {
        await down();
      }
    }
  }
  const b = summarize(berth);
  const k = summarize(docker);
  return {
    gated,
    waitsFor: gated
      ? { berth: "apply --wait: all 10 running, db and api healthy (their healthchecks; no other service has one)", docker: "up -d: db healthy before api starts, api healthy before web starts (service_healthy), then all 10 started" }
      : { berth: "apply --wait: all 10 running (no healthchecks)", docker: "up -d: all 10 started (no healthchecks)" },
    berth: b,
    berthSplit: { toFirstCreatedMs: round(median(splits.map((x) => x[0]))), toLastStartedMs: round(median(splits.map((x) => x[1]))), toReturnMs: round(median(splits.map((x) => x[2]))) },
    docker: k,
    ratio: ratio(b.medianMs, k.medianMs),
  };
}

/** The berth CLI's own cost in the up: `berth --version` (node's start) and `berth convert -f` of the gated file (reading, interpolating, validating against the Compose schema, converting), medians of 3. */
export async function cliCosts(env: SuiteEnv, o: ComposeBenchOptions): Promise<{ versionMs: number | null; convertMs: number | null }> {
  const file = path.join(env.base, "compose-gated", "compose.yaml");
  const e = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", IMAGE, FRONT_SUBNET: "10.214.130.0/24", BACK_SUBNET: "10.214.131.0/24" };
  const time = async (args: string[]) => {
    const xs: number[] = [];
    for (const _ of range(3)) {
      const t0 = now();
      const r = await runProcess(process.execPath, [BERTH_CLI, ...args], { timeoutMs: o.stepTimeoutMs, env: e });
      if (r.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-400)}`);
      xs.push(now() - t0);
    }
    return round(median(xs));
  };
  return { versionMs: await time(["--version"]), convertMs: await time(["convert", "-f", file, "-p", PROJECT]) };
}
