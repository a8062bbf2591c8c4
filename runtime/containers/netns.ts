/**
 * Persistent network namespaces of containers (issue 9). Every container that does not use
 * the host's network gets its own namespace, made at create as `/run/netns/berth-<id>` with
 * `ip netns add` (argv only) and kept until the container is removed — across its restarts,
 * so its interfaces, addresses and published ports stay put while it is down, and a container
 * sharing it (`networkMode: container:<name>`) keeps working when it restarts.
 *
 * Contract:
 * - `netnsNameOf(id)`: `berth-` + the first 16 hex digits of the id (ids are 64 hex).
 * - `ensureNetns(name)`: the namespace exists with `lo` up; idempotent (after a reboot the
 *   file is gone from the tmpfs /run and is made again, empty: the network driver re-attaches).
 * - `removeNetns(name)`: idempotent; the veth peers inside go with it.
 */
import { existsSync } from "node:fs";
import { invalidArgument } from "../../lib/errors.js";
import { runCommand } from "../snapshots/run-command.js";

const NETNS_DIR = "/run/netns";
const NAME_RE = /^berth-[0-9a-f]{16}$/;

/** True when the container gets a network namespace of its own (made at create): none and bridge modes. */
export function hasOwnNetns(spec: { networkMode: string }): boolean {
  return spec.networkMode === "none" || spec.networkMode === "bridge";
}

export function netnsNameOf(id: string): string {
  return `berth-${id.slice(0, 16)}`;
}

export function netnsPathOf(name: string): string {
  check(name);
  return `${NETNS_DIR}/${name}`;
}

function check(name: string): void {
  if (!NAME_RE.test(name)) throw invalidArgument(`network namespace ${JSON.stringify(name)}: expected berth-<16 hex digits>`);
}

export async function ensureNetns(name: string): Promise<string> {
  const p = netnsPathOf(name);
  if (existsSync(p)) return p; // lo is up: set when it was made (and again by every attach)
  await runCommand("ip", ["netns", "add", name], { timeoutMs: 10_000 }).catch((err) => {
    if (!existsSync(p)) throw err; // made meanwhile is fine
  });
  await runCommand("ip", ["-n", name, "link", "set", "dev", "lo", "up"], { timeoutMs: 10_000 });
  return p;
}

export async function removeNetns(name: string): Promise<void> {
  const p = netnsPathOf(name);
  if (!existsSync(p)) return;
  await runCommand("ip", ["netns", "del", name], { timeoutMs: 10_000 }).catch((err) => {
    if (existsSync(p)) throw err;
  });
}

/** The id of the container whose network namespace `spec` shares (`container:<id>`), if any. */
export function sharedContainerId(spec: { networkMode: string }): string | undefined {
  return spec.networkMode.startsWith("container:") ? spec.networkMode.slice("container:".length) : undefined;
}
