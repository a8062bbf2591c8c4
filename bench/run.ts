/**
 * Runs every benchmark side by side in one process run and writes a JSON summary to
 * bench/results/summary-<timestamp>.json (and latest.json). Usage: npm run bench [-- name...]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchBuildSuite } from "./build/index.js";
import { benchCliStartup } from "./cli-startup.js";
import { benchComposeSuite } from "./compose/index.js";
import { benchController } from "./controller/index.js";
import { benchExec } from "./exec/index.js";
import { benchGitops } from "./gitops/index.js";
import { benchNetwork } from "./network/index.js";
import { benchRuntime } from "./runtime/index.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const benches: Record<string, () => unknown | Promise<unknown>> = {
  "cli-startup": () => benchCliStartup(),
  runtime: () => benchRuntime(),
  controller: () => benchController(),
  network: () => benchNetwork(),
  build: () => benchBuildSuite(),
  gitops: () => benchGitops(),
  compose: () => benchComposeSuite(),
  exec: () => benchExec(),
};

const wanted = process.argv.slice(2);
const summary: Record<string, unknown> = { at: new Date().toISOString(), node: process.version, host: { cpus: (await import("node:os")).cpus().length } };
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length && !wanted.includes(name)) continue;
  summary[name] = await run();
}
const dir = path.join(repo, "bench/results");
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `summary-${Date.now()}.json`);
writeFileSync(file, JSON.stringify(summary, null, 2) + "\n");
writeFileSync(path.join(dir, "latest.json"), JSON.stringify(summary, null, 2) + "\n");
console.log(`\nwrote ${path.relative(repo, file)}`);
