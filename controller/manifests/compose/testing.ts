import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { afterAll } from "vitest";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { formatDiagnostic } from "../diagnostics.js";
import { loadManifests, type ComposeOptions, type LoadOptions, type LoadResult } from "../load.js";

/** The temp directories projectDir made in this test file, removed after its tests. */
const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh project directory `<tmp>/<dir>` holding `files` (relative paths); removed after the test file. */
export function projectDir(files: Record<string, string>, dir = "shop"): string {
  const top = mkdtempSync(path.join(tmpdir(), "berth-compose-"));
  made.push(top);
  const root = path.join(top, dir);
  for (const [rel, text] of Object.entries(files)) {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  mkdirSync(root, { recursive: true });
  return root;
}

/** Loads `<dir>/compose.yaml` as `berth apply` does (the CLI's reader, then the daemon's loader). */
export async function loadProject(dir: string, compose: ComposeOptions = {}, options: LoadOptions = {}, file = "compose.yaml"): Promise<LoadResult & { messages: string[] }> {
  const r = await loadManifests([path.join(dir, file)], { ...options, compose: { env: {}, ...compose } });
  return { ...r, messages: r.diagnostics.map((d) => formatDiagnostic(d).replaceAll(dir + "/", "")) };
}
