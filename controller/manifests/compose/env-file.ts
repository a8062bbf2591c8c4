/**
 * `.env` and `env_file` files, as Compose reads them: dotenv's `parse()` for the syntax
 * (`KEY=value`, `export KEY=value`, quotes, comments, multi-line double quotes), then berth's
 * own interpolation of values that are unquoted or double-quoted (single-quoted ones are
 * literal), looking up keys set earlier in the same file before `lookup`. No command is ever
 * run: dotenv-expand is not used.
 */
import { parse } from "dotenv";
import { interpolate, type Lookup } from "./interpolate.js";

export interface EnvFileEntry {
  name: string;
  value: string;
  /** 1-based line of the key. */
  line: number;
}

export interface EnvFileResult {
  entries: EnvFileEntry[];
  errors: { line: number; column: number; message: string }[];
}

const LINE_RE = /^[ \t]*(?:export[ \t]+)?([\w.-]+)[ \t]*[=:][ \t]*(['"`]?)/;

export function parseEnvFile(text: string, lookup: Lookup): EnvFileResult {
  const parsed = parse(text);
  // Where each key is written and how its value is quoted (the last assignment wins, as in parse()).
  const where = new Map<string, { line: number; column: number; quote: string }>();
  text.split(/\r?\n/).forEach((l, i) => {
    const m = LINE_RE.exec(l);
    if (m) where.set(m[1]!, { line: i + 1, column: m[0].length + 1 - m[2]!.length, quote: m[2]! });
  });
  const seen = new Map<string, string>();
  const entries: EnvFileEntry[] = [];
  const errors: EnvFileResult["errors"] = [];
  const ordered = Object.keys(parsed).sort((a, b) => (where.get(a)?.line ?? 0) - (where.get(b)?.line ?? 0));
  for (const name of ordered) {
    const raw = parsed[name]!;
    const w = where.get(name) ?? { line: 0, column: 0, quote: "" };
    let value = raw;
    if (w.quote !== "'" && raw.includes("$")) {
      const r = interpolate(raw, (n) => seen.get(n) ?? lookup(n));
      for (const e of r.errors) errors.push({ line: w.line, column: w.column + e.offset + (w.quote ? 1 : 0), message: e.message });
      value = r.value;
    }
    seen.set(name, value);
    entries.push({ name, value, line: w.line });
  }
  return { entries, errors };
}
