import { promises as fs } from "node:fs";

/** Host process facts read from /proc. */

/** The kernel's boot id: changes on every boot. */
export async function bootId(): Promise<string> {
  return (await fs.readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); parses past the comm field. */
export function parseStatStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(" ");
  // fields[0] is field 3 (state); start time is field 22.
  return fields[19];
}

/** Start time of a live process, undefined when it does not exist. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    return parseStatStartTime(await fs.readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and is the same process that had `startTime` (guards against pid reuse). */
export async function isSameProcess(pid: number | undefined, startTime: string | undefined): Promise<boolean> {
  if (!pid || !startTime) return false;
  const st = await processStartTime(pid);
  if (st !== startTime) return false;
  // A zombie has exited already.
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** True when `pid` is alive and not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** True when `pid` is a conmon monitoring container `id` (by its argv: `conmon ... -c <id>`). */
export async function isConmonOf(pid: number | undefined, id: string): Promise<boolean> {
  if (!pid || !(pid > 0)) return false;
  const argv = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
  return (argv[0] ?? "").endsWith("conmon") && argv.some((a, i) => a === "-c" && argv[i + 1] === id);
}

/**
 * Pids of every live conmon monitoring container `id`, found by scanning /proc (for when
 * the pid files that name it are lost). Costs a read of every process's cmdline: for
 * recovery paths only.
 */
export async function conmonPidsOf(id: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await fs.readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(e)) continue;
    if ((await isConmonOf(Number(e), id)) && (await isAlive(Number(e)))) out.push(Number(e));
  }
  return out;
}

/** SIGKILLs `pids` (ignoring those gone) and waits up to `ms` until none is alive; true when none is. */
export async function killAndWait(pids: number[], ms = 5000): Promise<boolean> {
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + ms;
  for (;;) {
    const left = [];
    for (const p of pids) if (await isAlive(p)) left.push(p);
    if (left.length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
