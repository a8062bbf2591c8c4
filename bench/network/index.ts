/**
 * Networking of berth (issue 9) against its floor and its peers, side by side in one run:
 *
 * 1. start.ts — create+start until running of one busybox container: berth on a bridge
 *    network with a published port (the controller's sequence through the runtime API:
 *    reserve, publish, create, connect, start; the network calls timed on their own) vs
 *    berth `networkMode: none` vs `docker run -d -p` on a bridge (a private dockerd) and
 *    `--network none` vs `podman run -d -p` (netavark) vs `runc run -d` (the floor);
 *    ratios against docker -p (the goal: ≤ 0.5×);
 * 2. dns.ts — from a container's start to its name resolving on a peer of its network (UDP
 *    queries from the peer's namespace to the network's resolver), plus busybox nslookup;
 * 3. throughput.ts — a 1 GiB transfer from a node client through a published port (DNAT),
 *    to the container's address, and over plain host loopback, MB/s and ratios;
 * 4. churn.ts, daemon.ts — 100 create/delete cycles of a container with a published port
 *    (runtime API), and 10 through the daemon and CLI (apply --wait / delete): iptables
 *    lines of the prefix, ipam addresses, bridge ports, namespaces, before = after (PASS).
 *
 * berth reads its firewall chain prefix once, at module load (runtime/networks/
 * firewall-rules.ts), and bench/run.ts loads the runtime before any bench runs; so the bench
 * runs in a child node process with BERTH_FIREWALL_PREFIX=BTB (its daemon inherits it),
 * apart from any other berth's chains. Everything lives under one temp dir (run-roots on a
 * private tmpfs), host ports 19100–19699, subnets 10.213.x.0/24; at the end containers,
 * daemons, namespaces, bridges, docker's and podman's bridges and chains, and the BTB chains
 * are removed, and what is left is reported. Needs root, runc, conmon, busybox, iptables.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { errText } from "../proc.js";
import { defaultNetworkBenchOptions } from "./options.js";

export { defaultNetworkBenchOptions, type NetworkBenchOptions } from "./options.js";

export async function benchNetwork(): Promise<unknown> {
  const o = defaultNetworkBenchOptions();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "btb-net-result-"));
  const file = path.join(dir, "summary.json");
  try {
    const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.js");
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [main, file], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, BERTH_FIREWALL_PREFIX: "BTB" } });
      // SIGTERM first: the child's finally blocks clean up; SIGKILL if it does not end.
      const term = setTimeout(() => child.kill("SIGTERM"), o.totalTimeoutMs);
      const kill = setTimeout(() => child.kill("SIGKILL"), o.totalTimeoutMs + 60_000);
      child.on("close", (c) => (clearTimeout(term), clearTimeout(kill), resolve(c ?? -1)));
    });
    const text = await fs.readFile(file, "utf8").catch(() => "");
    return text ? JSON.parse(text) : { error: `network bench child exited ${code} without a summary` };
  } catch (err) {
    return { error: errText(err) };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
