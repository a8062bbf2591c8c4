/**
 * Scenario 4, leaks: N create/delete cycles of a container with a published port
 * (127.0.0.1:<port>:80), each the controller's sequence (berthStarter) then a force remove
 * and `networks.release`. Counted before (the network exists, no container), once with the
 * container up, and after: iptables-save lines of the prefix, ipam addresses, ports of the
 * root's bridges, the namespaces of every container made; PASS when after = before.
 */
import type { Runtime } from "../../runtime/index.js";
import { errText } from "../proc.js";
import { now, summarize } from "../stats.js";
import type { NetEnv } from "./env.js";
import { countHost, countsDiffer } from "./host-state.js";
import { PORTS, type NetworkBenchOptions } from "./options.js";
import { berthStarter } from "./start.js";

export async function benchChurn(rt: Runtime, env: NetEnv, o: NetworkBenchOptions, version: string) {
  const s = berthStarter(rt, env, "bridge", version, () => PORTS.churn);
  const before = await countHost(rt.root, env.ids);
  let during: Awaited<ReturnType<typeof countHost>> | undefined;
  const cycles: number[] = [];
  let error: string | undefined;
  const deadline = now() + 120_000;
  for (let i = 0; i < o.churnCycles; i++) {
    if (now() > deadline) {
      error = `stopped after ${i} cycles: over 120 s`;
      break;
    }
    const t0 = now();
    try {
      // One fixed host port: a port that is not released fails the next cycle's publish.
      const r = await s.startOne("churn", i);
      if (i === 0) during = await countHost(rt.root, env.ids);
      await s.remove(r.handle, "churn");
    } catch (err) {
      error = `cycle ${i}: ${errText(err)}`;
      await rt.networks.release("churn").catch(() => {});
      break;
    }
    cycles.push(now() - t0);
  }
  const after = await countHost(rt.root, env.ids);
  const diff = countsDiffer(before, after);
  return { cycles: cycles.length, cycleMs: summarize(cycles), before, during: during ?? null, after, pass: diff.length === 0 && !error, diff, ...(error ? { error } : {}) };
}
