import { promises as fs } from "node:fs";
import * as path from "node:path";
import { pidsMentioning } from "../helpers/dockerd.js";
import { cgroupDirsOf } from "../helpers/rootfs.js";

/**
 * Helpers of the crash-safety tests (corrupt records, wiped run-roots): looking into a
 * container's cgroup, wiping a run-root, and killing what a failed test may leave running
 * without runc state (so the usual cleanup, which goes through `runc list`, can finish).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids in container `id`'s cgroup under `cgroupParent`, in any hierarchy. */
export async function cgroupPids(cgroupParent: string, id: string): Promise<number[]> {
  const out = new Set<number>();
  for (const d of await cgroupDirsOf(cgroupParent)) {
    const text = await fs.readFile(path.join(d, id, "cgroup.procs"), "utf8").catch(() => "");
    for (const l of text.split("\n")) if (l.trim()) out.add(Number(l));
  }
  return [...out].sort((a, b) => a - b);
}

/** True when `pid` runs (a zombie does not). */
export async function alive(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** Empties the run-root the way systemd's RuntimeDirectory= cleanup or `rm -rf /run/berth/*` does. */
export async function wipe(runRoot: string): Promise<void> {
  for (const e of await fs.readdir(runRoot).catch(() => [] as string[])) await fs.rm(path.join(runRoot, e), { recursive: true, force: true });
}

async function procsUnder(dir: string): Promise<number[]> {
  const out: number[] = [];
  const text = await fs.readFile(path.join(dir, "cgroup.procs"), "utf8").catch(() => "");
  for (const l of text.split("\n")) if (l.trim()) out.push(Number(l));
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await procsUnder(path.join(dir, e.name))));
  }
  return out;
}

/**
 * SIGKILLs every process whose command line mentions `base` (conmon names its paths) and
 * every process in a cgroup under `cgroupParent`, until none is left (at most ~5 s).
 */
export async function killEverythingOf(base: string, cgroupParent: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const pids = [...(await pidsMentioning(base))];
    for (const d of await cgroupDirsOf(cgroupParent)) pids.push(...(await procsUnder(d)));
    if (pids.length === 0) return;
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    await sleep(100);
  }
}
