/**
 * Durations ("500ms", "10s", "1m30s", "1h") and sizes ("64Mi", "1G", "512m") as written in
 * manifests. The patterns are exported so the JSON Schemas say exactly what is accepted.
 */

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go-style duration: one or more `<number><unit>` terms, units ns|us|µs|ms|s|m|h. */
export const DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";
const DURATION_TERM = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Parses a duration to milliseconds (may be fractional below 1ms). Throws on bad input. */
export function parseDuration(text: string): number {
  if (!DURATION_RE.test(text)) throw new RangeError(`invalid duration ${JSON.stringify(text)}`);
  let total = 0;
  for (const m of text.matchAll(DURATION_TERM)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return total;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s || (!h && !m) ? `${s}s` : ""}`;
}

/**
 * Sizes. Binary: Ki Mi Gi Ti (and KiB…); decimal SI: k K M G T (and kB MB GB TB); Docker's
 * lowercase b k m g are binary as in `docker run -m 512m` (never Kubernetes' milli); a bare
 * integer is bytes.
 */
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  b: 1,
  Ki: 1024,
  KiB: 1024,
  Mi: 1024 ** 2,
  MiB: 1024 ** 2,
  Gi: 1024 ** 3,
  GiB: 1024 ** 3,
  Ti: 1024 ** 4,
  TiB: 1024 ** 4,
  K: 1000,
  kB: 1000,
  KB: 1000,
  M: 1000 ** 2,
  MB: 1000 ** 2,
  G: 1000 ** 3,
  GB: 1000 ** 3,
  T: 1000 ** 4,
  TB: 1000 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};
export const SIZE_PATTERN = "^[0-9]+(\\.[0-9]+)?(B|b|Ki|KiB|Mi|MiB|Gi|GiB|Ti|TiB|K|kB|KB|M|MB|G|GB|T|TB|k|m|g)?$";
const SIZE_RE = /^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$/;

/** Parses a size to bytes (integer, rounded down). Throws on bad input. */
export function parseSize(text: string | number): number {
  if (typeof text === "number") {
    if (!Number.isInteger(text) || text < 0) throw new RangeError(`invalid size ${text}`);
    return text;
  }
  const m = SIZE_RE.exec(text);
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) throw new RangeError(`invalid size ${JSON.stringify(text)}`);
  return Math.floor(Number(m[1]) * unit);
}

export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)}${units[i]}`;
}
