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
