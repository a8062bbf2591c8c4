import { promises as fs } from "node:fs";
import * as path from "node:path";
import { parseMounts } from "./cgroups.js";

/**
 * An exec's own cgroup: `<container cgroup>/exec-<tag>`, which `runc exec --cgroup` puts
 * the exec'd process into before it runs. Every process it starts stays there whatever it
 * does — a double fork reparents it to the container's init, `setsid` leaves the process
 * group, but neither leaves the cgroup (the container sees /sys/fs/cgroup read-only) — so
 * killing the exec kills exactly its processes (systemd kills a unit's processes the same
 * way). The parent-pid tree alone misses the reparented ones (issue 8: one orphaned `sleep`
 * per timed-out health probe).
 *
 * Hierarchy: on cgroup v2 the unified one (all controllers; `cgroup.kill` where the kernel
 * has it); on v1 and hybrid hosts the `pids` hierarchy (else `freezer`) only — a v1 cpuset
 * child starts with no cpus and would refuse the process. The pids limit is hierarchical,
 * so the exec still counts against the container's. Without a usable hierarchy there is no
 * group (`runcArg` undefined) and the caller falls back to the parent-pid tree.
 *
 * Lifetime: created before the exec, removed after it when empty. A process that outlived
 * an exec that ended by itself keeps its group; `runc delete` removes sub-cgroups with the
 * container's.
 */
export interface ExecGroup {
  /** `runc exec --cgroup`'s value, or undefined when there is no group. */
  readonly runcArg: string | undefined;
  /** SIGKILLs every process in the group until it is empty (bounded). No-op without a group. */
  kill(): Promise<void>;
  /** Removes the group's directory if no process is left in it. Never throws. */
  remove(): Promise<void>;
}

const KILL_ROUNDS = 50;
const KILL_ROUND_MS = 10;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Where an exec group goes on this host, from /proc/self/mounts' text: the hierarchy's mount point and runc's controller prefix. */
export function execGroupHierarchy(mountsText: string): { mount: string; controller: string } | undefined {
  const mounts = parseMounts(mountsText);
  if (mounts.some((m) => m.fstype === "cgroup2" && m.target === "/sys/fs/cgroup")) return { mount: "/sys/fs/cgroup", controller: "" };
  for (const c of ["pids", "freezer"]) {
    const m = mounts.find((e) => e.fstype === "cgroup" && e.options.includes(c));
    if (m) return { mount: m.target, controller: c };
  }
  return undefined;
}

async function procsOf(dir: string): Promise<number[]> {
  const text = await fs.readFile(path.join(dir, "cgroup.procs"), "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map(Number).filter((p) => Number.isInteger(p) && p > 0);
}

/**
 * Creates the group `name` (e.g. `exec-<tag>`) under the container's `cgroupsPath` (in the
 * hierarchy of `mountsText`, default this host's). When the container's cgroup is not there
 * (or the directory cannot be made) there is no group.
 */
let hostHierarchy: Promise<ReturnType<typeof execGroupHierarchy>> | undefined;

/**
 * This host's hierarchy, from /proc/self/mounts read once per process: where cgroups are
 * mounted does not change under a running daemon, and every exec would otherwise read and
 * parse the mount table again.
 */
function hostExecGroupHierarchy() {
  hostHierarchy ??= fs.readFile("/proc/self/mounts", "utf8").then(execGroupHierarchy, () => execGroupHierarchy(""));
  return hostHierarchy;
}

export async function createExecGroup(cgroupsPath: string, name: string, mountsText?: string): Promise<ExecGroup> {
  const where = mountsText === undefined ? await hostExecGroupHierarchy() : execGroupHierarchy(mountsText);
  const none: ExecGroup = { runcArg: undefined, kill: async () => {}, remove: async () => {} };
  if (!where) return none;
  const parent = path.join(where.mount, cgroupsPath);
  const dir = path.join(parent, name);
  try {
    // Not recursive: without the container's cgroup (ENOENT) there is no group.
    await fs.mkdir(dir);
  } catch {
    return none;
  }
  return {
    runcArg: where.controller ? `${where.controller}:${name}` : name,
    async kill() {
      // cgroup v2 (Linux 5.14+): one write kills the whole group, forks included.
      await fs.writeFile(path.join(dir, "cgroup.kill"), "1").catch(() => {});
      for (let round = 0; round < KILL_ROUNDS; round++) {
        const pids = await procsOf(dir);
        if (pids.length === 0) return;
        for (const p of pids) {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            /* gone */
          }
        }
        await sleep(KILL_ROUND_MS);
      }
    },
    async remove() {
      await fs.rmdir(dir).catch(() => {});
    },
  };
}
