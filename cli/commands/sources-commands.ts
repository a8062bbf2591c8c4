/**
 * `berth watch`, `unwatch` and `sync`: GitOps sources, through the daemon (controller/sources/).
 * `berth get stacks` and `berth diff STACK` print what this file formats. Modules beyond
 * commander are imported inside the actions (see main.ts).
 */
import type { Command } from "commander";
import type { HostGrant, ObjectView, SourcePlan, SourceSyncResponse, SourceView, SyncMode } from "../../controller/api/protocol.js";
import type { CommandContext } from "../client.js";
import { clientContext, run } from "./registration.js";

export const HOST_GRANTS: HostGrant[] = ["privileged", "hostBinds", "hostNetwork", "hostPid", "hostIpc"];

export function registerSourceCommands(program: Command): void {
  program
    .command("watch")
    .summary("watch a directory or follow a git remote as a stack (GitOps)")
    .description(
      "Register a source with the daemon: every .yaml/.yml under it (recursively) is one stack, applied again whenever it " +
        "changes (debounced: an editor's save or a checkout of many files is one apply), with pruning unless --no-prune. A " +
        "revision with any error applies nothing: the last good one keeps running and the errors (file:line:col) are on " +
        "`berth get stacks -o yaml` and in `berth events`. With --sync manual each revision's plan waits for `berth diff STACK` " +
        "and `berth sync STACK`. With --git, the daemon keeps its own clone under its root and fetches it every --interval. " +
        "The registration survives daemon restarts. A source may not use privileged containers, host binds, host networking " +
        "or pid/ipc host unless --allow grants it.",
    )
    .argument("[dir]", "the directory to watch")
    .option("--git <url>", "follow this git remote instead (https, ssh, file:// or a path)")
    .option("--branch <name>", "the remote's branch (default: its default branch)")
    .option("--path <subdir>", "the subdirectory of the repository holding the manifests")
    .option("--interval <duration>", "how often the remote is fetched", "1m")
    .option("--stack <name>", "the stack (default: the directory's name, or the repository's)")
    .option("--sync <mode>", "auto (apply each revision) or manual (plan it; berth sync applies)", "auto")
    .option("--no-prune", "never delete objects that left the source")
    .option("--allow <grants>", `host-level access the source may use, comma-separated: ${HOST_GRANTS.join(",")}`)
    .addHelpText(
      "after",
      `
Examples:
  berth watch ./deploy                         stack "deploy", applied on every change
  berth watch ./deploy --stack shop --sync manual
  berth watch --git https://example.com/ops.git --branch main --path shop --interval 30s
  berth watch ./infra --allow hostNetwork`,
    )
    .action(async (dir: string | undefined, opts: WatchOptions, cmd: Command) => {
      await run(runWatch(await clientContext(cmd), dir, opts));
    });

  program
    .command("unwatch")
    .summary("stop watching a stack's source (and delete its objects, unless --keep)")
    .argument("<stack>", "the stack")
    .option("--keep", "leave the stack's objects running", false)
    .action(async (stack: string, opts: { keep: boolean }, cmd: Command) => {
      await run(runUnwatch(await clientContext(cmd), stack, opts));
    });

  program
    .command("sync")
    .summary("apply a watched stack's source now (its pending plan, with --sync manual)")
    .description("Apply the pending revision of a manual source exactly as `berth diff STACK` showed it; otherwise read the source now (fetching a remote) and apply it. Exits 1 when the revision has errors (nothing is applied then).")
    .argument("<stack>", "the stack")
    .action(async (stack: string, _opts: unknown, cmd: Command) => {
      await run(runSync(await clientContext(cmd), stack));
    });
}

export interface WatchOptions {
  git?: string;
  branch?: string;
  path?: string;
  interval: string;
  stack?: string;
  sync: string;
  prune: boolean;
  allow?: string;
}

