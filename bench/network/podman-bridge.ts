/**
 * podman with a bridge network and -p, kept apart from the host's: its own root, runroot and
 * network config dir (as bench/runtime/podman.ts), a network of this bench's with its own
 * subnet and no DNS (no aardvark-dns). netavark adds iptables chains
 * (NETAVARK…) and leaves its base chains when the last network goes: `close` removes every
 * NETAVARK chain that did not exist before this starter was made, and the jumps to them.
 */
import { promises as fs } from "node:fs";
import { runProcess } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { IMAGE, PATH_ENV } from "../runtime/helpers.js";
import { privatePodman } from "../runtime/podman.js";
import type { NetEnv } from "./env.js";
import { SUBNETS } from "./options.js";
import type { Starter } from "./start.js";

const TABLES = ["filter", "nat", "mangle", "raw"];


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
  if (!which("netavark") && !(await fs.stat("/usr/lib/podman/netavark").catch(() => undefined))) throw new Error("podman's netavark is not installed (its bridge networks need it)");
  const chainsBefore = await chainsMatching(/^NETAVARK/);
  const p = await privatePodman(env, { netavark: true });
  const pm = p.pm;
  const net = "btbpnet";
  let bridge = "";
  const runArgs = [...p.runArgs, "--network", net];
  const close = () =>
    p.close(async () => {
      await p.runQuiet(["network", "rm", "-f", net], 60_000);
      if (bridge && /^[A-Za-z0-9_.-]{1,15}$/.test(bridge) && (await runProcess("ip", ["link", "show", bridge], { timeoutMs: 10_000 })).code === 0) {
        await runProcess("ip", ["link", "del", bridge], { timeoutMs: 10_000 });
      }
      await removeNewChains(/^NETAVARK/, chainsBefore);
    });
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
