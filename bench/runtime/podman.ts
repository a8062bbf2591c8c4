/** podman as a contender: its own root, runroot and network config dir, runc and conmon as berth uses them. */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { hostPathsGuard, pidsMentioning, removeCgroupTrees, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { IMAGE, must, PATH_ENV } from "./helpers.js";
import type { BenchEnv, Contender } from "./types.js";

/** The hard limit named `name` in /proc/self/limits text; undefined when unlimited or absent. */
export function hostHardLimit(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\s{2,}\\S+\\s+(\\S+)`, "m").exec(text);
  return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
}

/** Paths podman creates outside --root/--runroot/--tmpdir; children first. */
export const PODMAN_HOST_PATHS = [
  "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
  "/var/lib/containers/cache",
  "/var/lib/containers",
  "/run/containers/networks",
  "/run/containers",
  "/run/libpod",
  "/etc/cni/net.d/cni.lock",
  "/etc/containers/networks/netavark.lock",
  "/etc/containers/networks",
];

export interface PrivatePodman {
  podman: string;
  /** podman with the private global options; rejects with its output on failure. */
  pm(args: string[], timeoutMs?: number): Promise<string>;
  /** podman, resolving with the exit code (clean-up steps that may fail). */
  runQuiet(args: string[], timeoutMs: number): Promise<unknown>;
  /** `run -d` in berth's cgroup parent with rlimits the host allows; the caller adds `--network`. */
  runArgs: string[];
  /** Removes every container, mount, process and cgroup it made, and podman's host paths. `afterRemove` runs once the containers are gone. */
  close(afterRemove?: () => Promise<void>): Promise<void>;
}

/**
 * A podman of its own: root, runroot, tmpdir and network config under the bench's dirs, runc
 * and conmon as berth uses them. Shared by the runtime bench (`--network none`) and the
 * network bench (netavark bridges).
 */
export async function privatePodman(env: BenchEnv, o: { netavark?: boolean } = {}): Promise<PrivatePodman> {
  const podman = which("podman");
  if (!podman) throw new Error("podman is not installed (apt-get install podman)");
  const dir = path.join(env.base, "podman");
  const runDir = path.join(env.run, "podman");
  const cgroupParent = `${env.cgroupPrefix}-podman`;
  const restoreHost = hostPathsGuard(PODMAN_HOST_PATHS);
  for (const d of ["root", "net"]) await fs.mkdir(path.join(dir, d), { recursive: true });
  for (const d of ["run", "tmp"]) await fs.mkdir(path.join(runDir, d), { recursive: true });
  const global = [
    "--root", path.join(dir, "root"),
    "--runroot", path.join(runDir, "run"),
    "--tmpdir", path.join(runDir, "tmp"),
    "--network-config-dir", path.join(dir, "net"),
    ...(o.netavark ? ["--network-backend", "netavark"] : []),
    "--storage-driver", "overlay",
    "--cgroup-manager", "cgroupfs",
    "--events-backend", "file",
    "--runtime", which("runc") ?? "/usr/sbin/runc",
    "--conmon", which("conmon") ?? "/usr/bin/conmon",
    "--log-level", "error",
  ];
  const penv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir };
  // podman asks for RLIMIT_NOFILE 1048576 and lowers its own RLIMIT_NPROC to 32768; runc
  // refuses limits above what it may set here (hard nofile 20000): ask for what the host allows.
  const limits = await fs.readFile("/proc/self/limits", "utf8");
  const nofile = hostHardLimit(limits, "Max open files") ?? 1024;
  const nproc = Math.min(hostHardLimit(limits, "Max processes") ?? 32768, 32768);
  const runQuiet = (args: string[], timeoutMs: number) => runProcess(podman, [...global, ...args], { timeoutMs, env: penv });
  return {
    podman,
    pm: (args, timeoutMs = env.timeoutMs) => must(podman, [...global, ...args], timeoutMs, penv),
    runQuiet,
    runArgs: ["run", "-d", "--cgroup-parent", `/${cgroupParent}`, "--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${nproc}:${nproc}`],
    async close(afterRemove) {
      await runQuiet(["rm", "-a", "-f", "-t", "0"], 120_000);
      await afterRemove?.();
      await runQuiet(["unmount", "-a"], env.timeoutMs);
      for (const p of [...(await pidsMentioning(dir)), ...(await pidsMentioning(runDir))]) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
      await unmountAllUnder(dir);
      await unmountAllUnder(runDir);
      await removeCgroupTrees(cgroupParent);
      await removeCgroupTrees("libpod_parent");
      await restoreHost();
    },
  };
}

export async function podmanContender(env: BenchEnv): Promise<Contender> {
  const p = await privatePodman(env);
  const pm = p.pm;
  const runArgs = [...p.runArgs, "--network", "none"];
  const close = () => p.close();
  try {
    const version = (await pm(["--version"])).trim();
    await pm(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTgz, IMAGE]);
    return {
      name: "podman run -d",
      version,
      async startOne() {
        return (await pm([...runArgs, IMAGE, "sleep", "3600"])).trim();
      },
      async pids(ids) {
        const text = await pm(["inspect", "--format", "{{.State.Pid}} {{.State.ConmonPid}}", ...ids]);
        return text
          .trim()
          .split("\n")
          .map((l) => {
            const [pid, conmon] = l.trim().split(/\s+/).map(Number);
            return { container: pid!, monitor: conmon! };
          });
      },
      async removeAll(ids) {
        await pm(["rm", "-f", "-t", "0", ...ids], 300_000);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
