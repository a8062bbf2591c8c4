/**
 * Issue 12's exec figures side by side in one run:
 *
 * 1. `berth exec box -- true` as a whole CLI process against a running `berth daemon`
 *    process, vs `docker exec ID true` against a private dockerd and `runc exec ID true` of
 *    a runc container (the floor: what both daemons run); with `node -e 0` and `berth
 *    --version` (Node's start, commander) and `berth exec` of a missing container (the CLI
 *    and one request, no exec) to split berth's time from the outside. Goal: berth at most
 *    1.7x docker. From the inside: the CLI's marks (BERTH_EXEC_TIMING=1) and the daemon's
 *    exec phases (its debug log, runtime/containers/exec.ts).
 * 2. `exec -it` echo round trip through a pty (pty-echo.py), berth, docker and runc.
 * 3. `berth stats` streaming N containers: the daemon's CPU per container per second.
 *
 * Everything under one temp dir (gitops/suite-env.ts: run-roots on a private tmpfs, the
 * suite's cgroup parent, chain prefix BX, no bridge: every container has networkMode none);
 * the busybox image is built locally and imported into both (never a registry). At the
 * end: berth's containers deleted and its daemon stopped, dockerd stopped (its state,
 * mounts, cgroups go with it), the runc container deleted, and teardownSuiteEnv removes
 * whatever is left, even after a failure. Needs root, runc, conmon, busybox, tar; dockerd
 * and python3 where installed (else that part is reported as not measured).
 */
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dockerdMissing, startPrivateDockerd, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { BERTH_CLI, deleteAllContainers, importBusybox, logTail, startBerthDaemon, type BerthDaemonProc } from "../gitops/berth-daemon.js";
import { IMAGE, makeSuiteEnv, PATH_ENV, teardownSuiteEnv, type SuiteEnv } from "../gitops/suite-env.js";
import { errText } from "../proc.js";
import { median, now, round, sleep, summarize, type Summary } from "../stats.js";
import { echoLatency, echoMissing } from "./echo.js";
import { defaultExecBenchOptions, type ExecBenchOptions } from "./options.js";
import { failed, report, type BerthSplit, type ExecRows } from "./report.js";
import { startRuncFloor, type RuncFloor } from "./runc-floor.js";
import { statsCost, type StatsCost } from "./stats-cost.js";
import { timeRows, type Row } from "./timing.js";

export { defaultExecBenchOptions, type ExecBenchOptions } from "./options.js";

const BOX = "box";

function containerYaml(name: string): string {
  return `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: ${name}}\nspec:\n  image: ${IMAGE}\n  networkMode: none\n  stopGracePeriod: 1s\n  restartPolicy: {name: "no"}\n  command: [sleep, "3600"]\n`;
}

async function untilRunning(d: BerthDaemonProc, names: string[], timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const l = await d.client.list("Container");
    const notYet = names.filter((n) => (l.find((v) => v.metadata.name === n)?.status as { phase?: string } | undefined)?.phase !== "Running");
    if (notYet.length === 0) return;
    if (now() > deadline) throw new Error(`not running within ${timeoutMs} ms: ${notYet.join(", ")}`);
    await sleep(100);
  }
}

/** The daemon's `exec phases` debug lines written since byte `from` of its log: medians by phase. */
async function daemonPhases(d: BerthDaemonProc, from: number): Promise<{ phases: Record<string, number | null>; n: number }> {
  const text = (await fs.readFile(d.logFile)).subarray(from).toString("utf8");
  const by = new Map<string, number[]>();
  let n = 0;
  for (const line of text.split("\n")) {
    if (!line.includes('"exec phases"')) continue;
    const v = JSON.parse(line) as { phasesMs?: Record<string, number> };
    if (!v.phasesMs) continue;
    n++;
    for (const [k, ms] of Object.entries(v.phasesMs)) by.set(k, [...(by.get(k) ?? []), ms]);
  }
  return { phases: Object.fromEntries([...by].map(([k, v]) => [k, round(median(v), 2)])), n };
}

