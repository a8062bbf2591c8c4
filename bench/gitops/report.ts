/** The gitops benchmark's table on stdout and its JSON summary (what is printed is what is returned). */
import * as os from "node:os";
import type { CommitResult } from "./commit.js";
import type { IdleResult } from "./idle.js";
import type { GitopsBenchOptions } from "./options.js";

type Failed = { error: string };
const failed = (x: unknown): x is Failed => typeof x === "object" && x !== null && "error" in x;

export interface Goal {
  name: string;
  target: string;
  value: number | null;
  met: boolean | null;
}

const ms = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : `${Math.round(x)} ms`);

export function loadLine(): string {
  return `host: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} at the end (other work on the host makes every figure noisier)`;
}

export function report(commit: CommitResult | Failed, idle: IdleResult | Failed, o: GitopsBenchOptions, notes: string[], loadAtStart: number[]) {
  const rows: [string, string, string, string, string][] = [];
  const goals: Goal[] = [];
  if (failed(commit)) {
    rows.push(["commit → running", `failed: ${commit.error}`, "", "", ""]);
    goals.push({ name: "commit to running, minus the container's own start, under 1 s", target: "< 1000 ms", value: null, met: null });
  } else {
    const over = commit.overheadMs;
    const met = over === null ? null : over < 1000;
    goals.push({ name: "commit to running, minus the container's own start, under 1 s", target: "< 1000 ms", value: over, met });
    rows.push(["commit → running (median)", ms(commit.total.medianMs), `own start ${ms(commit.ownStart.medianMs)}`, `+${ms(over)}`, `< 1 s + own start: ${met === null ? "not measured" : met ? "met" : "NOT met"}`]);
    rows.push(["  detection + debounce + apply", ms(commit.synced.medianMs), "(Synced event)", "", "chokidar, 300 ms quiet, read, apply"]);
    rows.push(["  recreate: stop + create", ms(commit.recreate.medianMs), "(Recreated event)", "", ""]);
    rows.push(["  start", ms(commit.start.medianMs), "(Started event)", "", ""]);
    rows.push(["  seen by the poll", ms(commit.seen.medianMs), `every ${o.pollMs} ms`, "", ""]);
    rows.push(["  min / max", `${ms(commit.total.minMs)} / ${ms(commit.total.maxMs)}`, "", "", ""]);
    rows.push(["container's own start", ms(commit.ownStart.medianMs), "apply fresh → Running", "", "same spec and network, polled alike"]);
    rows.push(["berth restart (CLI)", ms(commit.restartCli.medianMs), "stop + start", "", "for comparison"]);
  }
  if (failed(idle)) {
    rows.push(["idle watching CPU", `failed: ${idle.error}`, "", "", ""]);
    goals.push({ name: "idle watching CPU under 1% of one core", target: "< 1%", value: null, met: null });
  } else {
    const met = idle.cpuPercentOfCore === null ? null : idle.cpuPercentOfCore < 1;
    goals.push({ name: "idle watching CPU under 1% of one core", target: "< 1%", value: idle.cpuPercentOfCore, met });
    rows.push([`idle CPU, ${idle.files} files`, `${idle.cpuPercentOfCore ?? "-"}% of a core`, `${ms(idle.cpuMs)} in ${(idle.windowMs / 1000).toFixed(1)} s`, "", `< 1%: ${met === null ? "not measured" : met ? "met" : "NOT met"}`]);
    rows.push(["  children (git, runc, …)", ms(idle.childrenCpuMs), "cutime+cstime", "", ""]);
    rows.push(["  source resync (every 60 s)", ms(idle.resyncCpuMs), `${idle.resyncAmortizedPercent ?? "-"}% amortized`, "", "a berth sync of the unchanged tree"]);
  }
  const w = [34, 18, 26, 10];
  console.log(`\nGitOps sources (issue 11), one run; medians${process.env.BERTH_BENCH_QUICK === "1" ? " (quick mode)" : ""}`);
  console.log(`  ${"".padEnd(w[0]!)}${"berth".padEnd(w[1]!)}${"reference".padEnd(w[2]!)}${"ratio".padStart(w[3]!)}  goal`);
  for (const r of rows) console.log(`  ${r[0].padEnd(w[0]!)}${r[1].padEnd(w[1]!)}${r[2].padEnd(w[2]!)}${r[3].padStart(w[3]!)}  ${r[4]}`);
  if (!failed(commit)) {
    console.log(`    commit: ${commit.rounds.length} rounds (one untimed first) of a ${commit.stack.containers}-container stack on ${commit.stack.network}; ${commit.stack.changed}'s env changed, git add + commit (${ms(commit.commit.medianMs)} after the write), then polled; applied commit on the source ${commit.appliedCommitMatches ? "is" : "is NOT"} the last commit`);
  }
  if (!failed(idle)) console.log(`    idle: ${idle.files} files in ${idle.dirs} dirs (${(idle.bytes / 1024).toFixed(0)} KiB; one container, one volume, the rest commented out), ${idle.settleMs / 1000} s settle, CLK_TCK ${idle.clockTicks}, daemon RSS ${idle.rssMiB ?? "-"} MiB`);
  console.log(`    load average at the start ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}; ${loadLine()}`);
  for (const n of notes) console.log(`    note: ${n}`);
  console.log("");
  for (const g of goals) console.log(`  goal: ${g.name}: ${g.met === null ? "NOT measured" : g.met ? "met" : "NOT met"} (${g.value ?? "-"})`);
  return { options: o, host: { cpus: os.cpus().length, kernel: os.release(), loadAverageStart: loadAtStart.map((l) => Number(l.toFixed(2))), loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) }, commit, idle, goals, notes };
}
