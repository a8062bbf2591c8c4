import { promises as fs } from "node:fs";
import { systemClock, type Clock } from "../../lib/clock.js";
import type { LogLine, LogOptions } from "../types.js";

/**
 * Container logs in conmon's k8s-file format, one record per line:
 *   `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`
 * (F = the line ended with a newline, P = a partial line conmon flushed without one).
 *
 * Rotation. conmon enforces `--log-size-max` by truncation: when a write would exceed the
 * cap it creates `<log>.tmp` and renames it over `<log>` — the old content is simply
 * dropped (podman behaves the same). berth keeps one previous generation on top of that,
 * podman-compatibly (conmon still owns the file): a hard link `<log>.link` always points at
 * the inode conmon writes. When `keepRotated` sees `<log>` is a different inode, the old
 * one (complete, since the link kept it alive) becomes `<log>.1` and the link moves to the
 * new file. So disk use stays ≤ 2 × cap, and `logs()` reads `<log>.1` then `<log>`. Only
 * when conmon rotates twice between two checks is the middle generation lost.
 */

const LINE_RE = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/s;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of an RFC 3339 timestamp with up to nanosecond precision; NaN if malformed. */
export function parseRfc3339(text: string): number {
  const m = TIME_RE.exec(text);
  if (!m) return NaN;
  const ms = Number(((m[7] ?? "") + "000").slice(0, 3));
  let t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  const off = m[8]!;
  if (off !== "Z") {
    const sign = off[0] === "-" ? -1 : 1;
    t -= sign * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6))) * 60_000;
  }
  return t;
}

/** Parses one k8s-file line (without its trailing newline); undefined when malformed. */
export function parseLogLine(line: string): LogLine | undefined {
  const m = LINE_RE.exec(line);
  if (!m || Number.isNaN(parseRfc3339(m[1]!))) return undefined;
  return { time: m[1]!, stream: m[2] as "stdout" | "stderr", full: m[3] === "F", text: m[4]! };
}

/** Formats a line the way conmon does (used by tests and fakes). */
export function formatLogLine(line: LogLine): string {
  return `${line.time} ${line.stream} ${line.full ? "F" : "P"} ${line.text}\n`;
}

function parseAll(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split("\n")) {
    const p = l ? parseLogLine(l) : undefined;
    if (p) out.push(p);
  }
  return out;
}

async function inode(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).ino;
  } catch {
    return undefined;
  }
}

/**
 * Keeps the previous log generation (see the file comment). Idempotent, safe to call at any
 * time from one process; concurrent callers in different processes may lose a generation.
 */
export async function keepRotated(logPath: string): Promise<void> {
  const link = `${logPath}.link`;
  const [cur, linked] = await Promise.all([inode(logPath), inode(link)]);
  if (cur === undefined || cur === linked) return;
  if (linked !== undefined) await fs.rename(link, `${logPath}.1`);
  try {
    await fs.link(logPath, link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST" && (err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Files holding the log, oldest first. */
export async function logFiles(logPath: string): Promise<string[]> {
  const out: string[] = [];
  if ((await inode(`${logPath}.1`)) !== undefined) out.push(`${logPath}.1`);
  const [cur, linked] = await Promise.all([inode(logPath), inode(`${logPath}.link`)]);
  if (linked !== undefined && linked !== cur) out.push(`${logPath}.link`);
  if (cur !== undefined) out.push(logPath);
  return out;
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, "utf8");
  } catch {
    return "";
  }
}

export interface FollowOptions extends LogOptions {
  /** Resolves true while the container may still write (following continues). */
  isRunning?: () => Promise<boolean>;
  clock?: Clock;
  pollMs?: number;
}

/**
 * Yields log lines, oldest first: `since` (epoch ms) filters, `tail` keeps the last N of
 * what is left, `follow` then yields new lines until the container stops (after a final
 * drain) or the signal aborts. Rotation while following is detected by inode change.
 */
export async function* readLogs(logPath: string, options: FollowOptions = {}): AsyncGenerator<LogLine> {
  const { since, tail, follow, signal } = options;
  const clock = options.clock ?? systemClock;
  const keep = (l: LogLine) => since === undefined || parseRfc3339(l.time) >= since;

  if (!follow) {
    await keepRotated(logPath).catch(() => {});
    let lines: LogLine[] = [];
    for (const f of await logFiles(logPath)) lines.push(...parseAll(await readText(f)).filter(keep));
    if (tail !== undefined) lines = tail <= 0 ? [] : lines.slice(-tail);
    yield* lines;
    return;
  }

  // Follow: hold a descriptor on the current file so bytes written after our first read
  // are not missed, and notice rotation by the path pointing at a new inode.
  let fh = await fs.open(logPath, "r").catch(() => undefined);
  let pos = 0;
  let partial = "";
  const older: LogLine[] = [];
  for (const f of await logFiles(logPath)) if (f !== logPath) older.push(...parseAll(await readText(f)).filter(keep));

  async function drain(): Promise<LogLine[]> {
    if (!fh) return [];
    const out: LogLine[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      partial += buf.subarray(0, bytesRead).toString("utf8");
      const nl = partial.lastIndexOf("\n");
      if (nl >= 0) {
        out.push(...parseAll(partial.slice(0, nl)).filter(keep));
        partial = partial.slice(nl + 1);
      }
    }
    return out;
  }

  try {
    let first = [...older, ...(await drain())];
    if (tail !== undefined) first = tail <= 0 ? [] : first.slice(-tail);
    yield* first;
    for (;;) {
      if (signal?.aborted) return;
      const running = options.isRunning ? await options.isRunning() : false;
      yield* await drain();
      const st = await fs.stat(logPath).catch(() => undefined);
      const cur = fh ? await fh.stat() : undefined;
      if (st && (!cur || st.ino !== cur.ino)) {
        yield* await drain();
        await fh?.close();
        fh = await fs.open(logPath, "r").catch(() => undefined);
        pos = 0;
        partial = "";
        yield* await drain();
      }
      if (!running) {
        yield* await drain();
        return;
      }
      try {
        await clock.sleep(options.pollMs ?? 200, signal);
      } catch {
        return;
      }
    }
  } finally {
    await fh?.close();
  }
}
