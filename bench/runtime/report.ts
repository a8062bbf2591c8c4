/** The runtime benchmark's tables on stdout, and its JSON summary (what is printed is what is returned). */
import * as os from "node:os";
import { round } from "../stats.js";
import type { RuntimeBenchOptions } from "./options.js";
import type { ContenderResult, UnpackResult } from "./types.js";

export function report(results: ContenderResult[], unpack: UnpackResult | { error: string }, o: RuntimeBenchOptions) {
  const floor = results.find((r) => r.name.startsWith("runc run"));
  const berth = results.find((r) => r.name.startsWith("berth"));
  const fmt = (x: number | null | undefined, w: number, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d)).padStart(w);

  console.log(`\nContainer create+start, sequential (busybox \`sleep 3600\`, no network; N=1 is the median of ${o.singleReps})`);
  console.log(`  ${"".padEnd(34)}${o.sizes.map((n) => `N=${n} ms/ctr  ratio`.padStart(21)).join("")}   rm ms/ctr@N=${o.sizes[o.sizes.length - 1]}`);
  for (const r of results) {
    if (!r.available && Object.keys(r.rounds).length === 0) {
      console.log(`  ${r.name.padEnd(34)}not measured: ${r.reason}`);
      continue;
    }
    const cells = o.sizes.map((n) => {
      const x = r.rounds[String(n)];
      const f = floor?.rounds[String(n)];
      return `${fmt(x?.perContainerMs, 12)} ${fmt(x && f ? x.perContainerMs / f.perContainerMs : undefined, 6, 2)}x`;
    });
    const last = r.rounds[String(o.sizes[o.sizes.length - 1])];
    console.log(`  ${r.name.padEnd(34)}${cells.join("")}   ${fmt(last?.removeMsPerContainer, 8)}${r.available ? "" : `  (${r.reason})`}`);
  }
  for (const r of results) if (r.version) console.log(`    ${r.name}: ${r.version}`);
  console.log(`    totals (ms): ${results.filter((r) => r.rounds[String(o.sizes[o.sizes.length - 1])]).map((r) => `${r.name.split(" ")[0]} ${o.sizes.map((n) => fmt(r.rounds[String(n)]?.totalMs, 0, 0).trim()).join("/")}`).join("; ")}`);

  console.log(`\nPer-container memory at N=${o.memoryAt} (mean KiB; monitor = the process watching the container)`);
  console.log(`  ${"".padEnd(34)}${"monitor".padEnd(16)}${"mon RSS".padStart(9)}${"ctr RSS".padStart(9)}${"total RSS".padStart(10)}${"mon PSS".padStart(9)}${"total PSS".padStart(10)}${"RSS over floor".padStart(16)}`);
  const floorMem = floor?.memory?.totalRssKiB;
  for (const r of results) {
    if (!r.memory) continue;
    const m = r.memory;
    console.log(
      `  ${r.name.padEnd(34)}${(m.monitor ?? "(none)").padEnd(16)}${fmt(m.monitorRssKiB, 9, 0)}${fmt(m.containerRssKiB, 9, 0)}${fmt(m.totalRssKiB, 10, 0)}${fmt(m.monitorPssKiB, 9, 0)}${fmt(m.totalPssKiB, 10, 0)}${fmt(floorMem !== undefined ? m.totalRssKiB - floorMem : undefined, 16, 0)}`,
    );
  }

  if ("error" in unpack) console.log(`\nLayer unpack: not measured: ${unpack.error}`);
  else {
    console.log(
      `\nLayer unpack (median of ${unpack.reps}): ${(unpack.uncompressedBytes / 1e6).toFixed(1)} MB uncompressed, ${unpack.files} files + ${unpack.dirs} dirs, ${(unpack.compressedBytes / 1e6).toFixed(1)} MB gzip`,
    );
    for (const r of unpack.rows) console.log(`  ${r.name.padEnd(34)}${fmt(r.medianMs, 8, 0)} ms ${fmt(r.mbPerS, 7)} MB/s ${fmt(r.timeRatio, 6, 2)}x floor time`);
    console.log(`    berth's unpack also hashes the tar (diff ID check) and syncs the layer before commit`);
  }

  const ratios: Record<string, number | null> = {};
  for (const n of o.sizes) {
    const b = berth?.rounds[String(n)];
    const f = floor?.rounds[String(n)];
    ratios[String(n)] = b && f ? round(b.perContainerMs / f.perContainerMs, 2) : null;
  }
  const known = Object.values(ratios).filter((x): x is number => x !== null);
  const worst = known.length === o.sizes.length ? Math.max(...known) : null;
  const met = worst !== null && worst <= 1.5;
  console.log(
    `\n  goal: start latency within 1.5× of the runc floor: ${worst === null ? "NOT measured" : met ? "met" : "NOT met"} (${o.sizes.map((n) => `N=${n} ${ratios[String(n)] ?? "-"}x`).join(", ")}; worst ${worst ?? "-"}x)`,
  );

  return {
    options: o,
    host: { cpus: os.cpus().length, kernel: os.release() },
    startLatency: results.map((r) => ({
      name: r.name,
      available: r.available,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.version ? { version: r.version } : {}),
      rounds: Object.fromEntries(
        Object.entries(r.rounds).map(([n, x]) => [n, { totalMs: round(x.totalMs), perContainerMs: round(x.perContainerMs), removeMsPerContainer: round(x.removeMsPerContainer), ratioToFloor: floor?.rounds[n] ? round(x.perContainerMs / floor.rounds[n]!.perContainerMs, 2) : null }]),
      ),
    })),
    memory: results.filter((r) => r.memory).map((r) => ({ name: r.name, ...r.memory!, overRuncFloorRssKiB: floorMem !== undefined ? round(r.memory!.totalRssKiB - floorMem, 0) : null })),
    unpack,
    goal: { target: 1.5, ratios, worstRatio: worst, met },
  };
}
