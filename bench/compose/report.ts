/** The compose benchmark's table on stdout and its JSON summary (what is printed is what is returned). */
import * as os from "node:os";
import { loadLine, type Goal } from "../gitops/report.js";
import { ratio } from "../stats.js";
import { HEALTH_INTERVAL_MS } from "./compose-file.js";
import type { ComposeBenchOptions } from "./options.js";
import type { VariantResult } from "./up.js";

type Failed = { error: string };
const failed = (x: unknown): x is Failed => typeof x === "object" && x !== null && "error" in x;
const ms = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : `${Math.round(x)} ms`);
const x = (r: number | null | undefined) => (r === null || r === undefined ? "-" : `${r.toFixed(2)}x`);

export interface Versions {
  berth: string;
  docker: string;
  compose: string;
}

export function report(gated: VariantResult | Failed, ungated: VariantResult | Failed | undefined, versions: Versions | undefined, cli: { versionMs: number | null; convertMs: number | null } | undefined, o: ComposeBenchOptions, notes: string[], loadAtStart: number[]) {
  const rows: [string, string, string, string, string][] = [];
  const goals: Goal[] = [];
  const target = 0.25;
  const row = (what: string, v: VariantResult | Failed, isGoal: boolean) => {
    if (failed(v)) {
      rows.push([what, `failed: ${v.error}`, "", "", ""]);
      if (isGoal) goals.push({ name: "compose up of 10 services vs docker-compose up -d at most 0.25x", target: "≤ 0.25x", value: null, met: null });
      return;
    }
    const met = v.ratio === null ? null : v.ratio <= target;
    if (isGoal) goals.push({ name: "compose up of 10 services vs docker-compose up -d at most 0.25x", target: "≤ 0.25x", value: v.ratio, met });
    rows.push([what, `apply --wait ${ms(v.berth.medianMs)}`, `docker-compose up -d ${ms(v.docker.medianMs)}`, x(v.ratio), isGoal ? `≤ ${target}x ${met === null ? "not measured" : met ? "met" : "NOT met"}` : "(the engines' own cost)"]);
    rows.push(["  min / max", `${ms(v.berth.minMs)} / ${ms(v.berth.maxMs)}`, `${ms(v.docker.minMs)} / ${ms(v.docker.maxMs)}`, "", ""]);
    const sp = v.berthSplit;
    rows.push(["  berth: to first Created", ms(sp.toFirstCreatedMs), "", "", "CLI start, read + convert, apply"]);
    rows.push(["  berth: to last Started", `+${ms(sp.toLastStartedMs)}`, "", "", v.gated ? "incl. db and api health waits (1 s interval)" : "10 containers in dependency order"]);
    rows.push(["  berth: to the return", `+${ms(sp.toReturnMs)}`, "", "", "--wait sees it, the CLI exits"]);
  };
  row("10 services, health-gated", gated, true);
  if (ungated) row("10 services, no healthchecks", ungated, false);
  const w = [30, 26, 30, 8];
  console.log(`\nCompose up (issue 11), side by side in one run; medians${process.env.BERTH_BENCH_QUICK === "1" ? " (quick mode)" : ""}`);
  console.log(`  ${"".padEnd(w[0]!)}${"berth".padEnd(w[1]!)}${"reference".padEnd(w[2]!)}${"ratio".padStart(w[3]!)}  goal`);
  for (const r of rows) console.log(`  ${r[0].padEnd(w[0]!)}${r[1].padEnd(w[1]!)}${r[2].padEnd(w[2]!)}${r[3].padStart(w[3]!)}  ${r[4]}`);
  if (!failed(gated) && gated.berth.medianMs !== null && gated.docker.medianMs !== null) {
    const floor = 2 * HEALTH_INTERVAL_MS;
    console.log(`    gated: both sides wait at least ${floor} ms for probes (db's first probe an interval after it starts, then api's: moby's schedule, which berth follows); beyond it berth ${ms(gated.berth.medianMs - floor)} vs docker-compose ${ms(gated.docker.medianMs - floor)} (${x(ratio(gated.berth.medianMs - floor, gated.docker.medianMs - floor))})`);
  }
  for (const v of [gated, ungated]) {
    if (!v || failed(v)) continue;
    console.log(`    ${v.gated ? "gated" : "ungated"}: berth waits for ${v.waitsFor.berth}; docker-compose for ${v.waitsFor.docker}`);
  }
  console.log(`    ${o.rounds} timed rounds per side and variant (one untimed first), alternating which side goes first; each timed from the command's start to its return (both CLI processes), checked after; torn down between rounds (berth delete -f until no container, network or volume is left; docker-compose down -v)`);
  if (cli) console.log(`    berth CLI alone: --version ${ms(cli.versionMs)} (node's start), convert -f of the gated file ${ms(cli.convertMs)} (read, interpolate, validate against the Compose schema, convert): part of "to first Created"`);
  if (versions) console.log(`    ${versions.berth}; ${versions.compose} against a private dockerd ${versions.docker} (no iptables, its own bridges for the file's networks)`);
  console.log(`    load average at the start ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}; ${loadLine()}`);
  for (const n of notes) console.log(`    note: ${n}`);
  console.log("");
  for (const g of goals) console.log(`  goal: ${g.name}: ${g.met === null ? "NOT measured" : g.met ? "met" : "NOT met"} (${x(g.value)})`);
  return { options: o, host: { cpus: os.cpus().length, kernel: os.release(), loadAverageStart: loadAtStart.map((l) => Number(l.toFixed(2))), loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) }, versions: versions ?? null, cli: cli ?? null, gated, ungated: ungated ?? null, goals, notes };
}
