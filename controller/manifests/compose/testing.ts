import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { formatDiagnostic } from "../diagnostics.js";
import { loadManifests, type ComposeOptions, type LoadOptions, type LoadResult } from "../load.js";

/** A fresh project directory `<tmp>/<dir>` holding `files` (relative paths). */
export function projectDir(files: Record<string, string>, dir = "shop"): string {
  const root = path.join(mkdtempSync(path.join(tmpdir(), "berth-compose-")), dir);
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
