/**
 * Line diffs of objects' YAML forms for `berth diff`: unified format (`@@ -a,b +c,d @@` hunks
 * with context), computed by longest common subsequence after trimming the common ends.
 */
import { stringify } from "yaml";

export type DiffOp = { op: " " | "-" | "+"; line: string };

/** YAML of a value for diffing; `undefined` (object absent) is no lines at all. */
export function yamlLines(value: unknown): string[] {
  if (value === undefined) return [];
  const text = stringify(value, { lineWidth: 0 });
  return text.replace(/\n$/, "").split("\n");
}

/** Bound on the LCS table (cells); above it the middle is shown as replaced wholesale. */
const MAX_CELLS = 4_000_000;

/** The edit script turning `a` into `b`, line by line. */
export function diffLines(a: string[], b: string[]): DiffOp[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: DiffOp[] = a.slice(0, start).map((line) => ({ op: " ", line }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  if (n * m > MAX_CELLS) {
    ops.push(...midA.map((line) => ({ op: "-" as const, line })), ...midB.map((line) => ({ op: "+" as const, line })));
  } else {
    // lcs[i][j] = LCS length of midA[i..] and midB[j..], in one flat array
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = midA[i] === midB[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ op: " ", line: midA[i]! });
        i++;
        j++;
      } else if (j === m || (i < n && lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        // removals before additions within a change
        ops.push({ op: "-", line: midA[i]! });
        i++;
      } else {
        ops.push({ op: "+", line: midB[j]! });
        j++;
      }
    }
  }
  ops.push(...a.slice(endA).map((line) => ({ op: " " as const, line })));
  return ops;
}

/** Unified diff hunks (without file headers); empty when the inputs are equal. */
export function unifiedDiff(a: string[], b: string[], context = 3): string[] {
  const ops = diffLines(a, b);
  const changed = ops.map((o, i) => (o.op === " " ? -1 : i)).filter((i) => i >= 0);
  if (changed.length === 0) return [];
  // group changes whose context windows touch into hunks
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const lo = Math.max(0, i - context);
    const hi = Math.min(ops.length - 1, i + context);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = hi;
    else hunks.push([lo, hi]);
  }
  // line numbers (1-based) in a and b at each op index
  const posA: number[] = [];
  const posB: number[] = [];
  let la = 1;
  let lb = 1;
  for (const o of ops) {
    posA.push(la);
    posB.push(lb);
    if (o.op !== "+") la++;
    if (o.op !== "-") lb++;
  }
  const out: string[] = [];
  for (const [lo, hi] of hunks) {
    const slice = ops.slice(lo, hi + 1);
    const countA = slice.filter((o) => o.op !== "+").length;
    const countB = slice.filter((o) => o.op !== "-").length;
    // unified format: a range of zero lines names the line before it
    const startA = countA === 0 ? posA[lo]! - 1 : posA[lo]!;
    const startB = countB === 0 ? posB[lo]! - 1 : posB[lo]!;
    out.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const o of slice) out.push(`${o.op}${o.line}`);
  }
  return out;
}
