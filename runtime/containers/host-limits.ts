import { readFile } from "node:fs/promises";
import type { OciRlimit } from "./oci-types.js";

/**
 * The host's resource limits, from /proc/self/limits, and the rlimits berth gives a
 * container. runc refuses (at `runc create`) an rlimit above the hard limit of the process
 * that runs it, so every value is derived from the host's own hard limits.
 */

export interface HostLimit {
  soft: number | "unlimited";
  hard: number | "unlimited";
}

const NAMES: Record<string, string> = {
  "Max cpu time": "RLIMIT_CPU",
  "Max file size": "RLIMIT_FSIZE",
  "Max data size": "RLIMIT_DATA",
  "Max stack size": "RLIMIT_STACK",
  "Max core file size": "RLIMIT_CORE",
  "Max resident set": "RLIMIT_RSS",
  "Max processes": "RLIMIT_NPROC",
  "Max open files": "RLIMIT_NOFILE",
  "Max locked memory": "RLIMIT_MEMLOCK",
  "Max address space": "RLIMIT_AS",
  "Max file locks": "RLIMIT_LOCKS",
  "Max pending signals": "RLIMIT_SIGPENDING",
  "Max msgqueue size": "RLIMIT_MSGQUEUE",
  "Max nice priority": "RLIMIT_NICE",
  "Max realtime priority": "RLIMIT_RTPRIO",
  "Max realtime timeout": "RLIMIT_RTTIME",
};

/** Parses the text of /proc/<pid>/limits into RLIMIT_* → {soft, hard}. */
export function parseProcLimits(text: string): Record<string, HostLimit> {
  const out: Record<string, HostLimit> = {};
  for (const line of text.split("\n")) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const type = NAMES[m[1]!];
    if (!type) continue;
    const v = (s: string): number | "unlimited" => (s === "unlimited" ? "unlimited" : Number(s));
    const soft = v(m[2]!);
    const hard = v(m[3]!);
    if (Number.isNaN(soft) || Number.isNaN(hard)) continue;
    out[type] = { soft, hard };
  }
  return out;
}

/** Docker's usual open-files limit, used when the host allows more. */
export const DEFAULT_NOFILE = 1_048_576;

/**
 * The rlimits of a container process: RLIMIT_NOFILE soft = hard = min(host hard, 1048576).
 * Other limits are inherited from the runtime unchanged (runc leaves them alone), which
 * also avoids writing 2^64-1 into JSON for "unlimited".
 */
export function containerRlimits(host: Record<string, HostLimit>): OciRlimit[] {
  const nofile = host.RLIMIT_NOFILE;
  const hard = nofile === undefined ? 1024 : nofile.hard === "unlimited" ? DEFAULT_NOFILE : Math.min(nofile.hard, DEFAULT_NOFILE);
  return [{ type: "RLIMIT_NOFILE", soft: hard, hard }];
}

export async function readHostLimits(): Promise<Record<string, HostLimit>> {
  return parseProcLimits(await readFile("/proc/self/limits", "utf8"));
}
