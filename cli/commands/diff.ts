import type { CommandContext } from "../client.js";
import { objectRef } from "../format-status.js";
import { paint } from "../style.js";
import { unifiedDiff, yamlLines } from "../yaml-diff.js";
import { readForApply, reportDiagnostics, type ManifestArgs } from "./apply.js";

export interface DiffOptions extends ManifestArgs {
  prune: boolean;
  allowPrivileged: boolean;
  allowHostBinds?: boolean;
}

/**
 * `berth diff`: a dry-run apply, printed as unified diffs of the objects' YAML (live → applied).
 * Exit codes as kubectl diff: 0 no changes, 1 changes, 2 (or more) errors.
 */
export async function runDiff(ctx: CommandContext, o: DiffOptions): Promise<number> {
  const input = await readForApply(ctx, o);
  if (!input) return 2;
  const res = await ctx.client.apply({ stack: input.stack, files: input.texts, prune: o.prune, dryRun: true, allowPrivileged: o.allowPrivileged, ...(o.allowHostBinds ? { allowHostBinds: true } : {}) });
  if (reportDiagnostics(ctx, res)) return 2;
  const c = paint(ctx.stdout);
  let changed = false;
  for (const d of res.diffs ?? []) {
    const hunks = unifiedDiff(yamlLines(d.before), yamlLines(d.after));
    if (hunks.length === 0) continue;
    changed = true;
    const ref = objectRef(d.kind, d.name);
    const lines = [
      c.bold(`diff ${ref}`),
      c.bold(d.before === undefined ? "--- /dev/null" : `--- ${ref} (live)`),
      c.bold(d.after === undefined ? "+++ /dev/null" : `+++ ${ref} (applied)`),
      ...hunks.map((l) => (l.startsWith("@@") ? c.dim(l) : l.startsWith("-") ? c.red(l) : l.startsWith("+") ? c.green(l) : l)),
    ];
    ctx.stdout.write(`${lines.join("\n")}\n`);
  }
  return changed ? 1 : 0;
}

/**
 * `berth diff NAME` without -f: the pending plan of a watched stack of that name
 * (sources-commands.ts), else the changes of the container of that name to its image.
 */
export async function runDiffOfName(ctx: CommandContext, name: string): Promise<number> {
  const { isBerthError } = await import("../../lib/errors.js");
  const watched = await ctx.client.getSource(name).then(
    () => true,
    (err: unknown) => {
      if (isBerthError(err, "NotFound") || isBerthError(err, "InvalidArgument")) return false;
      throw err;
    },
  );
  if (watched) {
    const { runStackDiff } = await import("./sources-commands.js");
    return runStackDiff(ctx, name);
  }
  const { runContainerDiff } = await import("./container-layer.js");
  return runContainerDiff(ctx, name);
}
