import { invalidArgument } from "../../../lib/errors.js";

/**
 * Go's `path/filepath.Match` on Linux, which Docker uses to expand COPY/ADD sources.
 *
 * Pattern syntax (exactly Go's, nothing more):
 *   `*`        any run of characters other than `/` (so it never crosses a directory)
 *   `?`        one character other than `/`
 *   `[...]`    a non-empty class of characters and `lo-hi` ranges; `[^...]` negates it.
 *              `!` is NOT a negation (Go differs from POSIX fnmatch here): `[!a]` matches
 *              `!` or `a`, as it does in Docker.
 *   `\c`       the character c literally, inside and outside classes
 * There are no braces, no extglobs and no `**` (it is just two `*`).
 *
 * Contract: `matchPath` answers whether the whole `name` matches; a malformed pattern is an
 * InvalidArgument error naming the pattern (Go's ErrBadPattern). Like Go, a pattern is
 * checked to its end even when the name already failed to match, so a bad pattern is
 * reported whatever name it is tried on. Characters are compared as Unicode code points
 * (Go compares runes of UTF-8), so `?` takes one code point, never half a surrogate pair.
 * Pure; no file system access.
 */

/** Whether `pattern` contains characters that `matchPath` treats specially (Go's hasMeta). */
export function hasGlobMeta(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/** Whether `name` matches all of `pattern`. Throws InvalidArgument for a malformed pattern. */
export function matchPath(pattern: string, name: string): boolean {
  const result = match(Array.from(pattern), Array.from(name));
  if (result === "bad") throw badPattern(pattern);
  return result;
}

/** Throws InvalidArgument unless `pattern` is well formed. */
export function checkPattern(pattern: string): void {
  matchPath(pattern, "");
}

function badPattern(pattern: string): Error {
  return invalidArgument(`match ${JSON.stringify(pattern)}: syntax error in pattern`, {
    object: { kind: "pattern", name: pattern },
  });
}

type Chars = string[];
type Outcome = boolean | "bad";

function match(pattern: Chars, name: Chars): Outcome {
  let pat = pattern;
  let rest = name;
  outer: while (pat.length > 0) {
    const { star, chunk, tail } = scanChunk(pat);
    pat = tail;
    if (star && chunk.length === 0) {
      // A trailing star matches the rest of the name unless it has a `/`.
      return !rest.includes("/");
    }
    const first = matchChunk(chunk, rest);
    if (first === "bad") return "bad";
    if (first !== false && (first.length === 0 || pat.length > 0)) {
      rest = first;
      continue;
    }
    if (star) {
      // Retry the chunk after skipping 1..n characters, never skipping a `/`.
      for (let i = 0; i < rest.length && rest[i] !== "/"; i++) {
        const t = matchChunk(chunk, rest.slice(i + 1));
        if (t === "bad") return "bad";
        if (t !== false) {
          if (pat.length === 0 && t.length > 0) continue;
          rest = t;
          continue outer;
        }
      }
    }
    // No match: still check that the rest of the pattern is well formed.
    while (pat.length > 0) {
      const next = scanChunk(pat);
      pat = next.tail;
      if (matchChunk(next.chunk, []) === "bad") return "bad";
    }
    return false;
  }
  return rest.length === 0;
}

/** Splits off leading stars and the chunk up to the next star outside a class. */
function scanChunk(pattern: Chars): { star: boolean; chunk: Chars; tail: Chars } {
  let start = 0;
  while (start < pattern.length && pattern[start] === "*") start++;
  let inRange = false;
  let i = start;
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case "\\":
        // A trailing backslash is reported by matchChunk.
        if (i + 1 < pattern.length) i++;
        break;
      case "[":
        inRange = true;
        break;
      case "]":
        inRange = false;
        break;
      case "*":
        if (!inRange) break scan;
        break;
    }
  }
  return { star: start > 0, chunk: pattern.slice(start, i), tail: pattern.slice(i) };
}

/**
 * Matches one star-free chunk at the start of `s`: the unmatched rest of `s`, false when it
 * does not match, "bad" when the chunk is malformed. After a failure the chunk is still
 * parsed to the end, so syntax errors are found whatever `s` is.
 */
function matchChunk(chunk: Chars, input: Chars): Chars | false | "bad" {
  let c = 0;
  let s = 0;
  let failed = false;
  while (c < chunk.length) {
    if (!failed && s >= input.length) failed = true;
    const ch = chunk[c];
    if (ch === "[") {
      const r = failed ? "" : input[s++]!;
      c++;
      let negated = false;
      if (chunk[c] === "^") {
        negated = true;
        c++;
      }
      let matched = false;
      let ranges = 0;
      for (;;) {
        if (chunk[c] === "]" && ranges > 0) {
          c++;
          break;
        }
        const lo = getEscaped(chunk, c);
        if (lo === "bad") return "bad";
        c = lo.next;
        let hi = lo;
        if (chunk[c] === "-") {
          const h = getEscaped(chunk, c + 1);
          if (h === "bad") return "bad";
          hi = h;
          c = h.next;
        }
        if (!failed) {
          const cp = r.codePointAt(0)!;
          if (lo.cp <= cp && cp <= hi.cp) matched = true;
        }
        ranges++;
      }
      if (matched === negated) failed = true;
    } else if (ch === "?") {
      if (!failed) {
        if (input[s] === "/") failed = true;
        s++;
      }
      c++;
    } else {
      if (ch === "\\") {
        c++;
        if (c >= chunk.length) return "bad";
      }
      if (!failed) {
        if (chunk[c] !== input[s]) failed = true;
        s++;
      }
      c++;
    }
  }
  return failed ? false : input.slice(s);
}

/** One (possibly escaped) character of a class, as Go's getEsc. */
function getEscaped(chunk: Chars, at: number): { cp: number; next: number } | "bad" {
  let i = at;
  const first = chunk[i];
  if (first === undefined || first === "-" || first === "]") return "bad";
  if (first === "\\") {
    i++;
    if (i >= chunk.length) return "bad";
  }
  const cp = chunk[i]!.codePointAt(0)!;
  i++;
  // A class must be closed: running out of pattern here is malformed.
  if (i >= chunk.length) return "bad";
  return { cp, next: i };
}
