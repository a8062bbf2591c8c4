import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { netnsNameOf, removeNetns } from "../../runtime/containers/netns.js";
import { removeBridge } from "../../runtime/networks/bridge.js";
import { Firewall } from "../../runtime/networks/firewall.js";
import { PREFIX } from "../../runtime/networks/firewall-rules.js";

/**
 * Host network state a test root made: the network namespaces of its containers
 * (`/run/netns/berth-<id>`, made at create, removed with the container), the bridges of its
 * networks (`<root>/networks/state.json`), and the iptables chains of the test project's
 * chain prefix (vitest.config.ts sets BERTH_FIREWALL_PREFIX per project; test files of a
 * project run one at a time). A test that removes its root without removing everything
 * through berth cleans with `cleanNetworksOfRoot`; `netLeftovers` says what is left.
 */
export async function containerIds(root: string): Promise<string[]> {
  const dir = path.join(root, "containers");
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => /^[0-9a-f]{64}$/.test(n));
}

/** The namespaces of the root's containers that exist on the host. */
export async function netnsOfRoot(root: string): Promise<string[]> {
  return netnsOfIds(await containerIds(root));
}

/** The namespaces of these containers that exist on the host. */
export function netnsOfIds(ids: string[]): string[] {
  return ids.map(netnsNameOf).filter((n) => existsSync(`/run/netns/${n}`));
}

async function bridgesOfRoot(root: string): Promise<string[]> {
  try {
    const doc = JSON.parse(await fs.readFile(path.join(root, "networks", "state.json"), "utf8")) as { networks: Record<string, { bridge: string }> };
    return Object.values(doc.networks).map((n) => n.bridge);
  } catch {
    return [];
  }
}

export async function cleanNetworksOfRoot(root: string): Promise<void> {
  for (const n of await netnsOfRoot(root)) await removeNetns(n).catch(() => {});
  for (const b of await bridgesOfRoot(root)) await removeBridge(b).catch(() => {});
  if (PREFIX !== "BERTH" && existsSync(path.join(root, "networks"))) await new Firewall().teardown({ all: true }).catch(() => {});
}

/**
 * What of networks and containers is still on the host: the root's namespaces and bridges,
 * any berth bridge or veth (`bb…`, `bv…`), and the rules of the test prefix that name a
 * bridge or a container's port chain (the base chains and hooks stay until teardown).
 */
export async function netLeftovers(root: string): Promise<string[]> {
  const out = (await netnsOfRoot(root)).map((n) => `netns ${n}`);
  for (const b of await bridgesOfRoot(root)) if (existsSync(`/sys/class/net/${b}`)) out.push(`bridge ${b}`);
  if (PREFIX !== "BERTH") {
    for (const t of await new Firewall().rules()) for (const l of t.lines) if (/\bbb[0-9a-f]{12}\b|-P-[0-9a-f]{10}\b/.test(l)) out.push(`${t.table}: ${l}`);
  }
  return out;
}

/** Every berth-made interface on the host (bridges `bb…`, veth ends `bv…`), of any root. */
export async function berthLinks(): Promise<string[]> {
  const names = await fs.readdir("/sys/class/net").catch(() => [] as string[]);
  return names.filter((n) => /^b[bv][0-9a-f]{12}p?$/.test(n)).sort();
}
