/** Small helpers every benchmark uses: time, waiting, and summary statistics. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Monotonic milliseconds. */
export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Rounded for reports; null for missing or non-finite values (JSON has no NaN). */
export const round = (x: number | undefined | null, d = 1) => (x !== undefined && x !== null && Number.isFinite(x) ? Number(x.toFixed(d)) : null);

/** The median of the finite samples (the mean of the middle two for an even count); NaN when none. */
export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The mean of the finite samples; NaN when none. */
export const mean = (xs: number[]) => {
  const s = xs.filter(Number.isFinite);
  return s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
};

/** A timing summary for the JSON report: finite samples only in n/median/min/max; every sample rounded. */
export interface Summary {
  n: number;
  medianMs: number | null;
  minMs: number | null;
  maxMs: number | null;
  samplesMs: (number | null)[];
}

export function summarize(xs: number[]): Summary {
  const f = xs.filter(Number.isFinite);
  return {
    n: f.length,
    medianMs: round(median(f)),
    minMs: f.length ? round(Math.min(...f)) : null,
    maxMs: f.length ? round(Math.max(...f)) : null,
    samplesMs: xs.map((x) => round(x)),
  };
}

/** a / b to two places; null when either is missing or b is not positive. */
export const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? round(a / b, 2) : null);

/** 0, 1, …, n-1. */
export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
