/**
 * Persistent network namespaces of containers (issue 9). Every container that does not use
 * the host's network has its own namespace at `/run/netns/berth-<id>`, kept until the
 * container is removed — across its restarts, so its interfaces, addresses and published
 * ports stay put while it is down, and a container sharing it (`networkMode:
 * container:<name>`) keeps working when it restarts.
 *
 * When it is made:
 * - bridge: at create, with `ip netns add` (argv only), because the network driver attaches
 *   the container's veths to it before it first runs.
 * - none: by the container's first run — runc makes a new namespace (and brings `lo` up, as
 *   for any namespace it makes), and berth binds it to the path (a bind mount of the namespace,
 *   as `ip netns attach` makes) while `runc start` runs. This keeps two process spawns off the start path (`ip netns add`,
 *   `ip link set lo up`: a tenth of a start here). Later runs join the bound namespace.
 *
 * Contract:
 * - `netnsNameOf(id)`: `berth-` + the first 16 hex digits of the id (ids are 64 hex).
 * - `netnsMadeAtCreate(spec)`: bridge mode.
 * - `netnsBound(path)`: a namespace is bound at the path (not merely a file there: `ip netns
 *   add` or `attach` cut short by a crash leave an empty file, which is not a namespace).
 * - `ensureNetns(name)`: the namespace exists with `lo` up; idempotent (after a reboot the
 *   file is gone from the tmpfs /run and is made again, empty: the network driver re-attaches).
 * - `holdNetnsOf(pid)` then `bindHeldNetns(name, handle)`: binds the namespace of process
 *   `pid` at the path, even if the process exited in between; `bindNetnsOf(name, pid)` does
 *   both. Idempotent when that namespace is bound there already; InvalidArgument when
 *   another is.
 * - `removeNetns(name)`: idempotent; the veth peers inside go with it.
 */
import { existsSync, promises as fs, statSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { invalidArgument } from "../../lib/errors.js";
import { runCommand } from "../snapshots/run-command.js";

const NETNS_DIR = "/run/netns";
const NAME_RE = /^berth-[0-9a-f]{16}$/;

/** True when the container has a network namespace of its own: none and bridge modes. */
export function hasOwnNetns(spec: { networkMode: string }): boolean {
  return spec.networkMode === "none" || spec.networkMode === "bridge";
}

/** True when the namespace is made at create (bridge: attached before the first run); else by the first run. */
export function netnsMadeAtCreate(spec: { networkMode: string }): boolean {
  return spec.networkMode === "bridge";
}

/** A namespace is bound at `p` (nsfs, another device than /run/netns itself). */
export function netnsBound(p: string): boolean {
  try {
    return statSync(p).dev !== statSync(NETNS_DIR).dev;
  } catch {
    return false;
  }
}

/** An empty file where a cut-short `ip netns add`/`attach` left it: removed, so the name can be made. */
async function dropUnbound(p: string): Promise<void> {
  if (existsSync(p) && !netnsBound(p)) await fs.rm(p, { force: true });
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
  if (netnsBound(p)) return p; // lo is up: set when it was made (and again by every attach)
  await dropUnbound(p);
  await runCommand("ip", ["netns", "add", name], { timeoutMs: 10_000 }).catch((err) => {
    if (!netnsBound(p)) throw err; // made meanwhile is fine
  });
  await runCommand("ip", ["-n", name, "link", "set", "dev", "lo", "up"], { timeoutMs: 10_000 });
  return p;
}

/**
 * A handle on the network namespace of process `pid`: the namespace lives as long as the
 * handle, so `bindHeldNetns` can bind it after the process exited (a container that ends
 * at once).
 */
export function holdNetnsOf(pid: number): Promise<FileHandle> {
  if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`hold a network namespace: invalid pid ${pid}`);
  return fs.open(`/proc/${pid}/ns/net`, "r");
}

/** Binds the held namespace at the path of `name`; idempotent when it is bound there already. */
export async function bindHeldNetns(name: string, held: FileHandle): Promise<string> {
  const p = netnsPathOf(name);
  const ns = await held.stat();
  if (netnsBound(p)) {
    const bound = statSync(p);
    if (bound.ino === ns.ino && bound.dev === ns.dev) return p;
    throw invalidArgument(`bind network namespace ${name}: another namespace is bound there`);
  }
  await prepareNetnsDir();
  await dropUnbound(p);
  await fs.writeFile(p, "", { flag: "wx", mode: 0o444 });
  // the magic link of our own descriptor resolves to the namespace (as /proc/<pid>/ns/net does for `ip netns attach`)
  await runCommand("mount", ["--bind", `/proc/${process.pid}/fd/${held.fd}`, p], { timeoutMs: 10_000 }).catch(async (err) => {
    await fs.rm(p, { force: true });
    throw err;
  });
  return p;
}

export async function bindNetnsOf(name: string, pid: number): Promise<string> {
  const held = await holdNetnsOf(pid);
  try {
    return await bindHeldNetns(name, held);
  } finally {
    await held.close();
  }
}

let netnsDirReady: Promise<void> | undefined;

/**
 * /run/netns as `ip netns` keeps it: a mount point of its own with shared propagation, so
 * that a namespace unbound here is unbound in every mount namespace made since (which else
 * keep copies of the binding and with them the namespace). Once per process.
 */
function prepareNetnsDir(): Promise<void> {
  netnsDirReady ??= (async () => {
    await fs.mkdir(NETNS_DIR, { recursive: true, mode: 0o755 });
    const line = (await fs.readFile("/proc/self/mountinfo", "utf8")).split("\n").find((l) => l.split(" ")[4] === NETNS_DIR);
    if (!line) await runCommand("mount", ["--rbind", NETNS_DIR, NETNS_DIR], { timeoutMs: 10_000 });
    if (!line || !/ shared:\d+/.test(line)) await runCommand("mount", ["--make-rshared", NETNS_DIR], { timeoutMs: 10_000 });
  })().catch((err: unknown) => {
    netnsDirReady = undefined;
    throw err;
  });
  return netnsDirReady;
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
