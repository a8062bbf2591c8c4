/**
 * podman with a bridge network and -p, kept apart from the host's: its own root, runroot and
 * network config dir (as bench/runtime/podman.ts), a network of this bench's with its own
 * subnet and no DNS (no aardvark-dns). netavark adds iptables chains
 * (NETAVARK…) and leaves its base chains when the last network goes: `close` removes every
 * NETAVARK chain that did not exist before this starter was made, and the jumps to them.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { hostPathsGuard, pidsMentioning, removeCgroupTrees, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { IMAGE, must, PATH_ENV } from "../runtime/helpers.js";
import type { NetEnv } from "./env.js";
import { SUBNETS } from "./options.js";
import type { Starter } from "./start.js";

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
const TABLES = ["filter", "nat", "mangle", "raw"];

function hardLimit(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\s{2,}\\S+\\s+(\\S+)`, "m").exec(text);
  return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
}

/** `iptables -S` words, double quotes honoured (comments). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

async function chainsMatching(re: RegExp): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of TABLES) {
    const r = await runProcess("iptables", ["-w", "-t", t, "-S"], { timeoutMs: 15_000 });
    for (const l of r.stdout.split("\n")) {
      const m = /^-N (\S+)/.exec(l);
      if (m && re.test(m[1]!)) out.add(`${t}/${m[1]}`);
    }
  }
  return out;
}

/** Deletes the chains matching `re` that are not in `before`, and every rule jumping to them. */
export async function removeNewChains(re: RegExp, before: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const t of TABLES) {
    const r = await runProcess("iptables", ["-w", "-t", t, "-S"], { timeoutMs: 15_000 });
    const fresh = new Set(
      r.stdout
        .split("\n")
        .map((l) => /^-N (\S+)/.exec(l)?.[1])
        .filter((c): c is string => !!c && re.test(c) && !before.has(`${t}/${c}`)),
    );
    if (fresh.size === 0) continue;
    for (const l of r.stdout.split("\n")) {
      const w = words(l);
      const j = w.indexOf("-j");
      if (w[0] === "-A" && j > 0 && fresh.has(w[j + 1]!) && !fresh.has(w[1]!)) await runProcess("iptables", ["-w", "-t", t, "-D", ...w.slice(1)], { timeoutMs: 15_000 });
    }
    for (const c of fresh) await runProcess("iptables", ["-w", "-t", t, "-F", c], { timeoutMs: 15_000 });
    for (const c of fresh) {
      await runProcess("iptables", ["-w", "-t", t, "-X", c], { timeoutMs: 15_000 });
      removed.push(`${t}/${c}`);
    }
  }
  return removed;
}

export async function podmanBridgeStarter(env: NetEnv, basePort: number): Promise<Starter> {
  const podman = which("podman");
  if (!podman) throw new Error("podman is not installed");
  if (!which("netavark") && !(await fs.stat("/usr/lib/podman/netavark").catch(() => undefined))) throw new Error("podman's netavark is not installed (its bridge networks need it)");
  const dir = path.join(env.base, "podman");
  const runDir = path.join(env.run, "podman");
  const cgroupParent = `${env.cgroupPrefix}-podman`;
  const restoreHost = hostPathsGuard(PODMAN_HOST_PATHS);
  const chainsBefore = await chainsMatching(/^NETAVARK/);
  for (const d of ["root", "net"]) await fs.mkdir(path.join(dir, d), { recursive: true });
  for (const d of ["run", "tmp"]) await fs.mkdir(path.join(runDir, d), { recursive: true });
  const global = [
    "--root", path.join(dir, "root"),
    "--runroot", path.join(runDir, "run"),
    "--tmpdir", path.join(runDir, "tmp"),
    "--network-config-dir", path.join(dir, "net"),
    "--network-backend", "netavark",
    "--storage-driver", "overlay",
    "--cgroup-manager", "cgroupfs",
    "--events-backend", "file",
    "--runtime", which("runc") ?? "/usr/sbin/runc",
    "--conmon", which("conmon") ?? "/usr/bin/conmon",
    "--log-level", "error",
  ];
  const penv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir };
  const pm = (args: string[], timeoutMs = env.timeoutMs) => must(podman, [...global, ...args], timeoutMs, penv);
  const limits = await fs.readFile("/proc/self/limits", "utf8");
  const nofile = hardLimit(limits, "Max open files") ?? 1024;
  const nproc = Math.min(hardLimit(limits, "Max processes") ?? 32768, 32768);
  const net = "btbpnet";
  let bridge = "";
  const runArgs = ["run", "-d", "--network", net, "--cgroup-parent", `/${cgroupParent}`, "--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${nproc}:${nproc}`];
  const close = async () => {
    await runProcess(podman, [...global, "rm", "-a", "-f", "-t", "0"], { timeoutMs: 120_000, env: penv });
    await runProcess(podman, [...global, "network", "rm", "-f", net], { timeoutMs: 60_000, env: penv });
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
    if (bridge && /^[A-Za-z0-9_.-]{1,15}$/.test(bridge) && (await runProcess("ip", ["link", "show", bridge], { timeoutMs: 10_000 })).code === 0) {
      await runProcess("ip", ["link", "del", bridge], { timeoutMs: 10_000 });
    }
    await removeNewChains(/^NETAVARK/, chainsBefore);
    await restoreHost();
  };
  try {
    const version = (await pm(["--version"])).trim();
    await pm(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTar, IMAGE]);
    // podman 4.3 has no --interface-name: the bridge it picks is read back (and removed in close).
    await pm(["network", "create", "--driver", "bridge", "--subnet", SUBNETS.podman, "--disable-dns", net]);
    bridge = (await pm(["network", "inspect", "--format", "{{.NetworkInterface}}", net])).trim();
    return {
      name: "podman run -d --network bridge -p",
      version: `${version} (netavark)`,
      async startOne(_name, i) {
        return { handle: (await pm([...runArgs, "-p", `127.0.0.1:${basePort + (i % 50)}:80`, IMAGE, "sleep", "3600"])).trim() };
      },
      remove: async (h) => void (await pm(["rm", "-f", "-t", "0", h])),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