/** The CLI's BERTH_EXEC_TIMING line of one run's stderr. */
function cliMarks(stderr: string): Record<string, number> | undefined {
  const line = stderr.split("\n").find((l) => l.startsWith("berth-exec-timing "));
  return line ? (JSON.parse(line.slice("berth-exec-timing ".length)) as Record<string, number>) : undefined;
}

export async function benchExec(o: ExecBenchOptions = defaultExecBenchOptions()) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const started = now();
  const loadAtStart = os.loadavg();
  const notes: string[] = [];
  const versions: Record<string, string> = {};
  let env: SuiteEnv | undefined;
  let d: BerthDaemonProc | undefined;
  let dockerd: PrivateDockerd | undefined;
  let floor: RuncFloor | undefined;
  try {
    env = await makeSuiteEnv("exec", "BX", o.stepTimeoutMs);
    let exec: ExecRows | { error: string } = { error: "not run" };
    let split: BerthSplit | { error: string } = { error: "not run" };
    const echo: Record<string, Summary | { error: string }> = {};
    let stats: StatsCost | { error: string } = { error: "not run" };
    try {
      // The daemon's exec phases are debug lines: the daemon runs at debug level throughout.
      d = await startBerthDaemon(env, { name: "exec", addressPool: "10.214.192.0/18:24", extraArgs: ["--log-level", "debug"] });
      versions.berth = `berth ${(await d.client.version()).version}, node ${process.version}`;
      await importBusybox(d, env);
      const statsNames = Array.from({ length: Math.max(0, o.statsContainers - 1) }, (_, i) => `stats-${i}`);
      const file = path.join(env.base, "exec.yaml");
      await fs.writeFile(file, [BOX, ...statsNames].map(containerYaml).join(""));
      await d.mustCli(["apply", "-f", file]);
      await untilRunning(d, [BOX, ...statsNames], o.stepTimeoutMs);

      floor = await startRuncFloor(env);
      versions.runc = floor.version;
      const noDocker = dockerdMissing();
      let dockerId: string | undefined;
      let dockerEnv: NodeJS.ProcessEnv = {};
      if (noDocker) notes.push(`docker not measured: ${noDocker}`);
      else {
        try {
          dockerd = await startPrivateDockerd();
          versions.docker = `dockerd ${dockerd.version}`;
          await dockerd.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTgz, IMAGE], { timeoutMs: o.stepTimeoutMs });
          dockerId = (await dockerd.mustDocker(["run", "-d", "--network", "none", IMAGE, "sleep", "3600"], { timeoutMs: o.stepTimeoutMs })).trim();
          dockerEnv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dockerd.dir, DOCKER_CONFIG: path.join(dockerd.dir, "client") };
        } catch (err) {
          notes.push(`docker not measured: ${errText(err)}`);
          dockerId = undefined;
        }
      }

      const berthEnv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", BERTH_FIREWALL_PREFIX: env.prefix };
      const berth = (args: string[]) => [BERTH_CLI, "--run-root", d!.runRoot, ...args];
      const dockerArgs = (args: string[]) => ["-H", `unix://${dockerd!.socket}`, ...args];
      const names = { floor: "runc exec ID true", docker: "docker exec ID true", berth: "berth exec box -- true" };
      const rows: (Row & { note: string })[] = [
        { name: "node -e 0", cmd: process.execPath, args: ["-e", "0"], env: berthEnv, note: "Node's own start" },
        { name: "berth --version", cmd: process.execPath, args: [BERTH_CLI, "--version"], env: berthEnv, note: "+ commander and the command table" },
        { name: names.floor, cmd: floor.runc, args: floor.execArgs(["true"]), env: berthEnv, note: "the floor: what both daemons run" },
        ...(dockerId ? [{ name: names.docker, cmd: dockerd!.cli, args: dockerArgs(["exec", dockerId, "true"]), env: dockerEnv, note: "a private dockerd" }] : []),
        { name: names.berth, cmd: process.execPath, args: berth(["exec", BOX, "--", "true"]), env: berthEnv, note: "the goal's row" },
        { name: "berth exec missing -- true", cmd: process.execPath, args: berth(["exec", "missing", "--", "true"]), env: berthEnv, expectCode: "nonzero", note: "the CLI and one request, no exec (NotFound)" },
      ];
      try {
        const logFrom = (await fs.stat(d.logFile)).size;
        const times = await timeRows(rows, o.runs, o.warmRuns, o.stepTimeoutMs);
        exec = { rows: rows.map((r) => ({ name: r.name, note: r.note, summary: summarize(times.get(r.name)!) })), ...names };
        // The split: the same exec with the CLI's marks on, then the daemon's phases of every exec since logFrom.
        const marks: Record<string, number>[] = [];
        const marked: Row = { name: "berth exec (marks)", cmd: process.execPath, args: berth(["exec", BOX, "--", "true"]), env: { ...berthEnv, BERTH_EXEC_TIMING: "1" }, onStderr: (s) => void (cliMarks(s) && marks.push(cliMarks(s)!)) };
        await timeRows([marked], o.runs, 0, o.stepTimeoutMs);
        const p = await daemonPhases(d, logFrom);
        const med = (k: string) => round(median(marks.map((m) => m[k] ?? NaN)), 1);
        split = {
          cli: marks.length
            ? { "start → exec command running": med("commandMs"), "  of which: node + main's imports": med("mainMs"), "→ the exec's answer complete": med("requestMs"), "→ process exit (from the answer)": med("exitMs") }
            : { "(no marks: this CLI has no BERTH_EXEC_TIMING)": null },
          daemonPhasesMs: p.phases,
          daemonExecs: p.n,
        };
      } catch (err) {
        if (failed(exec)) exec = { error: errText(err) };
        split = { error: errText(err) };
      }

      const noEcho = echoMissing();
      if (noEcho) notes.push(`echo not measured: ${noEcho}`);
      else {
        const sides: [string, string[], NodeJS.ProcessEnv][] = [
          ["runc exec -t ID cat (floor)", [floor.runc, ...floor.execArgs(["cat"], ["-t"])], berthEnv],
          ...(dockerId ? ([["docker exec -it ID cat", [dockerd!.cli, ...dockerArgs(["exec", "-it", dockerId, "cat"])], dockerEnv]] as [string, string[], NodeJS.ProcessEnv][]) : []),
          ["berth exec -it box -- cat", [process.execPath, ...berth(["exec", "-it", BOX, "--", "cat"])], berthEnv],
        ];
        for (const [name, argv, e] of sides) {
          try {
            echo[name] = await echoLatency(argv, { ...e, TERM: "xterm" }, o.echoRounds, 60_000);
          } catch (err) {
            echo[name] = { error: errText(err) };
          }
        }
      }

      try {
        stats = await statsCost(d.pid, { cmd: process.execPath, args: berth(["stats"]), env: berthEnv }, o.statsContainers, o.statsSeconds);
      } catch (err) {
        stats = { error: errText(err) };
      }
    } catch (err) {
      exec = { error: errText(err) };
      if (d) notes.push(`daemon log: ${(await logTail(d)).join(" | ").slice(0, 600)}`);
    } finally {
      await dockerd?.stop();
      await floor?.close();
      if (d?.alive()) await deleteAllContainers(d, o.stepTimeoutMs).catch((err: unknown) => notes.push(`cleanup: ${errText(err)}`));
      await d?.stop();
    }
    return { ...report(exec, split, echo, stats, versions, o, notes, loadAtStart), durationS: round((now() - started) / 1000) };
  } finally {
    await dockerd?.stop();
    await floor?.close();
    if (env) {
      const left = await teardownSuiteEnv(env);
      if (left.length) console.log(`  exec teardown: ${left.join("; ")}`);
    }
  }
}
