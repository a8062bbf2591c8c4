/**
 * Processes on the host, for every benchmark: running one that must succeed (argv, never a
 * shell, bounded in time), and reading another's memory from /proc. Readings of a process
 * that is gone are NaN, never an error.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { pidsMentioning, runProcess, type ProcessResult } from "../test/helpers/dockerd.js";

/** Runs `cmd`; throws, with the tail of its output, unless it exits 0 within `timeoutMs`. */
export async function mustRun(cmd: string, args: string[], timeoutMs: number, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ProcessResult> {
  const r = await runProcess(cmd, args, { timeoutMs, ...opts });
  if (r.code !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
  }
  return r;
}

/** An error's message for a report, cut to 600 characters. */
export const errText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 600);

/** A `/proc/<pid>/status` field in KiB (VmRSS, RssAnon, …). */
export async function statusKiB(pid: number, field: string): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Proportional set size: shared pages divided among the processes that map them. */
export async function pssKiB(pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
  const m = /^Pss:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

export const commOf = async (pid: number) => (await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();

/** The parent of `pid` (not init), with its command name. */
export async function parentOf(pid: number): Promise<{ pid: number; comm: string } | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const ppid = Number(stat.slice(close + 2).split(" ")[1]);
  if (!Number.isInteger(ppid) || ppid <= 1) return undefined;
  return { pid: ppid, comm: await commOf(ppid) };
}

/** Pids whose command line mentions `needle` and whose comm passes `pred`. */
export async function pidsByComm(needle: string, pred: (comm: string) => boolean): Promise<number[]> {
  const out: number[] = [];
  for (const p of await pidsMentioning(needle)) if (pred(await commOf(p))) out.push(p);
  return out;
}

export async function sumRssKiB(pids: number[]): Promise<number> {
  let s = 0;
  for (const p of pids) s += (await statusKiB(p, "VmRSS")) || 0;
  return s;
}

/** PSS sums shared pages once (RSS summed over 50 copies of one binary counts its text 50 times). */
export async function sumPssKiB(pids: number[]): Promise<number> {
  let s = 0;
  for (const p of pids) s += (await pssKiB(p)) || 0;
  return s;
}
