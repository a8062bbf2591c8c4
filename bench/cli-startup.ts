/**
 * CLI start-up: `berth --version` and `berth validate` on the examples, against the floor
 * of starting Node itself (`node -e 0`). Prints medians and ratios; returns the JSON summary.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const berth = path.join(repo, "dist/cli/main.js");

function timeRuns(argv: string[], runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { cwd: repo, stdio: "ignore", timeout: 30_000 });
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}`);
    out.push(Number(t1 - t0) / 1e6);
  }
  return out;
}


export function benchCliStartup(runs = 15) {
  timeRuns(["-e", "0"], 2); // warm the page cache
  const floor = median(timeRuns(["-e", "0"], runs));
  const version = median(timeRuns([berth, "--version"], runs));
  const validate = median(timeRuns([berth, "validate", "-f", "examples", "-R"], runs));
  const rows = [
    { name: "node -e 0 (floor)", ms: floor, ratio: 1 },
    { name: "berth --version", ms: version, ratio: version / floor },
    { name: "berth validate -f examples -R", ms: validate, ratio: validate / floor },
  ];
  console.log("\nCLI start-up (median of %d runs)", runs);
  for (const r of rows) console.log(`  ${r.name.padEnd(34)} ${r.ms.toFixed(1).padStart(7)} ms  ${r.ratio.toFixed(2)}x floor`);
  console.log(`  goal: berth --version under 150 ms: ${version < 150 ? "met" : "NOT met"}`);
  return { runs, floorMs: floor, versionMs: version, validateExamplesMs: validate, versionGoalMs: 150, versionGoalMet: version < 150 };
}
