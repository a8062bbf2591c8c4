/**
 * What `berth volume`, `berth network` and `berth container prune` share: `K=V` options,
 * Docker's `--filter` grammar (`key=value`, `key!=value` where Docker takes a negation), the
 * `until` times of prune filters, and the confirmation a prune asks for.
 */
import { createInterface } from "node:readline";
import { canonicalJson } from "../../lib/canonical-json.js";
import { exitCodeOfKind, isBerthError } from "../../lib/errors.js";
import { parseDuration } from "../../lib/units.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";

/** `--label K=V` / `--opt K=V` (repeatable) as a record; a bare `K` is `K=""` (as Docker's --label). */
export function parseKeyValues(items: readonly string[], flag: string, options: { bareAllowed?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf("=");
    if (i === 0 || (i < 0 && !options.bareAllowed)) throw new UsageError(`invalid ${flag} ${JSON.stringify(item)}: expected KEY=VALUE`);
    const key = i < 0 ? item : item.slice(0, i);
    out[key] = i < 0 ? "" : item.slice(i + 1);
  }
  return out;
}

export interface Filter {
  key: string;
  /** `label!=x` is a negated filter (Docker takes `!=` for label in prune filters). */
  negated: boolean;
  value: string;
}

/**
 * `--filter key=value` (repeatable), keys checked against `allowed` (those in `negatable` may
 * also be `key!=value`). Unknown keys are a usage error naming the ones there are, as Docker's
 * "invalid filter".
 */
export function parseFilters(items: readonly string[], allowed: readonly string[], negatable: readonly string[] = []): Filter[] {
  return items.map((item) => {
    const m = /^([a-z_.-]+)(!?=)(.*)$/.exec(item);
    if (!m) throw new UsageError(`invalid filter ${JSON.stringify(item)}: expected key=value`);
    const [, key, op, value] = m as unknown as [string, string, string, string];
    if (!allowed.includes(key)) throw new UsageError(`invalid filter ${JSON.stringify(key)}: this command takes ${allowed.join(", ")}`);
    if (op === "!=" && !negatable.includes(key)) throw new UsageError(`invalid filter ${JSON.stringify(item)}: ${key} takes no !=`);
    return { key, negated: op === "!=", value };
  });
}

/** Docker's label filter: `K` (has the key) or `K=V` (has it with that value); negated: the opposite. */
export function labelMatches(labels: Record<string, string>, f: Filter): boolean {
  const i = f.value.indexOf("=");
  const key = i < 0 ? f.value : f.value.slice(0, i);
  const has = Object.hasOwn(labels, key) && (i < 0 || labels[key] === f.value.slice(i + 1));
  return f.negated ? !has : has;
}

/**
 * All filters of each key must hold, as Docker ANDs different keys; several values of the same
 * key are ORed (`--filter name=a --filter name=b`), except labels, which all must hold.
 */
export function matchesAll(filters: readonly Filter[], test: (f: Filter) => boolean): boolean {
  const byKey = new Map<string, Filter[]>();
  for (const f of filters) byKey.set(f.key, [...(byKey.get(f.key) ?? []), f]);
  for (const [key, fs] of byKey) {
    if (key === "label" || fs.some((f) => f.negated) ? !fs.every(test) : !fs.some(test)) return false;
  }
  return true;
}

/**
 * Docker's `until` filter: an RFC 3339 time, a Unix timestamp in seconds, or a duration
 * (`10m`, `24h`) before `now`. Returns the time in ms; objects created before it match.
 */
export function parseUntil(text: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  try {
    return now - parseDuration(text);
  } catch {
    throw new UsageError(`invalid until filter ${JSON.stringify(text)}: expected a duration such as 24h, an RFC 3339 time or a Unix timestamp`);
  }
}

/** `true|false` of a filter such as `dangling=true`. */
export function booleanFilter(f: Filter): boolean {
  if (f.value === "true" || f.value === "1") return true;
  if (f.value === "false" || f.value === "0") return false;
  throw new UsageError(`invalid filter ${f.key}=${JSON.stringify(f.value)}: expected true or false`);
}

