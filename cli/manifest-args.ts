/**
 * Arguments shared by apply, diff and delete: the default stack name, durations, selectors,
 * `KIND NAME` / `KIND/NAME` object references, and `--since`.
 */
import * as path from "node:path";
import { didYouMean } from "../controller/manifests/suggest.js";
import { parseDuration } from "../lib/units.js";
import { kindWords, resolveKind, type Kind } from "../schemas/kinds.js";
import { UsageError } from "./errors.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Lowercase, runs of characters invalid in a DNS label → `-`, trimmed to 63 characters. */
export function sanitizeStackName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/**
 * The stack of an apply without `--stack`: the directory name of the first path when it is a
 * directory, else the file name without its extension; sanitized to a DNS label.
 * UsageError for stdin (`-`) or when nothing usable is left.
 */
export function defaultStackName(firstPath: string, isDirectory: boolean): string {
  if (firstPath === "-") throw new UsageError("reading manifests from standard input needs --stack NAME");
  const abs = path.resolve(firstPath);
  const base = isDirectory ? path.basename(abs) : path.basename(abs, path.extname(abs));
  const name = sanitizeStackName(base);
  if (!name) throw new UsageError(`cannot derive a stack name from ${JSON.stringify(firstPath)}; give one with --stack NAME`);
  return name;
}

export function checkStackName(name: string): string {
  if (!DNS_LABEL.test(name)) throw new UsageError(`invalid stack name ${JSON.stringify(name)}: use lowercase letters, digits and '-', at most 63 characters (e.g. ${JSON.stringify(sanitizeStackName(name) || "web")})`);
  return name;
}

/** `--timeout 5m` → ms; UsageError naming the flag when invalid. */
export function parseTimeout(text: string, flag = "--timeout"): number {
  try {
    return parseDuration(text);
  } catch {
    throw new UsageError(`invalid ${flag} ${JSON.stringify(text)}: expected a duration like 30s, 5m or 1h30m`);
  }
}

/** `-l app=web,tier=front` → {app: "web", tier: "front"}. */
export function parseSelector(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(",")) {
    const i = part.indexOf("=");
    const key = part.slice(0, i).trim();
    if (i <= 0 || !key) throw new UsageError(`invalid selector ${JSON.stringify(text)}: expected key=value[,key=value...]`);
    out[key] = part.slice(i + 1).trim();
  }
  return out;
}

/** A kind word (`container`, `containers`, `ctr`) → Kind; UsageError with a suggestion. */
export function kindArg(word: string): Kind {
  const kind = resolveKind(word);
  if (kind) return kind;
  const guess = didYouMean(word.toLowerCase(), kindWords());
  throw new UsageError(`unknown kind ${JSON.stringify(word)}${guess ? `; did you mean ${JSON.stringify(guess)}?` : ""} (kinds: ${kindWords().join(", ")})`);
}

/**
 * Object references given as `KIND NAME...` or `KIND/NAME...` (kubectl accepts both).
 * UsageError when neither form fits.
 */
export function objectArgs(args: string[]): { kind: Kind; name: string }[] {
  if (args.length === 0) throw new UsageError("name the objects: KIND NAME... or KIND/NAME...");
  if (args.every((a) => a.includes("/"))) {
    return args.map((a) => {
      const [k, n, ...rest] = a.split("/");
      if (!k || !n || rest.length) throw new UsageError(`invalid object ${JSON.stringify(a)}: expected KIND/NAME`);
      return { kind: kindArg(k), name: n };
    });
  }
  const [first, ...names] = args;
  if (args.some((a) => a.includes("/"))) throw new UsageError("give objects either as KIND NAME... or as KIND/NAME..., not both");
  if (names.length === 0) throw new UsageError(`name the ${first} to act on: KIND NAME...`);
  const kind = kindArg(first!);
  return names.map((name) => ({ kind, name }));
}

/**
 * `--since`: a duration back from now (`10m`), an RFC 3339 time, or Unix seconds (docker)
 * → epoch ms.
 */
export function parseSince(text: string, now: number): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Math.floor(Number(text) * 1000);
  try {
    return now - parseDuration(text);
  } catch {
    /* not a duration */
  }
  if (/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$/.test(text)) {
    const t = Date.parse(text.replace(" ", "T"));
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(`invalid --since ${JSON.stringify(text)}: expected a duration (10m, 1h30m), an RFC 3339 time (2024-05-01T10:00:00Z) or Unix seconds`);
}
