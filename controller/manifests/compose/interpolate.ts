/**
 * Compose variable interpolation, berth's own implementation of the Compose Specification's
 * forms (compose-go `template`): `$$` (a literal `$`), `$NAME`, `${NAME}`, and in braces
 * `:-` / `-` (default when unset or empty / unset), `:?` / `?` (error when unset or empty /
 * unset), `:+` / `+` (replacement when set and non-empty / set). Defaults, replacements and
 * error texts are interpolated themselves, so `${A:-${B:-x}}` nests. A `$` followed by
 * anything else (`$5`, `$ `) is kept as written, as Compose does; `${` that does not form one
 * of the forms is an error. Nothing is ever executed: `$(...)` is text.
 *
 * Errors carry the offset in the string of the `$` that caused them, so that callers can
 * place them in the file.
 */

export type Lookup = (name: string) => string | undefined;

export interface InterpolationError {
  /** Offset of the offending `$` in the input. */
  offset: number;
  message: string;
}

export interface InterpolationResult {
  value: string;
  errors: InterpolationError[];
  /** Names used without a value and without a default: Compose warns and substitutes "". */
  unset: { name: string; offset: number }[];
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Index of the `}` closing the `${` whose body starts at `from`, counting nested `${...}`; -1 when unclosed. */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === "$" && s[i + 1] === "$") {
      i++;
    } else if (c === "$" && s[i + 1] === "{") {
      depth++;
      i++;
    } else if (c === "}") {
      if (--depth === 0) return i;
    }
  }
  return -1;
}

/** Interpolates `s`; `base` is added to every reported offset (nested defaults report where they are). */
export function interpolate(s: string, lookup: Lookup, base = 0): InterpolationResult {
  const errors: InterpolationError[] = [];
  const unset: InterpolationResult["unset"] = [];
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== "$") {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next !== undefined && NAME_START.test(next)) {
      let j = i + 2;
      while (j < s.length && NAME_CHAR.test(s[j]!)) j++;
      const name = s.slice(i + 1, j);
      const v = lookup(name);
      if (v === undefined) unset.push({ name, offset: base + i });
      out += v ?? "";
      i = j;
      continue;
    }
    if (next !== "{") {
      out += "$"; // `$5`, `$-`, a trailing `$`: literal, as Compose keeps it
      i++;
      continue;
    }
    const close = closingBrace(s, i + 2);
    if (close < 0) {
      errors.push({ offset: base + i, message: `invalid interpolation: ${JSON.stringify(s.slice(i))} has no closing '}'` });
      return { value: out, errors, unset };
    }
    const body = s.slice(i + 2, close);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
    if (!m) {
      errors.push({
        offset: base + i,
        message: `invalid interpolation ${JSON.stringify("${" + body + "}")}: expected \${NAME}, \${NAME:-default}, \${NAME-default}, \${NAME:?error}, \${NAME?error}, \${NAME:+replacement} or \${NAME+replacement}`,
      });
      i = close + 1;
      continue;
    }
    const [, name, op, arg = ""] = m as unknown as [string, string, string | undefined, string | undefined];
    const argBase = base + i + 2 + name.length + (op?.length ?? 0);
    const v = lookup(name);
    const set = v !== undefined;
    const nonEmpty = set && v !== "";
    const nested = () => {
      const r = interpolate(arg, lookup, argBase);
      errors.push(...r.errors);
      unset.push(...r.unset);
      return r.value;
    };
    switch (op) {
      case undefined:
        if (!set) unset.push({ name, offset: base + i });
        out += v ?? "";
        break;
      case ":-":
        out += nonEmpty ? v : nested();
        break;
      case "-":
        out += set ? v : nested();
        break;
      case ":+":
        out += nonEmpty ? nested() : "";
        break;
      case "+":
        out += set ? nested() : "";
        break;
      case ":?":
      case "?":
        if (op === ":?" ? !nonEmpty : !set) {
          const reason = nested();
          errors.push({ offset: base + i, message: `required variable ${name} is ${set ? "empty" : "not set"}${reason ? `: ${reason}` : ""}` });
        } else {
          out += v;
        }
        break;
    }
    i = close + 1;
  }
  return { value: out, errors, unset };
}

/** The names `s` refers to (in every branch, also defaults), for knowing which variables a text needs. */
export function referencedNames(s: string): Set<string> {
  const names = new Set<string>();
  const re = /\$(\$|\{?([A-Za-z_][A-Za-z0-9_]*))/g;
  for (let m = re.exec(s); m; m = re.exec(s)) if (m[2]) names.add(m[2]);
  return names;
}
