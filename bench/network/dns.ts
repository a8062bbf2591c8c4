/**
 * Scenario 2, name resolution: how soon after a container starts its name resolves on a
 * peer of the same (internal) network. The peer is a running berth container; the asker is
 * dns-probe.js in the peer's network namespace (nsenter), so the resolver sees the peer's
 * address as the source, exactly as it sees the peer's own nslookup. The probe asks in a
 * paced loop before the target exists (NXDOMAIN answers); the target is then
 * started with the controller's sequence (reserve, create, connect, start) and the probe's first answer with an
 * address is compared, on the wall clock, with when connect returned and when start
 * returned (negative: the name resolved before the container was running). Also checked
 * once: busybox `nslookup` inside the peer (the real client path, resolv.conf included).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Runtime } from "../../runtime/index.js";
import { errText } from "../proc.js";
import { withTimeout } from "../runtime/helpers.js";
import { summarize } from "../stats.js";
import type { NetEnv } from "./env.js";
import type { NetworkBenchOptions } from "./options.js";
import { testSpec } from "../../runtime/testing/create-spec.js";
import type { ContainerCreateSpec } from "../../runtime/types.js";
import { IMAGE } from "../runtime/helpers.js";
import { SUBNETS } from "./options.js";

const probeJs = path.join(path.dirname(fileURLToPath(import.meta.url)), "dns-probe.js");
const wall = () => performance.timeOrigin + performance.now();

interface Probe {
  ready: Promise<void>;
  result: Promise<{ resolvedAt?: number; timeout?: boolean; error?: string; queries: number }>;
}

function startProbe(netns: string, name: string, server: string, budgetMs: number): Probe {
  const child = spawn("nsenter", [`--net=${netns}`, "--", process.execPath, probeJs, name, server, String(budgetMs)], { stdio: ["ignore", "pipe", "pipe"] });
  const kill = setTimeout(() => child.kill("SIGKILL"), budgetMs + 5000);
  let out = "";
  let err = "";
  let onReady: () => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => ((onReady = res), (onFail = rej)));
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
    if (out.startsWith("ready\n")) onReady();
    else if (out.includes("\n")) onFail(new Error(`dns probe: ${out.trim().slice(0, 200)}`));
  });
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const result = new Promise<Probe extends { result: Promise<infer R> } ? R : never>((res, rej) => {
    child.on("close", (code) => {
      clearTimeout(kill);
      const last = out.trim().split("\n").pop() ?? "";
      try {
        const r = JSON.parse(last);
        onFail(new Error(`probe ended before its first answer: ${last}`));
        res(r);
      } catch {
        const e = new Error(`dns probe exited ${code}: ${(err || out).trim().slice(-400)}`);
        onFail(e);
        rej(e);
      }
    });
  });
  return { ready, result };
}

export const DNS_NET = "btbdns";

function spec(name: string, over: Partial<ContainerCreateSpec>): ContainerCreateSpec {
  return testSpec(name, { image: IMAGE, labels: { "berth.bench": "network" }, command: ["sleep", "3600"], ...over });
}

/** The controller's sequence on DNS_NET (no ports: the network is internal); wall-clock marks. */
async function startOn(rt: Runtime, env: NetEnv, name: string) {
  const t = env.timeoutMs;
  const begin = wall();
  const r = await withTimeout(rt.networks.reserve(DNS_NET, name), t, `reserve ${name}`);
  const c = await withTimeout(rt.containers.create(spec(name, { networkMode: "bridge", dns: { nameservers: [r.gateway], search: [], options: ["ndots:0"] }, hosts: [{ address: r.address, names: [name] }] })), t, `create ${name}`);
  env.ids.add(c.id);
  env.attachments.push([rt.root, name, DNS_NET]);
  await withTimeout(rt.networks.connect({ network: DNS_NET, container: name, netns: c.netns!, ifname: "eth0", names: [name], defaultRoute: true }), t, `connect ${name}`);
  const connected = wall();
  await withTimeout(rt.containers.start(c.id), t, `start ${name}`);
  return { id: c.id, address: r.address, gateway: r.gateway, netns: c.netns!, begin, connected, running: wall() };
}

async function removeOn(rt: Runtime, env: NetEnv, id: string, name: string) {
  await withTimeout(rt.containers.remove(id, { force: true }), env.timeoutMs, `remove ${name}`);
  await withTimeout(rt.networks.release(name), env.timeoutMs, `release ${name}`);
}

/**
 * The network is internal (subnet SUBNETS.dns): names it does not know are NXDOMAIN at once,
 * never forwarded to the host's upstream resolver (the probe's misses stay on this host).
 */
export async function benchDns(rt: Runtime, env: NetEnv, o: NetworkBenchOptions) {
  await rt.networks.create({ name: DNS_NET, internal: true, subnet: SUBNETS.dns, labels: { "berth.bench": "network" } });
  const afterStart: number[] = [];
  const afterConnect: number[] = [];
  const afterBegin: number[] = [];
  const queries: number[] = [];
  const failures: string[] = [];
  let nslookup: { ok: boolean; output: string } | undefined;
  let peer: Awaited<ReturnType<typeof startOn>> | undefined;
  try {
    peer = await startOn(rt, env, "dns-peer");
    for (let i = 0; i < o.dnsRounds; i++) {
      const name = `dns-t${i}`;
      try {
        const probe = startProbe(peer.netns, name, peer.gateway, 8000);
        await withTimeout(probe.ready, 5000, "dns probe ready (no reply from the resolver)");
        const t = await startOn(rt, env, name);
        const res = await probe.result;
        if (i === 0) {
          const x = await rt.containers.exec(peer.id, { argv: ["nslookup", "-type=a", name, peer.gateway], timeoutMs: 10_000 }).catch((e) => ({ exitCode: -1, stdout: "", stderr: errText(e) }));
          const text = `${x.stdout}${x.stderr}`.trim();
          nslookup = { ok: x.exitCode === 0 && text.includes(t.address), output: text.slice(-300) };
        }
        await removeOn(rt, env, t.id, name);
        if (res.resolvedAt === undefined) {
          failures.push(`${name}: ${res.error ?? "not resolved within 8s"}`);
          continue;
        }
        afterStart.push(res.resolvedAt - t.running);
        afterConnect.push(res.resolvedAt - t.connected);
        afterBegin.push(res.resolvedAt - t.begin);
        queries.push(res.queries);
      } catch (err) {
        failures.push(`${name}: ${errText(err)}`);
      }
    }
  } finally {
    if (peer) await removeOn(rt, env, peer.id, "dns-peer").catch(() => {});
    await rt.networks.remove(DNS_NET, { force: true }).catch(() => {});
  }
  return {
    method: "UDP A queries from the peer's netns to its network's resolver (internal network), one in flight, 1 ms apart",
    resolvedAfterRunningMs: summarize(afterStart),
    resolvedAfterConnectMs: summarize(afterConnect),
    resolvedAfterSequenceBeginMs: summarize(afterBegin),
    queriesPerRound: queries,
    peerNslookup: nslookup ?? null,
    failures,
    note: "negative after-running figures: the name resolved before start returned (names follow connect)",
  };
}