/** `berth watch`: registers the source; prints what its first revision did. 1 when that revision has errors. */
export async function runWatch(ctx: CommandContext, dir: string | undefined, o: WatchOptions): Promise<number> {
  const [{ UsageError }, path, { checkStackName, defaultStackName, parseTimeout }] = await Promise.all([import("../errors.js"), import("node:path"), import("../manifest-args.js")]);
  if ((dir === undefined) === (o.git === undefined)) throw new UsageError("give a directory or --git URL (exactly one)");
  if (o.sync !== "auto" && o.sync !== "manual") throw new UsageError(`invalid --sync ${JSON.stringify(o.sync)}: use auto or manual`);
  if (dir !== undefined && (o.branch || o.path)) throw new UsageError("--branch and --path go with --git");
  const allow = (o.allow ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const a of allow) if (!HOST_GRANTS.includes(a as HostGrant)) throw new UsageError(`invalid --allow ${JSON.stringify(a)}: use ${HOST_GRANTS.join(", ")}`);
  const stack = o.stack !== undefined ? checkStackName(o.stack) : dir !== undefined ? defaultStackName(dir, true) : defaultStackName(repoName(o.git!, o.path), true);
  const req = {
    stack,
    sync: o.sync as SyncMode,
    prune: o.prune,
    ...(allow.length ? { allow: allow as HostGrant[] } : {}),
    ...(dir !== undefined
      ? { dir: path.resolve(dir) }
      : {
          git: {
            url: /^[a-z][a-z0-9+.-]*:\/\//i.test(o.git!) || /^[^/]+@[^/:]+:/.test(o.git!) ? o.git! : path.resolve(o.git!),
            ...(o.branch ? { branch: o.branch } : {}),
            ...(o.path ? { path: o.path } : {}),
            intervalMs: Math.round(parseTimeout(o.interval, "--interval")),
          },
        }),
  };
  const v = await ctx.client.registerSource(req);
  ctx.stdout.write(`stack/${v.stack} watching ${sourceText(v)} (sync ${v.sync}${v.prune ? "" : ", no prune"})\n`);
  return reportView(ctx, v);
}

export async function runUnwatch(ctx: CommandContext, stack: string, o: { keep: boolean }): Promise<number> {
  const r = await ctx.client.unregisterSource(stack, { keep: o.keep });
  const { objectRef } = await import("../format-status.js");
  for (const c of r.changes) ctx.stdout.write(`${objectRef(c.kind, c.name)} ${c.action}\n`);
  ctx.stdout.write(`stack/${r.stack} no longer watched${r.kept ? "; its objects keep running" : ""}\n`);
  return 0;
}

export async function runSync(ctx: CommandContext, stack: string): Promise<number> {
  const r = await ctx.client.syncSource(stack);
  return reportSync(ctx, r);
}

async function reportSync(ctx: CommandContext, r: SourceSyncResponse): Promise<number> {
  const [{ objectRef }, { formatDiagnostic }] = await Promise.all([import("../format-status.js"), import("../../controller/manifests/diagnostics.js")]);
  if (!r.applied) {
    for (const d of r.diagnostics) ctx.stderr.write(`${formatDiagnostic(d)}\n`);
    ctx.stderr.write(`revision ${revText(r.revision, r.commit)} has errors: nothing was applied\n`);
    return 1;
  }
  for (const c of r.changes) ctx.stdout.write(`${objectRef(c.kind, c.name)} ${c.action}\n`);
  ctx.stdout.write(`stack/${r.stack} synced to revision ${revText(r.revision, r.commit)}${r.changes.length ? "" : " (no changes)"}\n`);
  return 0;
}

/** After `watch`: the first revision's outcome. */
async function reportView(ctx: CommandContext, v: SourceView): Promise<number> {
  const { formatDiagnostic } = await import("../../controller/manifests/diagnostics.js");
  if (v.state === "Invalid" || v.state === "Failed") {
    for (const d of v.errors) ctx.stderr.write(`${formatDiagnostic(d)}\n`);
    ctx.stderr.write(`${v.message ?? v.state}\n`);
    return 1;
  }
  if (v.plan) ctx.stdout.write(`${v.message ?? "a plan waits"}; see \`berth diff ${v.stack}\`\n`);
  else if (v.lastApply) ctx.stdout.write(`revision ${revText(v.lastApply.revision, v.commit)} applied: ${v.lastApply.changes.length} change${v.lastApply.changes.length === 1 ? "" : "s"}\n`);
  return 0;
}

/**
 * `berth diff STACK`: the stack's pending plan (manual mode), else what syncing now would
 * change, as unified diffs. Exit codes as diff: 0 nothing to do, 1 changes, 2 errors.
 */
