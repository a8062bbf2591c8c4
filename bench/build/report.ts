/** The build benchmark's table on stdout and its JSON summary (what is printed is what is returned). */
import * as os from "node:os";
import type { UnpackResult } from "../runtime/types.js";
import { ratio } from "../stats.js";
import type { BuildBenchOptions } from "./options.js";
import type { BuildResult, PullResult, UnpackProfile } from "./types.js";

type Failed = { error: string };
const failed = (x: unknown): x is Failed => typeof x === "object" && x !== null && "error" in x;

interface Goal {
  name: string;
  target: number;
  ratio: number | null;
  met: boolean | null;
  against: string;
}

export function report(
  pull: PullResult | Failed,
  build: BuildResult | Failed,
  unpack: { rows: UnpackResult; profile: UnpackProfile } | Failed,
  o: BuildBenchOptions,
  notes: string[],
) {
  const ms = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : `${Math.round(x)} ms`);
  const x = (r: number | null | undefined) => (r === null || r === undefined ? "-" : `${r.toFixed(2)}x`);
  const rows: [string, string, string, string, string][] = [];
  const goals: Goal[] = [];
  const goal = (name: string, target: number, r: number | null, against: string) => {
    goals.push({ name, target, ratio: r, met: r === null ? null : r <= target, against });
    return `≤ ${target}x ${r === null ? "not measured" : r <= target ? "met" : "NOT met"}`;
  };

  if (failed(pull)) rows.push(["pull", `failed: ${pull.error}`, "", "", ""]);
  else {
    const sk = pull.skopeo.available ? pull.skopeo : undefined;
    const what = `pull ${(pull.compressedBytes / 1e6).toFixed(0)} MB, ${pull.layers} layers`;
    rows.push([what, `berth registry.pull ${ms(pull.berth.medianMs)}`, sk ? `skopeo copy ${ms(sk.copy.medianMs)}` : `skopeo: ${(pull.skopeo as { reason: string }).reason}`, x(pull.ratioToSkopeo), goal("pull vs skopeo copy", 1.2, pull.ratioToSkopeo, "skopeo copy docker:// dir:")]);
    rows.push(["  berth's split", `download ${ms(pull.berth.downloadMedianMs)} + unpack ${ms(pull.berth.unpackMedianMs)}`, sk ? `copy + tar -xzf each ${ms(sk.copyPlusUntar.medianMs)}` : "", x(pull.ratioToSkopeoPlusUntar), "(same work as berth's)"]);
  }
  if (failed(build)) rows.push(["build", `failed: ${build.error}`, "", "", ""]);
  else {
    const d = build.docker.available ? build.docker : undefined;
    const k = build.buildkit.available ? build.buildkit : undefined;
    const dockerCell = (v: number | null | undefined, label: string) => (d ? `${label} ${ms(v)}` : `docker: ${(build.docker as { reason: string }).reason}`);
    const bkCell = (v: number | null | undefined) => (k ? `  BuildKit ${ms(v)}` : `  BuildKit: ${(build.buildkit as { reason: string }).reason.slice(0, 80)}`);
    rows.push(["build cold (no cache)", `berth builder ${ms(build.berth.cold.medianMs)}`, dockerCell(d?.cold.medianMs, "docker build --no-cache"), x(build.ratios.cold), goal("cold build vs docker build --no-cache", 1.0, build.ratios.cold, "docker build --no-cache, classic builder")]);
    rows.push(["", "", bkCell(k?.cold.medianMs), x(build.ratios.coldBuildkit), "(for comparison)"]);
    rows.push(["rebuild unchanged, in process", `berth builder ${ms(build.berth.warm.medianMs)}`, dockerCell(d?.warm.medianMs, "docker build (cached)"), x(build.ratios.warm), "(the builder's own cost, no process start)"]);
    rows.push(["", "", bkCell(k?.warm.medianMs), x(build.ratios.warmBuildkit), "(for comparison)"]);
    rows.push(["rebuild unchanged, CLI + daemon", `berth image build ${ms(build.berth.cli.medianMs)}`, dockerCell(d?.warm.medianMs, "docker build (cached)"), x(build.ratios.warmCli), goal("unchanged rebuild (berth image build against the daemon) vs docker's cached", 2, build.ratios.warmCli, "docker build (cached), classic builder: a CLI process against dockerd")]);
    rows.push(["", "", bkCell(k?.warm.medianMs), x(build.ratios.warmCliBuildkit), "(for comparison)"]);
    rows.push(["rebuild unchanged, no daemon", `node+open+build ${ms(build.berth.process.medianMs)}`, dockerCell(d?.warm.medianMs, "docker build (cached)"), x(build.ratios.warmProcess), "(a node process opening the runtime itself: no daemon)"]);
    rows.push(["", "", bkCell(k?.warm.medianMs), x(build.ratios.warmProcessBuildkit), "(for comparison)"]);
  }
  if (failed(unpack)) rows.push(["layer unpack", `failed: ${unpack.error}`, "", "", ""]);
  else {
    const floor = unpack.rows.rows.find((r) => r.name.startsWith("tar -xzf (floor)"));
    const sync = unpack.rows.rows.find((r) => r.name.includes("sync"));
    const b = unpack.rows.rows.find((r) => r.name.startsWith("berth"));
    const r = ratio(b?.medianMs, floor?.medianMs);
    rows.push([`layer unpack ${(unpack.rows.uncompressedBytes / 1e6).toFixed(0)} MB`, `snapshots.unpack ${ms(b?.medianMs)}`, `tar -xzf ${ms(floor?.medianMs)}`, x(r), goal("layer unpack vs tar -xzf", 1.3, r, "tar -xzf")]);
    rows.push(["", "", `tar -xzf + sync -f ${ms(sync?.medianMs)}`, x(ratio(b?.medianMs, sync?.medianMs)), "(berth syncs before commit)"]);
  }

  const w = [32, 40, 38, 7];
  console.log(`\nBuild, pull and unpack (issue 10), side by side in one run; medians${process.env.BERTH_BENCH_QUICK === "1" ? " (quick mode)" : ""}`);
  console.log(`  ${"".padEnd(w[0]!)}${"berth".padEnd(w[1]!)}${"reference".padEnd(w[2]!)}${"ratio".padStart(w[3]!)}  goal`);
  for (const r of rows) console.log(`  ${r[0].padEnd(w[0]!)}${r[1].padEnd(w[1]!)}${r[2].padEnd(w[2]!)}${r[3].padStart(w[3]!)}  ${r[4]}`);

  if (!failed(pull)) {
    console.log(`    pull: ${pull.rounds} rounds each (alternating order), fresh berth root each; berth's pull verifies, unpacks each layer while it downloads, syncs once (sync -f) and commits; skopeo's dir: copy only verifies${pull.skopeo.available ? `; ${pull.skopeo.version}` : ""}`);
  }
  if (!failed(build)) {
    console.log(`    build: context ${build.context.files} files, ${(build.context.bytes / 1e6).toFixed(1)} MB; cold ${o.coldRounds} rounds, rebuild ${o.warmRounds} in process, ${o.processRounds} by the CLI against a daemon and ${o.processRounds} in a node process without one; network none for both`);
    console.log(`    berth: rebuild ${build.berth.warmCached}, ${build.berth.layers} layers; without a daemon: open ${ms(build.berth.process.inChildOpenMs)} + build ${ms(build.berth.process.inChildBuildMs)} inside the process, the rest node's start and module loading`);
    for (const side of [build.docker, build.buildkit]) if (side.available) console.log(`    docker: ${side.version}, ${side.builder}; rebuild ${side.warmCached}, ${side.layers} layers`);
  }
  if (!failed(unpack)) {
    const p = unpack.profile;
    console.log(`\n  where berth's unpack goes (${(p.uncompressedBytes / 1e6).toFixed(0)} MB, ${p.entries} entries; cumulative stages, median of ${Math.max(3, o.unpackReps)}):`);
    for (const s of p.stages) console.log(`    ${s.name.padEnd(40)}${ms(s.medianMs).padStart(9)}   ${s.note}`);
    console.log(`    whiteouts: ${p.whiteouts.count} in a layer: berth ${ms(p.whiteouts.berthMs)} (${p.whiteouts.perWhiteoutMs ?? "-"} ms per whiteout: hard links of one device), tar -xzf ${ms(p.whiteouts.tarMs)}`);
  }
  const load = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(`    host: ${os.cpus().length} CPUs, load average ${load} at the end (other work on the host makes every figure noisier)`);
  for (const n of notes) console.log(`    note: ${n}`);
  console.log("");
  for (const g of goals) console.log(`  goal: ${g.name} ≤ ${g.target}x: ${g.met === null ? "NOT measured" : g.met ? "met" : "NOT met"} (${x(g.ratio)})`);

  return { options: o, host: { cpus: os.cpus().length, kernel: os.release(), loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) }, pull, build, unpack, goals, notes };
}
