import { stat } from "node:fs/promises";
import type { ApplyResponse, ChangeEntry } from "../../controller/api/protocol.js";
import type { ManifestText } from "../../controller/manifests/load.js";
import { readManifestInputs } from "../../controller/manifests/load.js";
import { invalidArgument } from "../../lib/errors.js";
import type { CommandContext } from "../client.js";
import { objectRef } from "../format-status.js";
import { checkStackName, defaultStackName, parseTimeout } from "../manifest-args.js";
import { failureMessage, ProgressDisplay, timeoutMessage, waitFor } from "../progress.js";
import { formatDuration } from "../../lib/units.js";
import { UsageError } from "../errors.js";
import { printDiagnostics } from "./validate.js";
import { composeBundleStack } from "../../controller/manifests/compose/bundle.js";

export interface ManifestArgs {
  filename: string[];
  recursive: boolean;
  stack?: string;
  /** Compose's `-p`: the project name (may contain '_'); the stack is it as a berth name. */
  projectName?: string;
  /** Compose profiles to enable (`--profile`). */
  profile?: string[];
}

export interface ApplyOptions extends ManifestArgs {
  prune: boolean;
  dryRun: boolean;
  allowPrivileged: boolean;
  /** Accept bind sources that expose the host (sent only when set, so older daemons still answer). */
  allowHostBinds?: boolean;
  wait: boolean;
  /** Duration text, default 5m. */
  timeout: string;
  /** Poll interval of --wait (tests shorten it). */
  pollMs?: number;
}

/**
 * Reads manifests client-side (so read errors are located here) and names the stack.
 * Returns undefined after printing diagnostics when a file could not be read.
 */
export async function readForApply(ctx: CommandContext, o: ManifestArgs): Promise<{ stack: string; texts: ManifestText[] } | undefined> {
  if (o.stack !== undefined && o.projectName !== undefined && o.stack !== o.projectName) throw new UsageError("--stack and -p/--project-name name the same thing; give one");
  if (o.stack !== undefined) checkStackName(o.stack);
  const projectName = o.projectName ?? o.stack;
  const compose = { ...(projectName ? { projectName } : {}), ...(o.profile?.length ? { profiles: o.profile } : {}) };
  const { texts, diagnostics } = await readManifestInputs(o.filename, { recursive: o.recursive, stdin: ctx.stdin, compose });
  printDiagnostics(diagnostics, ctx.stderr);
  if (diagnostics.some((d) => d.severity === "error")) return undefined;
  if (texts.length === 0) throw invalidArgument(`read manifests ${o.filename.join(", ")}: no manifest files found`);
  // A Compose file names its stack (its project); otherwise the stack is from the first path.
  const composeStack = texts.map((t) => composeBundleStack(t.text)).find((s) => s !== undefined);
  let stack: string;
  if (o.stack !== undefined) stack = o.stack;
  else if (composeStack !== undefined) stack = checkStackName(composeStack);
  else {
    if (o.projectName !== undefined) throw new UsageError("-p/--project-name is for Compose files; use --stack");
    const first = o.filename[0]!;
    const isDir = first !== "-" && (await stat(first).then((s) => s.isDirectory(), () => false));
    stack = defaultStackName(first, isDir);
  }
  return { stack, texts };
}

/** Prints the daemon's diagnostics like `berth validate`; true when there were errors. */
export function reportDiagnostics(ctx: CommandContext, res: ApplyResponse): boolean {
  printDiagnostics(res.diagnostics, ctx.stderr);
  const errors = res.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) {
    const files = new Set(errors.map((d) => d.file)).size;
    ctx.stderr.write(`${errors.length} error${errors.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}\n`);
  }
  return errors.length > 0;
}

export function changeLine(c: ChangeEntry, dryRun: boolean): string {
  return `${objectRef(c.kind, c.name)} ${c.action}${dryRun ? " (dry run)" : ""}`;
}

/**
 * `berth apply`: 0 when applied (and, with --wait, everything became ready); 1 when the
 * manifests have errors, an object failed, or the wait timed out.
 */
export async function runApply(ctx: CommandContext, o: ApplyOptions): Promise<number> {
  if (o.wait && o.dryRun) throw new UsageError("--wait cannot be combined with --dry-run");
  const timeoutMs = parseTimeout(o.timeout);
  const input = await readForApply(ctx, o);
  if (!input) return 1;
  const res = await ctx.client.apply({
    stack: input.stack,
    files: input.texts,
    prune: o.prune,
    dryRun: o.dryRun,
    allowPrivileged: o.allowPrivileged,
    ...(o.allowHostBinds ? { allowHostBinds: true } : {}),
  });
  if (reportDiagnostics(ctx, res)) return 1;
  for (const c of res.changes) ctx.stdout.write(`${changeLine(c, res.dryRun)}\n`);
  if (!o.wait || res.dryRun) return 0;

  const targets = res.changes.filter((c) => c.action !== "deleted").map((c) => ({ kind: c.kind, name: c.name }));
  if (targets.length === 0) return 0;
  const started = ctx.clock.now();
  const display = new ProgressDisplay(ctx.stdout);
  const result = await waitFor(ctx, targets, { condition: "ready", timeoutMs, ...(o.pollMs ? { pollMs: o.pollMs } : {}), onPoll: (s) => display.update(s) });
  if (result.outcome === "failed") {
    for (const s of result.states.filter((x) => x.failed)) ctx.stderr.write(`berth: ${failureMessage(s)}\n`);
    return 1;
  }
  if (result.outcome === "timeout") {
    ctx.stderr.write(`berth: ${timeoutMessage(result.states, timeoutMs, "ready")}\n`);
    return 1;
  }
  const n = targets.length;
  ctx.stdout.write(`${n === 1 ? "1 object" : `${n} objects`} ready in ${formatDuration(ctx.clock.now() - started)}\n`);
  return 0;
}