export async function runStackDiff(ctx: CommandContext, stack: string): Promise<number> {
  const plan: SourcePlan = await ctx.client.sourcePlan(stack);
  const [{ formatDiagnostic }, { objectRef }, { paint }, { unifiedDiff, yamlLines }] = await Promise.all([
    import("../../controller/manifests/diagnostics.js"),
    import("../format-status.js"),
    import("../style.js"),
    import("../yaml-diff.js"),
  ]);
  const errors = plan.diagnostics.filter((d) => d.severity === "error");
  for (const d of plan.diagnostics) ctx.stderr.write(`${formatDiagnostic(d)}\n`);
  if (errors.length) return 2;
  const c = paint(ctx.stdout);
  ctx.stdout.write(`${c.bold(`stack/${stack} revision ${revText(plan.revision, plan.commit)}`)}\n`);
  for (const ch of plan.changes) ctx.stdout.write(`${objectRef(ch.kind, ch.name)} ${ch.action}\n`);
  for (const d of plan.diffs) {
    const hunks = unifiedDiff(yamlLines(d.before), yamlLines(d.after));
    if (hunks.length === 0) continue;
    const ref = objectRef(d.kind, d.name);
    const lines = [
      c.bold(`diff ${ref}`),
      c.bold(d.before === undefined ? "--- /dev/null" : `--- ${ref} (live)`),
      c.bold(d.after === undefined ? "+++ /dev/null" : `+++ ${ref} (${stack} revision ${plan.revision.slice(0, 12)})`),
      ...hunks.map((l) => (l.startsWith("@@") ? c.dim(l) : l.startsWith("-") ? c.red(l) : l.startsWith("+") ? c.green(l) : l)),
    ];
    ctx.stdout.write(`${lines.join("\n")}\n`);
  }
  return plan.changes.length ? 1 : 0;
}

/**
 * `berth get stacks`: every stack — the watched ones with their source, revision (commit,
 * dirty), sync mode, last apply and objects ready/total, and those only applied by hand.
 */
export async function runGetStacks(ctx: CommandContext, output: string): Promise<number> {
  const [sources, { KINDS }, { formatTable }, { age }, { stringify }] = await Promise.all([
    ctx.client.listSources(),
    import("../../schemas/kinds.js"),
    import("../table.js"),
    import("../format-status.js"),
    import("yaml"),
  ]);
  if (output === "json" || output === "yaml") {
    const data = { apiVersion: "berth/v1", kind: "List", items: sources };
    ctx.stdout.write(output === "json" ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 }));
    return 0;
  }
  const watched = new Set(sources.map((s) => s.stack));
  const others = new Map<string, ObjectView[]>();
  for (const kind of KINDS) {
    for (const v of await ctx.client.list(kind)) {
      if (!v.metadata.stack || watched.has(v.metadata.stack)) continue;
      others.set(v.metadata.stack, [...(others.get(v.metadata.stack) ?? []), v]);
    }
  }
  const { isReady } = await import("../../controller/sources/stack-objects.js");
  if (output === "name") {
    for (const s of [...watched, ...others.keys()].sort()) ctx.stdout.write(`stack/${s}\n`);
    return 0;
  }
  if (sources.length === 0 && others.size === 0) {
    ctx.stderr.write("No stacks found.\n");
    return 0;
  }
  const now = ctx.clock.now();
  const rows = [
    ...sources.map((s) => [
      s.stack,
      sourceText(s),
      s.revision ? revText(s.revision, s.commit, s.dirty) : "-",
      s.sync,
      s.state,
      s.lastApply ? `${s.lastApply.result} ${age(s.lastApply.time, now)} ago` : "-",
      `${s.objects.ready}/${s.objects.total}`,
    ]),
    ...[...others].map(([stack, views]) => [stack, "-", "-", "-", "-", "-", `${views.filter(isReady).length}/${views.length}`]),
  ].sort((a, b) => a[0]!.localeCompare(b[0]!));
  ctx.stdout.write(formatTable(["STACK", "SOURCE", "REVISION", "SYNC", "STATE", "LAST APPLY", "READY"], rows));
  for (const s of sources) if (s.errors.length) ctx.stdout.write(`\n${s.stack}: ${s.message ?? "errors"}\n${s.errors.map((d) => `  ${d.file}:${d.line}:${d.column}: ${d.object ? `${d.object}: ` : ""}${d.path ? `${d.path}: ` : ""}${d.message}`).join("\n")}\n`);
  return 0;
}

function sourceText(v: SourceView): string {
  const s = v.source;
  return s.type === "git" ? `${s.url}${s.branch ? `@${s.branch}` : ""}${s.path ? `:${s.path}` : ""}` : s.dir;
}

/** `3f2a9c1e0b7d` or `3f2a9c1e0b7d (commit 1a2b3c4d5e6f, dirty)`. */
function revText(revision: string, commit?: string, dirty?: boolean): string {
  return commit ? `${revision.slice(0, 12)} (commit ${commit.slice(0, 12)}${dirty ? ", dirty" : ""})` : revision.slice(0, 12);
}

/** A stack name for a remote: its last path segment without `.git` (or the --path's). */
function repoName(url: string, sub?: string): string {
  if (sub) return sub.replace(/\/+$/, "");
  const last = url.replace(/\/+$/, "").split(/[/:]/).pop() ?? "";
  return last.replace(/\.git$/, "") || "repo";
}
