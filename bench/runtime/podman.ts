/** podman as a contender: its own root, runroot and network config dir, runc and conmon as berth uses them. */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { hostPathsGuard, pidsMentioning, removeCgroupTrees, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { IMAGE, must, PATH_ENV } from "./helpers.js";
import type { BenchEnv, Contender } from "./types.js";

/** The hard limit named `name` in /proc/self/limits text; undefined when unlimited or absent. */
function hostHardLimit(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\s{2,}\\S+\\s+(\\S+)`, "m").exec(text);
  return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
}

/** Paths podman creates outside --root/--runroot/--tmpdir; children first. */
const PODMAN_HOST_PATHS = [
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

export async function podmanContender(env: BenchEnv): Promise<Contender> {
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
    "--storage-driver", "overlay",
    "--cgroup-manager", "cgroupfs",
    "--events-backend", "file",
    "--runtime", which("runc") ?? "/usr/sbin/runc",
    "--conmon", which("conmon") ?? "/usr/bin/conmon",
    "--log-level", "error",
  ];
  const penv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir };
  const pm = (args: string[], timeoutMs = env.timeoutMs) => must(podman, [...global, ...args], timeoutMs, penv);
  // podman asks for RLIMIT_NOFILE 1048576 and lowers its own RLIMIT_NPROC to 32768; runc
  // refuses limits above what it may set here (hard nofile 20000): ask for what the host allows.
  const limits = await fs.readFile("/proc/self/limits", "utf8");
  const nofile = hostHardLimit(limits, "Max open files") ?? 1024;
  const nproc = Math.min(hostHardLimit(limits, "Max processes") ?? 32768, 32768);
  const runArgs = ["run", "-d", "--network", "none", "--cgroup-parent", `/${cgroupParent}`, "--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${nproc}:${nproc}`];
  const close = async () => {
    await runProcess(podman, [...global, "rm", "-a", "-f", "-t", "0"], { timeoutMs: 120_000, env: penv });
    await runProcess(podman, [...global, "unmount", "-a"], { timeoutMs: env.timeoutMs, env: penv });
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
  };
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
