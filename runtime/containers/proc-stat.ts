import { promises as fs } from "node:fs";

/**
 * Facts about one host process from /proc/<pid>/{stat,status,cmdline}, as `ps` reads them
 * (procps' readproc.c, proc(5)). Pure parsers plus one reader; used by `berth top` (top.ts),
 * so it works for images that have no `ps` of their own — the files are the host's.
 */

/** USER_HZ: the unit of /proc/<pid>/stat's times. 100 on every Linux architecture berth runs on (x86-64, arm64). */
export const USER_HZ = 100;

export interface ProcStat {
  pid: number;
  /** Field 2, without its parentheses (may contain spaces and parentheses itself). */
  comm: string;
  /** R, S, D, Z, T, t, X, I. */
  state: string;
  ppid: number;
  /** User and system time, clock ticks (USER_HZ). */
  utime: number;
  stime: number;
  numThreads: number;
  /** Start time, clock ticks since boot. */
  startTime: number;
  /** Resident set size, pages. */
  rssPages: number;
}

/**
 * Parses /proc/<pid>/stat. The comm field is cut at the last `)` (a process can name itself
 * `a) b`); undefined when the text is not a stat line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).trim().split(" ");
  // f[0] is field 3 (state): field n is f[n - 3].
  if (!Number.isInteger(pid) || f.length < 22) return undefined;
  const n = (field: number) => Number(f[field - 3]);
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: f[0]!,
    ppid: n(4),
    utime: n(14),
    stime: n(15),
    numThreads: n(20),
    startTime: n(22),
    rssPages: n(24),
  };
}

export interface ProcStatus {
  /** Real, effective, saved and filesystem uids. */
  uids: [number, number, number, number];
  gids: [number, number, number, number];
  tgid?: number;
}

/** The Uid, Gid and Tgid lines of /proc/<pid>/status; undefined when they are missing. */
export function parseProcStatus(text: string): ProcStatus | undefined {
  const ids = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, "m").exec(text);
    return m ? ([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as [number, number, number, number]) : undefined;
  };
  const uids = ids("Uid");
  const gids = ids("Gid");
  if (!uids || !gids) return undefined;
  const tgid = /^Tgid:\s+(\d+)\s*$/m.exec(text);
  return { uids, gids, ...(tgid ? { tgid: Number(tgid[1]) } : {}) };
}

/** /proc/<pid>/cmdline: NUL-separated argv (the last NUL optional); empty for kernel threads and zombies. */
export function parseCmdline(bytes: Buffer): string[] {
  const text = bytes.toString("utf8");
  if (text === "") return [];
  return (text.endsWith("\0") ? text.slice(0, -1) : text).split("\0");
}

/** `ps`'s CMD: the argv joined by spaces, or `[comm]` when there is none (as procps shows a kernel thread or zombie). */
export function commandOf(argv: string[], comm: string): string {
  const joined = argv.join(" ").replace(/[\x00-\x1f\x7f]/g, "?");
  return joined.trim() === "" ? `[${comm}]` : joined;
}

/** `ps`'s TIME: cumulative CPU time as `[DD-]HH:MM:SS` from clock ticks (procps' "time" format). */
export function formatCpuTime(ticks: number, hz = USER_HZ): string {
  let s = Math.floor(ticks / hz);
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hh = String(Math.floor(s / 3600)).padStart(2, "0");
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${days > 0 ? `${days}-` : ""}${hh}:${mm}:${ss}`;
}

/** uid → name from an /etc/passwd text (the host's: `ps` on the host shows host names). */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || !/^\d+$/.test(f[2]!)) continue;
    const uid = Number(f[2]);
    if (!out.has(uid)) out.set(uid, f[0]!);
  }
  return out;
}

export interface ProcessInfo {
  stat: ProcStat;
  status: ProcStatus;
  argv: string[];
}

/** Reads one process's stat, status and cmdline; undefined when it is gone (or became unreadable) meanwhile. */
export async function readProcess(pid: number, procRoot = "/proc"): Promise<ProcessInfo | undefined> {
  try {
    const [stat, status, cmdline] = await Promise.all([
      fs.readFile(`${procRoot}/${pid}/stat`, "utf8"),
      fs.readFile(`${procRoot}/${pid}/status`, "utf8"),
      fs.readFile(`${procRoot}/${pid}/cmdline`),
    ]);
    const st = parseProcStat(stat);
    const ss = parseProcStatus(status);
    if (!st || !ss) return undefined;
    return { stat: st, status: ss, argv: parseCmdline(cmdline) };
  } catch {
    return undefined;
  }
}
