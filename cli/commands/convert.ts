/**
 * `berth convert -f compose.yaml`: the berth objects a Compose file becomes, as manifests that
 * `berth apply` takes (YAML documents, or a JSON list), and what in it hands a container the
 * host. Runs locally (no daemon), with the same loader as apply, so what it prints is what
 * apply would store. Diagnostics and the host-access list go to stderr, the objects to stdout.
 */
import { stringify } from "yaml";
import type { BerthPaths } from "../../controller/manifests/host-binds.js";
import { loadManifests } from "../../controller/manifests/load.js";
import { printDiagnostics } from "./validate.js";

export interface ConvertOptions {
  filename: string[];
  output: "yaml" | "json";
  projectName?: string;
  profile?: string[];
  allowPrivileged: boolean;
  allowHostBinds?: boolean;
  berthPaths?: Partial<BerthPaths>;
  /** Default process.env: the variables Compose files interpolate. */
  env?: Record<string, string | undefined>;
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown; isTTY?: boolean };
}

/** 0 when converted; 1 when the files have errors or hold no Compose file. */
export async function runConvert(o: ConvertOptions): Promise<number> {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const r = await loadManifests(o.filename, {
    allowPrivileged: o.allowPrivileged,
    allowHostBinds: !!o.allowHostBinds,
    ...(o.berthPaths ? { berthPaths: o.berthPaths } : {}),
    compose: { ...(o.projectName ? { projectName: o.projectName } : {}), ...(o.profile?.length ? { profiles: o.profile } : {}), ...(o.env ? { env: o.env } : {}) },
  });
  printDiagnostics(r.diagnostics, stderr);
  if (r.diagnostics.some((d) => d.severity === "error")) return 1;
  if (!r.composeInputs?.length) {
    stderr.write(`berth: convert ${o.filename.join(", ")}: no Compose file (a mapping with services:)\n`);
    return 1;
  }
  const objects = r.composeInputs;
  if (o.output === "json") stdout.write(JSON.stringify(objects, null, 2) + "\n");
  else stdout.write(objects.map((x) => stringify(x, { lineWidth: 0 })).join("---\n"));
  if (r.hostGrants?.length) {
    stderr.write(`\nstack ${r.composeStack} grants host-level access:\n`);
    for (const g of r.hostGrants) stderr.write(`  ${g.object}: ${g.what}${g.place ? ` (${g.place.file}:${g.place.line}:${g.place.column})` : ""}\n`);
  }
  return 0;
}
