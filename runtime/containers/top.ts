import { execFile } from "../proc/exec-file.js";
import { promises as fs } from "node:fs";
import { invalidArgument, unavailable } from "../../lib/errors.js";
import type { ContainerTop } from "../types.js";
import { commandOf, formatCpuTime, parsePasswd, readProcess, type ProcessInfo } from "./proc-stat.js";

/**
 * `docker top`: the processes of a container as the host sees them. Without ps options, read
 * from /proc (proc-stat.ts) — PID, USER, TIME, CMD — so it needs no `ps` in the image nor on
 * the host. With options, the host's `ps` is run with them (argv, never a shell) and `-q`
 * with the container's pids, so ps itself reads only those processes; its output is then
 * filtered by its PID column as moby's daemon/top_unix.go does (lines of threads, PID `-`,
 * stay with the process above them), and split into columns the same way (the last column
 * takes the rest of the line).
 */

export const DEFAULT_TOP_TITLES = ["PID", "USER", "TIME", "CMD"];

const MAX_PS_ARGS = 32;
const MAX_PS_ARG_LENGTH = 256;
/** What a ps option may be made of: letters, digits and the punctuation of format specs (`-o pid,comm=NAME`, `--sort=-pcpu`). */
const PS_ARG_RE = /^[-A-Za-z0-9_,=:%+.]+$/;
/** ps's quick-pid selection is berth's (`-q` with the container's pids): a caller cannot choose other processes. */
const QUICK_PID_RE = /^(?:-?q|--quick-pid(?:=.*)?|-q.+)$/;

/**
 * Checks ps options (already split into words) before anything runs: a bounded number of
 * plain words, no quick-pid selection of the caller's own, and — Docker's validatePSArgs —
 * no other column renamed to `PID` (`-o user=PID` would make the PID filter read user names).
 */
export function validatePsArgs(args: string[], what = "top"): void {
  if (args.length > MAX_PS_ARGS) throw invalidArgument(`${what}: at most ${MAX_PS_ARGS} ps options, got ${args.length}`);
  for (const a of args) {
    if (a.length === 0 || a.length > MAX_PS_ARG_LENGTH || !PS_ARG_RE.test(a)) throw invalidArgument(`${what}: invalid ps option ${JSON.stringify(a)}`);
    if (QUICK_PID_RE.test(a)) throw invalidArgument(`${what}: ps option ${JSON.stringify(a)} is not allowed: berth selects the container's processes itself`);
    for (const spec of a.split(",")) {
      const m = /^([^=]*)=\s*(PID\S*)$/.exec(spec);
      if (m && m[1] !== "pid") throw invalidArgument(`${what}: specifying "${m[1]}=${m[2]}" is not allowed`);
    }
  }
}

/** Splits a ps options string (Docker's `ps_args`) on ASCII whitespace. */
export function splitPsArgs(text: string): string[] {
  return text.split(/[ \t\n\r\f\v]+/).filter(Boolean);
}

/**
 * ps output restricted to `pids`: the title line's words are the titles, each line is split
 * on whitespace with the overhang joined into the last column. A line whose PID is `-` (a
 * thread under `-L`/`m`) belongs to the process line above it. InvalidArgument when there is
 * no PID column.
 */
export function parsePsOutput(output: string, pids: readonly number[]): ContainerTop {
  const lines = output.split("\n");
  const titles = (lines[0] ?? "").trim().split(/\s+/).filter(Boolean);
  const pidIndex = titles.indexOf("PID");
  if (pidIndex < 0) throw invalidArgument("top: ps output has no PID column (add pid to -o)");
  const want = new Set(pids);
  const processes: string[][] = [];
  let previousKept = false;
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const fields = line.trim().split(/\s+/);
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(" ")];
    const pidField = fields[pidIndex];
    if (pidField === "-") {
      if (previousKept) processes.push(row);
      continue;
    }
    const pid = Number(pidField);
    if (!Number.isInteger(pid)) throw invalidArgument(`top: unexpected pid ${JSON.stringify(pidField)} in ps output`);
    previousKept = want.has(pid);
    if (previousKept) processes.push(row);
  }
  return { titles, processes };
}

/** The default rows from /proc facts: PID, USER (effective uid's host name, else the number), TIME, CMD. */
export function defaultTopRows(procs: ProcessInfo[], users: Map<number, string>): ContainerTop {
  const rows = [...procs]
    .sort((a, b) => a.stat.pid - b.stat.pid)
    .map((p) => {
      const euid = p.status.uids[1];
      return [String(p.stat.pid), users.get(euid) ?? String(euid), formatCpuTime(p.stat.utime + p.stat.stime), commandOf(p.argv, p.stat.comm)];
    });
  return { titles: [...DEFAULT_TOP_TITLES], processes: rows };
}

/** `berth top` of the processes `pids`: from /proc without `psArgs`, else the host's ps (validated first). */
export async function topOf(pids: number[], psArgs: string[] | undefined, options: { psPath?: string; procRoot?: string; passwdFile?: string } = {}): Promise<ContainerTop> {
  if (psArgs && psArgs.length > 0) {
    validatePsArgs(psArgs);
    if (pids.length === 0) return { titles: [], processes: [] };
    return parsePsOutput(await runPs(options.psPath ?? "ps", [...psArgs, "-q", pids.join(",")]), pids);
  }
  const [infos, passwd] = await Promise.all([Promise.all(pids.map((p) => readProcess(p, options.procRoot))), fs.readFile(options.passwdFile ?? "/etc/passwd", "utf8").catch(() => "")]);
  return defaultTopRows(
    infos.filter((p): p is ProcessInfo => p !== undefined),
    parsePasswd(passwd),
  );
}

/** Runs ps with argv, C locale, bounded in time and output; its refusal (bad options) is InvalidArgument with its words. */
function runPs(ps: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ps, args, { timeout: 10_000, maxBuffer: 16 * 1024 * 1024, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" } }, (err, stdout, stderr) => {
      if (!err) return resolve(String(stdout));
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return reject(unavailable(`top: ${ps} not found on the host (berth top without ps options needs none)`, { cause: err }));
      const why = String(stderr).trim().split("\n").filter(Boolean).slice(0, 3).join("; ") || err.message;
      reject(invalidArgument(`top: ps ${args.slice(0, -2).join(" ")}: ${why}`, { cause: err }));
    });
  });
}
