/** The network benchmark's run, in a process whose BERTH_FIREWALL_PREFIX is BTB (see index.ts). */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import { PREFIX } from "../../runtime/networks/firewall-rules.js";
import { pidsMentioning, removeCgroupTrees, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";
import { berthLinks } from "../../test/helpers/net-cleanup.js";
import { which } from "../../test/helpers/host.js";
import { errText } from "../proc.js";
import { IMAGE, must, PATH_ENV } from "../runtime/helpers.js";
import { now, round } from "../stats.js";
import { benchChurn } from "./churn.js";
import { benchDaemon } from "./daemon.js";
import { benchDns } from "./dns.js";
import { makeEnv, removeEnv, teardownHost, type NetEnv } from "./env.js";
import { bridgesOf, iptablesLines } from "./host-state.js";
import type { NetworkBenchOptions } from "./options.js";
import { SUBNETS } from "./options.js";
import { report } from "./report.js";
import { benchStart, NET } from "./start.js";
import { benchThroughput } from "./throughput.js";

async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    console.error(`network bench: ${what} failed: ${errText(err)}`);
    return { error: errText(err) };
  }
}

/** What of this bench is left on the host after teardown (must be nothing). */
async function leftovers(env: NetEnv, bridges: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of env.ids) if (existsSync(`/run/netns/berth-${id.slice(0, 16)}`)) out.push(`netns berth-${id.slice(0, 16)}`);
  // Our links by name: the roots' bridges, and the veth ends of our attachments (driver.ts: bv + hash of root, container, network).
  const hex12 = (...p: string[]) => createHash("sha256").update(p.join("\0")).digest("hex").slice(0, 12);
  const ours = new Set([...bridges, ...env.attachments.map(([root, c, n]) => `bv${hex12(path.resolve(root), c, n)}`)]);
  for (const l of await berthLinks()) if (ours.has(l)) out.push(`link ${l}`);
  for (const l of ["btbdk0"]) if (existsSync(`/sys/class/net/${l}`)) out.push(`link ${l}`);
  for (const l of await iptablesLines()) out.push(`iptables: ${l}`);
  const nv = await runProcess("iptables-save", [], { timeoutMs: 15_000 });
  for (const l of nv.stdout.split("\n")) if (/NETAVARK/.test(l)) out.push(`iptables: ${l}`);
  return out;
}

export async function runNetworkBench(o: NetworkBenchOptions) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (namespaces, bridges, iptables)" };
  for (const cmd of ["runc", "conmon", "busybox", "iptables-save", "ip", "nsenter"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  if (PREFIX !== "BTB") return { skipped: `firewall prefix is ${PREFIX}, expected BTB` };
  const started = now();
  const linksBefore = await berthLinks();
  const iptablesBefore = (await iptablesLines()).length;
  const env = await makeEnv(o.stepTimeoutMs);
  const root = path.join(env.base, "root");
  env.roots.push(root);
  let rt: Runtime | undefined;
  const out: Record<string, unknown> = { prefix: PREFIX, iptablesLinesOfPrefixAtStart: iptablesBefore };
  try {
    rt = await openRuntime({ root, runRoot: path.join(env.run, "rt"), owner: "berth network bench", cgroupParent: env.cgroupPrefix });
    await rt.images.importRootfs(env.rootfsTar, IMAGE, { config: { Cmd: ["sh"], Env: [PATH_ENV] } });
    await rt.networks.create({ name: NET, internal: false, subnet: SUBNETS.runtime, labels: { "berth.bench": "network" } });
    const version = `berth runtime API, ${(await must("conmon", ["--version"], env.timeoutMs)).split("\n")[0]!.trim()}`;
    const r = rt;
    out.start = await guarded("start", () => benchStart(r, env, o, version));
    out.dns = await guarded("dns", () => benchDns(r, env, o));
    out.throughput = await guarded("throughput", () => benchThroughput(r, env, o, version));
    out.churn = await guarded("churn", () => benchChurn(r, env, o, version));
    // Every container of this root is gone; its network goes before the daemon brings its own.
    const left = await rt.containers.list().catch(() => []);
    for (const c of left) await rt.containers.remove(c.id, { force: true }).catch(() => {});
    await rt.networks.remove(NET, { force: true }).catch(() => {});
    await rt.close();
    rt = undefined;
    out.daemon = await guarded("daemon", () => benchDaemon(env, o));
  } finally {
    if (rt) {
      for (const c of await rt.containers.list().catch(() => [])) await rt.containers.remove(c.id, { force: true }).catch(() => {});
      for (const n of await rt.networks.list().catch(() => [])) await rt.networks.remove(n.name, { force: true }).catch(() => {});
      await rt.close().catch(() => {});
    }
    // conmon exits with its container; anything of ours still running is a leak: killed.
    for (const p of [...(await pidsMentioning(env.run)), ...(await pidsMentioning(env.base))]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    const bridges = (await Promise.all(env.roots.map(bridgesOf))).flat();
    await teardownHost(env);
    const others = (await berthLinks()).filter((l) => !linksBefore.includes(l));
    out.cleanup = { bridgesOfRoots: bridges, leftovers: await leftovers(env, bridges), otherBerthLinksThatAppeared: others };
    for (const r of env.roots) await unmountAllUnder(r);
    await removeCgroupTrees(env.cgroupPrefix);
    await removeCgroupTrees(`${env.cgroupPrefix}-d`);
    await removeEnv(env);
  }
  out.durationS = round((now() - started) / 1000);
  report(out, o);
  return out;
}

