import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { netnsNameOf, removeNetns } from "../../runtime/containers/netns.js";

/**
 * Host network state a test root made: the network namespaces of its containers
 * (`/run/netns/berth-<id>`, made at create, removed with the container). A test that
 * removes its root without removing its containers cleans them with `cleanNetworksOfRoot`,
 * and its leftover check asserts `netnsOfRoot` is empty.
 */
async function containerIds(root: string): Promise<string[]> {
  const dir = path.join(root, "containers");
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => /^[0-9a-f]{64}$/.test(n));
}

/** The namespaces of the root's containers that exist on the host. */
export async function netnsOfRoot(root: string): Promise<string[]> {
  return (await containerIds(root)).map(netnsNameOf).filter((n) => existsSync(`/run/netns/${n}`));
}

export async function cleanNetworksOfRoot(root: string): Promise<void> {
  for (const n of await netnsOfRoot(root)) await removeNetns(n).catch(() => {});
}