/**
 * Asks `question [y/N]` on a terminal and resolves true for y/yes. Without a terminal on
 * standard input there is nobody to ask: a usage error telling to pass -f (CI runs with no
 * stdin, and a prune must never happen by default there).
 */
export async function confirm(ctx: Pick<CommandContext, "stdin" | "stdout">, verb: string, question: string): Promise<boolean> {
  if (!(ctx.stdin as { isTTY?: boolean }).isTTY) {
    throw new UsageError(`${verb}: standard input is not a terminal, so there is nobody to confirm; pass -f (--force) to ${verb.replace(/^berth /, "")} without asking`);
  }
  ctx.stdout.write(`${question}\nAre you sure you want to continue? [y/N] `);
  const rl = createInterface({ input: ctx.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** The output formats of the ls commands: berth's table, kubectl's -o, Docker's --format json (one object per line). */
/**
 * A prune's removals (volume, network and container prune): each name in turn — one gone
 * since the list is skipped — then Docker's `Deleted Volumes:` list, or `No volumes to
 * prune.`; 1 when any removal failed (each said on stderr), else 0.
 */
export async function removeForPrune(ctx: Pick<CommandContext, "stdout" | "stderr">, names: readonly string[], remove: (name: string) => Promise<unknown>, what: "Volumes" | "Networks" | "Containers"): Promise<number> {
  const deleted: string[] = [];
  let code = 0;
  for (const name of names) {
    try {
      await remove(name);
      deleted.push(name);
    } catch (err) {
      if (isBerthError(err, "NotFound")) continue;
      if (!isBerthError(err)) throw err;
      ctx.stderr.write(`berth: ${err.message}\n`);
      code = 1;
    }
  }
  ctx.stdout.write(deleted.length ? `Deleted ${what}:\n${deleted.map((n) => `${n}\n`).join("")}` : `No ${what.toLowerCase()} to prune.\n`);
  return code;
}

/**
 * `volume rm` / `network rm`: each ref removed in turn and printed; a failure is reported and
 * the rest still run, the exit code the first failure's. With `force` (Docker's -f) a ref that
 * is not there is no error.
 */
export async function removeEach(ctx: Pick<CommandContext, "stdout" | "stderr">, refs: readonly string[], remove: (ref: string) => Promise<unknown>, o: { force: boolean }): Promise<number> {
  let code = 0;
  for (const ref of refs) {
    try {
      await remove(ref);
      ctx.stdout.write(`${ref}\n`);
    } catch (err) {
      if (o.force && isBerthError(err, "NotFound")) continue;
      if (!isBerthError(err)) throw err;
      ctx.stderr.write(`berth: ${err.message}\n`);
      if (code === 0) code = exitCodeOfKind[err.kind];
    }
  }
  return code;
}

export type ListOutput = "table" | "json" | "yaml" | "name";
export const LIST_OUTPUTS: ListOutput[] = ["table", "json", "yaml", "name"];

/** `-o` and Docker's `--format` (table or json) as one choice; both given is a usage error. */
export function listOutput(o: { output?: string; format?: string }): ListOutput | "docker-json" {
  if (o.output !== undefined && o.format !== undefined) throw new UsageError("give either -o/--output or --format");
  if (o.format !== undefined) {
    if (o.format === "json") return "docker-json";
    if (o.format === "table") return "table";
    throw new UsageError(`invalid --format ${JSON.stringify(o.format)}: use table or json (Go templates are not supported)`);
  }
  const out = (o.output ?? "table") as ListOutput;
  if (!LIST_OUTPUTS.includes(out)) throw new UsageError(`invalid output format ${JSON.stringify(o.output)}: use one of ${LIST_OUTPUTS.join(", ")}`);
  return out;
}

/** Labels compared regardless of key order. */
export const sameLabels = (a: Record<string, string>, b: Record<string, string>) => canonicalJson(a) === canonicalJson(b);
