/**
 * Readings of the host's network state that the churn scenario compares before and after:
 * iptables lines of berth's chain prefix, addresses in a root's ipam file, veth ends, and
 * network namespaces. Every reading is a count; what cannot be read is NaN, never an error.
 */
import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { runProcess } from "../../test/helpers/dockerd.js";
import { netnsOfRoot } from "../../test/helpers/net-cleanup.js";
import { netnsNameOf } from "../../runtime/containers/netns.js";
import { PREFIX } from "../../runtime/networks/firewall-rules.js";

export interface HostCounts {
  /** `iptables-save` lines naming the prefix (BTB). */
  iptablesLines: number;
  /** Addresses allocated in <root>/networks/ipam.json, every network. */
  ipamAddresses: number;
  /** `ip -o link` lines with `bv` (every root's veth ends: others' daemons count too). */
  bvLinksAll: number;
  /** Interfaces enslaved to this root's bridges. */
  bridgePorts: number;
  /** /run/netns/berth-* namespaces of this root's containers, and of every container id in `ids` (removed ones too). */
  netns: number;
}

export async function iptablesLines(): Promise<string[]> {
  const r = await runProcess("iptables-save", [], { timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout.split("\n").filter((l) => l.includes(PREFIX)) : [];
}

async function ipamAddresses(root: string): Promise<number> {
  const file = path.join(root, "networks", "ipam.json");
  if (!existsSync(file)) return 0;
  try {
    const doc = JSON.parse(await fs.readFile(file, "utf8")) as { networks: Record<string, { addresses: Record<string, string> }> };
    return Object.values(doc.networks).reduce((n, x) => n + Object.keys(x.addresses).length, 0);
  } catch {
    return NaN;
  }
}

export async function bridgesOf(root: string): Promise<string[]> {
  try {
    const doc = JSON.parse(await fs.readFile(path.join(root, "networks", "state.json"), "utf8")) as { networks: Record<string, { bridge: string }> };
    return Object.values(doc.networks).map((n) => n.bridge);
  } catch {
    return [];
  }
}

export async function countHost(root: string, ids: Iterable<string> = []): Promise<HostCounts> {
  const links = await runProcess("ip", ["-o", "link"], { timeoutMs: 10_000 });
  let bridgePorts = 0;
  for (const b of await bridgesOf(root)) {
    const r = await runProcess("ip", ["-o", "link", "show", "master", b], { timeoutMs: 10_000 });
    if (r.code === 0) bridgePorts += r.stdout.split("\n").filter(Boolean).length;
  }
  return {
    iptablesLines: (await iptablesLines()).length,
    ipamAddresses: await ipamAddresses(root),
    bvLinksAll: links.code === 0 ? links.stdout.split("\n").filter((l) => /: bv/.test(l)).length : NaN,
    bridgePorts,
    netns: new Set([...(await netnsOfRoot(root)), ...[...ids].map(netnsNameOf).filter((n) => existsSync(`/run/netns/${n}`))]).size,
  };
}

/** The keys whose counts differ (bvLinksAll is left out: another root's containers change it). */
export function countsDiffer(a: HostCounts, b: HostCounts): string[] {
  return (["iptablesLines", "ipamAddresses", "bridgePorts", "netns"] as const).filter((k) => a[k] !== b[k]).map((k) => `${k} ${a[k]} → ${b[k]}`);
}
