/**
 * Located errors of the Dockerfile frontend: InvalidArgument BerthErrors whose message starts
 * with `<file>:<line>:<col>: ` (1-based), and the "did you mean" suggestion they carry.
 */
import { invalidArgument, type BerthError } from "../../../lib/errors.js";
import type { Position } from "./types.js";

export function locatedError(file: string, at: Position, message: string, cause?: unknown): BerthError {
  return invalidArgument(`${file}:${at.line}:${at.column}: ${message}`, cause === undefined ? undefined : { cause });
}

/** Runs `fn`; an error it throws is rethrown located at `at` (its message kept as the cause). */
export function locate<T>(file: string, at: Position, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw locatedError(file, at, err instanceof Error ? err.message : String(err), err);
  }
}

/** Edit distance counting an adjacent transposition as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The nearest candidate (case-insensitive) within a third of the word's length (1 to 3 edits). */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestD = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/** `; did you mean "X"?` or nothing. */
export function suggestion(word: string, candidates: readonly string[]): string {
  const n = nearest(word, candidates);
  return n === undefined ? "" : `; did you mean ${JSON.stringify(n)}?`;
}
