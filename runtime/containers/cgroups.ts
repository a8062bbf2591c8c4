import { promises as fs } from "node:fs";
import * as path from "node:path";

/**
 * Facts about the host's cgroup hierarchies and a container's cgroup, read from the
 * filesystem. runc creates and (on `runc delete`) removes a container's cgroup; berth reads
 * OOM counters from it and removes what a crashed runc left behind.
 */

export type CgroupLayout = "v1" | "v2" | "hybrid" | "none";

interface MountEntry {
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 4) continue;
    out.push({ source: unescapeMount(f[0]!), target: unescapeMount(f[1]!), fstype: f[2]!, options: f[3]!.split(",") });
  }
  return out;
}

/** v2: cgroup2 at /sys/fs/cgroup; hybrid: v1 controllers plus cgroup2 elsewhere; v1; none. */
export function parseCgroupLayout(mountsText: string): CgroupLayout {
  const mounts = parseMounts(mountsText);
  if (mounts.some((m) => m.fstype === "cgroup2" && m.target === "/sys/fs/cgroup")) return "v2";
  const v1 = mounts.some((m) => m.fstype === "cgroup");
  const v2 = mounts.some((m) => m.fstype === "cgroup2");
  if (v1 && v2) return "hybrid";
  if (v1) return "v1";
  return v2 ? "v2" : "none";
}

/** Mount points of every cgroup hierarchy (v1 controllers, named hierarchies, cgroup2). */
export function cgroupMountpoints(mountsText: string): string[] {
  return parseMounts(mountsText)
    .filter((m) => m.fstype === "cgroup" || m.fstype === "cgroup2")
    .map((m) => m.target);
}

/** Mount point of the v1 memory controller, if any. */
export function memoryMountpoint(mountsText: string): string | undefined {
  return parseMounts(mountsText).find((m) => m.fstype === "cgroup" && m.options.includes("memory"))?.target;
}

/** `oom_kill N` from a v1 memory.oom_control or v2 memory.events text. */
export function parseOomKillCount(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

export class Cgroups {
  private constructor(
    readonly layout: CgroupLayout,
    private readonly mountpoints: string[],
    private readonly memoryMount: string | undefined,
  ) {}

  static async detect(): Promise<Cgroups> {
    const text = await fs.readFile("/proc/self/mounts", "utf8");
    const layout = parseCgroupLayout(text);
    const mem = layout === "v2" ? "/sys/fs/cgroup" : memoryMountpoint(text);
    return new Cgroups(layout, cgroupMountpoints(text), mem);
  }

  /** True when memory+swap can be limited (v1 memory.memsw.*, v2 memory.swap.max on the root's children). */
  async swapAccounting(): Promise<boolean> {
    if (!this.memoryMount) return false;
    if (this.layout === "v2") return true;
    try {
      await fs.access(path.join(this.memoryMount, "memory.memsw.limit_in_bytes"));
      return true;
    } catch {
      return false;
    }
  }

  /** How many times the kernel OOM killer fired in the cgroup; 0 when it is gone. */
  async oomKillCount(cgroupsPath: string): Promise<number> {
    if (!this.memoryMount) return 0;
    const file = this.layout === "v2" ? "memory.events" : "memory.oom_control";
    try {
      return parseOomKillCount(await fs.readFile(path.join(this.memoryMount, cgroupsPath, file), "utf8"));
    } catch {
      return 0;
    }
  }

  /** Host directories of `cgroupsPath` in every hierarchy (existing or not). */
  dirs(cgroupsPath: string): string[] {
    return this.mountpoints.map((m) => path.join(m, cgroupsPath));
  }

  /** Pids of the processes in `cgroupsPath`, in any hierarchy (empty when it is gone). */
  async procs(cgroupsPath: string): Promise<number[]> {
    const out = new Set<number>();
    for (const dir of this.dirs(cgroupsPath)) {
      const text = await fs.readFile(path.join(dir, "cgroup.procs"), "utf8").catch(() => "");
      for (const line of text.split("\n")) if (/^[0-9]+$/.test(line)) out.add(Number(line));
    }
    return [...out];
  }

  /**
   * Removes the cgroup directories of `cgroupsPath` (no processes may be left in them).
   * Idempotent; directories still busy are left and reported.
   */
  async remove(cgroupsPath: string): Promise<string[]> {
    const busy: string[] = [];
    for (const dir of this.dirs(cgroupsPath)) {
      try {
        await fs.rmdir(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT") busy.push(dir);
      }
    }
    return busy;
  }
}
