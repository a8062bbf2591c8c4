/** The exec benchmark's table on stdout and its JSON summary (what is printed is what is returned). */
import * as os from "node:os";
import { loadLine, type Goal } from "../gitops/report.js";
import { ratio, type Summary } from "../stats.js";
import type { ExecBenchOptions } from "./options.js";
import type { StatsCost } from "./stats-cost.js";

type Failed = { error: string };
export const failed = (x: unknown): x is Failed => typeof x === "object" && x !== null && "error" in x;
const ms = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : `${x.toFixed(1)} ms`);
const xs = (r: number | null | undefined) => (r === null || r === undefined ? "-" : `${r.toFixed(2)}x`);

export const GOAL_RATIO = 1.7;

export interface ExecRows {
  /** Whole-process timings by row name, in the order printed. */
  rows: { name: string; note: string; summary: Summary }[];
  floor: string;
  docker: string;
  berth: string;
}

export interface BerthSplit {
  /** The CLI's own marks (BERTH_EXEC_TIMING=1), medians: process start → the exec command running (Node, commander, the verb's modules), → the exec's answer complete, → the exit. */
  cli: Record<string, number | null>;
  /** The daemon's exec phases (its debug log), medians over every exec of the timed runs. */
  daemonPhasesMs: Record<string, number | null>;
  daemonExecs: number;
}

export function report(
  exec: ExecRows | Failed,
  split: BerthSplit | Failed,
  echo: Record<string, Summary | Failed>,
  stats: StatsCost | Failed,
  versions: Record<string, string>,
  o: ExecBenchOptions,
  notes: string[],
  loadAtStart: number[],
) {
  const goals: Goal[] = [];
  console.log(`\nexec (issue 12), side by side in one run; medians of ${o.runs} whole processes each (after ${o.warmRuns} untimed)${process.env.BERTH_BENCH_QUICK === "1" ? " (quick mode)" : ""}`);
  let berthVsDocker: number | null = null;
  if (failed(exec)) console.log(`  failed: ${exec.error}`);
  else {
    const get = (n: string) => exec.rows.find((r) => r.name === n)?.summary.medianMs ?? null;
    const floor = get(exec.floor);
    const docker = get(exec.docker);
    console.log(`  ${"".padEnd(34)}${"median".padStart(10)}${"min".padStart(10)}${"max".padStart(10)}${"/runc".padStart(8)}${"/docker".padStart(9)}`);
    for (const r of exec.rows) {
      const m = r.summary.medianMs;
      console.log(`  ${r.name.padEnd(34)}${ms(m).padStart(10)}${ms(r.summary.minMs).padStart(10)}${ms(r.summary.maxMs).padStart(10)}${xs(ratio(m, floor)).padStart(8)}${xs(ratio(m, docker)).padStart(9)}  ${r.note}`);
    }
    berthVsDocker = ratio(get(exec.berth), docker);
    goals.push({ name: `berth exec NAME -- true vs docker exec at most ${GOAL_RATIO}x`, target: `≤ ${GOAL_RATIO}x`, value: berthVsDocker, met: berthVsDocker === null ? null : berthVsDocker <= GOAL_RATIO });
  }
  if (failed(split)) console.log(`  berth's split not measured: ${split.error}`);
  else {
    console.log(`  berth exec, the CLI's marks (BERTH_EXEC_TIMING=1, medians):`);
    for (const [k, v] of Object.entries(split.cli)) console.log(`    ${k.padEnd(40)}${ms(v).padStart(10)}`);
    console.log(`  berth exec, the daemon's phases (its debug log, medians over ${split.daemonExecs} execs):`);
    let sum = 0;
    for (const [k, v] of Object.entries(split.daemonPhasesMs)) {
      sum += v ?? 0;
      console.log(`    ${k.padEnd(40)}${ms(v).padStart(10)}`);
    }
    console.log(`    ${"sum".padEnd(40)}${ms(sum).padStart(10)}`);
  }
  console.log(`  exec -it echo round trip (a byte typed on a pty until it is echoed; ${o.echoRounds} bytes each):`);
  for (const [k, v] of Object.entries(echo)) console.log(`    ${k.padEnd(40)}${failed(v) ? `failed: ${v.error}` : `${ms(v.medianMs)} (min ${ms(v.minMs)}, max ${ms(v.maxMs)})`}`);
  if (failed(stats)) console.log(`  stats cost not measured: ${stats.error}`);
  else {
    console.log(`  berth stats, the daemon's CPU (utime+stime) with ${stats.containers} running containers, ${stats.windowS} s windows:`);
    console.log(`    idle ${stats.daemonIdleCpuMsPerS} ms/s, while berth stats streams ${stats.daemonStatsCpuMsPerS} ms/s: ${stats.daemonCpuMsPerContainerS} ms of CPU per container per second (${stats.daemonCpuMsPerContainerS === null ? "-" : (stats.daemonCpuMsPerContainerS / 10).toFixed(3)}% of a core); the CLI itself ${stats.cliCpuMsPerS} ms/s`);
  }
  console.log(`    ${Object.entries(versions).map(([k, v]) => `${k}: ${v}`).join("; ")}`);
  console.log(`    load average at the start ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}; ${loadLine()}`);
  for (const n of notes) console.log(`    note: ${n}`);
  console.log("");
  for (const g of goals) console.log(`  goal: ${g.name}: ${g.met === null ? "NOT measured" : g.met ? "met" : "NOT met"} (${xs(g.value)})`);
  return {
    options: o,
    host: { cpus: os.cpus().length, kernel: os.release(), loadAverageStart: loadAtStart.map((l) => Number(l.toFixed(2))), loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) },
    versions,
    exec,
    berthSplit: split,
    echo,
    stats,
    goals,
    notes,
  };
}
