/**
 * Go's `time.ParseDuration`, as Docker parses HEALTHCHECK options: a sequence of decimal
 * numbers with a unit each (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`), an optional sign;
 * a lone `0` needs no unit. Returns nanoseconds. InvalidArgument on anything else and on
 * values beyond Go's int64 range.
 */
import { invalidArgument } from "../../../lib/errors.js";

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const PART = /^([0-9]*(?:\.[0-9]*)?)([^0-9.]+)/u;
const MAX_NS = 2 ** 63 - 1;

export function parseGoDuration(text: string): number {
  const bad = () => invalidArgument(`expected a duration like 30s, 1m30s or 500ms, got ${JSON.stringify(text)}`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest[0] === "-" ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw bad();
  let total = 0;
  while (rest !== "") {
    const m = PART.exec(rest);
    const number = m?.[1] ?? "";
    const unit = m === null ? undefined : UNITS[m[2]!];
    if (m === null || unit === undefined || number === "" || number === ".") throw bad();
    total += Number(number) * unit;
    rest = rest.slice(m[0].length);
  }
  if (total > MAX_NS) throw bad();
  return sign * Math.round(total);
}
