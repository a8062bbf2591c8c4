/**
 * Linux bridges and veth attachments with iproute2 (`ip`, argv only, never a shell): the
 * data path of berth's bridge networks (issue 9). Facts and mechanics only — which network
 * a container joins, and with which address (ipam.ts), is the controller's.
 *
 * Contract:
 * - `ensureBridge(name, gateway)`: the bridge exists, is up, and holds the gateway address
 *   (e.g. `172.18.0.1/16`); idempotent (an existing bridge keeps its other addresses).
 * - `attach(bridge, netns, {ifname, hostIfname, address, gateway?})`: a veth pair, its host
 *   end enslaved to the bridge, its peer moved into the network namespace `netns` (a path:
 *   `/proc/<pid>/ns/net` or `/run/netns/<name>`), renamed `ifname`, given `address`, up, with
 *   loopback up and — when `gateway` is given — a default route through it. Idempotent for
 *   the same host interface name: an earlier attempt's half-made veth is removed first.
 * - `detach(hostIfname)` and `removeBridge(name)`: idempotent (gone is fine).
 * - Names are checked (Linux interface names: at most 15 characters of [A-Za-z0-9_.-]),
 *   addresses parsed (cidr.ts) before anything runs: InvalidArgument.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { execFile } from "../proc/exec-file.js";
import { internal, invalidArgument, isBerthError } from "../../lib/errors.js";
import { runCommand } from "../snapshots/run-command.js";
import { formatIPv4, parseCidr, parseIPv4 } from "./cidr.js";

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function checkIfname(name: string, what: string): string {
  if (!IFNAME_RE.test(name) || name === "." || name === "..") throw invalidArgument(`${what} ${JSON.stringify(name)}: expected an interface name of at most 15 characters [A-Za-z0-9_.-]`);
  return name;
}

/** `172.18.0.1/16`: an address with its prefix length (the host bits may be set). */
function checkAddress(text: string, what: string): string {
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  if (!m || Number(m[2]) > 32) throw invalidArgument(`${what} ${JSON.stringify(text)}: expected an address with a prefix, like 172.18.0.2/16`);
  parseIPv4(m[1]!);
  return text;
}

const ip = (args: string[]) => runCommand("ip", args, { timeoutMs: 10_000 });
const inNetns = (netns: string, args: string[]) => runCommand("nsenter", [`--net=${netns}`, "--", "ip", ...args], { timeoutMs: 10_000 });

/**
 * Whether the host has a link of this (checked) name: its /sys/class/net entry, which the
 * kernel makes before it answers the link's creation — no `ip` process, which costs
 * milliseconds on every container's attach. `ip link show` where sysfs is not mounted.
 */
async function linkExists(name: string): Promise<boolean> {
  try {
    await fs.lstat(path.join(SYS_CLASS_NET, name));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && (await sysfsNet())) return false;
  }
  try {
    await ip(["link", "show", "dev", name]);
    return true;
  } catch (err) {
    if (isBerthError(err)) return false;
    throw err;
  }
}

const SYS_CLASS_NET = "/sys/class/net";
let sysfsNetSeen: boolean | undefined;

/** /sys/class/net is there (it has `lo`). */
async function sysfsNet(): Promise<boolean> {
  sysfsNetSeen ??= await fs.lstat(path.join(SYS_CLASS_NET, "lo")).then(
    () => true,
    () => false,
  );
  return sysfsNetSeen;
}

/** The bridge an interface is enslaved to; undefined when it has none or does not exist. */
export async function linkMaster(name: string): Promise<string | undefined> {
  checkIfname(name, "interface");
  try {
    const links = JSON.parse(await ip(["-j", "link", "show", "dev", name])) as { master?: string }[];
    return links[0]?.master;
  } catch (err) {
    if (isBerthError(err)) return undefined;
    throw err;
  }
}

export async function ensureBridge(name: string, gateway: string): Promise<void> {
  checkIfname(name, "bridge");
  checkAddress(gateway, "bridge gateway");
  if (!(await linkExists(name))) {
    // A fixed address: a bridge otherwise takes the lowest of its ports' addresses and changes
    // it as containers come and go, and its containers' ARP caches would then send traffic for
    // the gateway (their resolver, their way out) to an address that is gone.
    await ip(["link", "add", "name", name, "address", bridgeMac(name), "type", "bridge"]).catch(async (err) => {
      if (!(await linkExists(name))) throw err; // created meanwhile is fine
    });
  }
  const addrs = JSON.parse(await ip(["-j", "addr", "show", "dev", name])) as { addr_info?: { local: string; prefixlen: number }[] }[];
  const has = (addrs[0]?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === gateway);
  if (!has) await ip(["addr", "add", gateway, "dev", name]);
  await ip(["link", "set", "dev", name, "up"]);
}

/** A locally administered unicast MAC derived from the bridge's name: `02:` + 5 bytes of sha256. */
export function bridgeMac(name: string): string {
  const h = createHash("sha256").update(name).digest();
  return ["02", ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

export async function removeBridge(name: string): Promise<void> {
  checkIfname(name, "bridge");
  if (await linkExists(name)) await ip(["link", "del", "dev", name]).catch(async (err) => {
    if (await linkExists(name)) throw err;
  });
}

export interface Attachment {
  /** The interface name inside the namespace, e.g. `eth0`. */
  ifname: string;
  /** The host end's name (unique on the host), e.g. `bv` + 10 hex digits. */
  hostIfname: string;
  /** `172.18.0.2/16`. */
  address: string;
  /** The default route's next hop (the bridge's address); none for an internal network. */
  gateway?: string;
}

export async function attach(bridge: string, netns: string, a: Attachment): Promise<void> {
  checkIfname(bridge, "bridge");
  checkIfname(a.ifname, "interface");
  checkIfname(a.hostIfname, "host interface");
  checkAddress(a.address, "address");
  if (a.gateway !== undefined) parseIPv4(a.gateway);
  if (!/^\/[A-Za-z0-9_.\/-]+$/.test(netns) || netns.split("/").includes("..")) throw invalidArgument(`attach to ${JSON.stringify(netns)}: expected the path of a network namespace`);
  await detach(a.hostIfname); // a half-made pair from an earlier attempt
  const peer = `${a.hostIfname}p`.slice(0, 15);
  // Two `ip -batch` runs (one per namespace) instead of ten `ip` processes: each exec costs
  // milliseconds, and this is on every container's start path.
  try {
    await ipBatch([], [
      `link add name ${a.hostIfname} type veth peer name ${peer}`,
      `link set dev ${a.hostIfname} master ${bridge}`,
      `link set dev ${a.hostIfname} up`,
      `link set dev ${peer} netns ${netns}`,
    ]);
    const inside = [`link set dev ${peer} name ${a.ifname}`, `addr add ${a.address} dev ${a.ifname}`, `link set dev ${a.ifname} up`, "link set dev lo up"];
    if (a.gateway !== undefined) inside.push(`route replace default via ${a.gateway} dev ${a.ifname}`);
    const named = /^\/run\/netns\/([A-Za-z0-9_.-]+)$/.exec(netns)?.[1];
    if (named) await ipBatch(["-n", named], inside);
    else for (const line of inside) await inNetns(netns, line.split(" "));
  } catch (err) {
    await detach(a.hostIfname).catch(() => {});
    throw err;
  }
}

/**
 * `ip [global] -batch -` with one command per line on stdin. Every word was checked above
 * (interface names, addresses, a namespace path without spaces): nothing here is a shell.
 */
function ipBatch(global: string[], lines: string[]): Promise<void> {
  for (const l of lines) if (/[\n\r\0]/.test(l)) return Promise.reject(invalidArgument("ip batch: a command with a line break"));
  return new Promise((resolve, reject) => {
    execFile("ip", [...global, "-batch", "-"], { timeout: 10_000, env: { ...process.env, LC_ALL: "C" }, input: `${lines.join("\n")}\n` }, (err, _stdout, stderr) => {
      if (err) reject(internal(`run ip: ${String(stderr).trim() || err.message}`, { cause: err }));
      else resolve();
    });
  });
}

/** Deletes the host end (its peer goes with it). */
export async function detach(hostIfname: string): Promise<void> {
  checkIfname(hostIfname, "host interface");
  if (await linkExists(hostIfname)) await ip(["link", "del", "dev", hostIfname]).catch(async (err) => {
    if (await linkExists(hostIfname)) throw err;
  });
}

/** The gateway address with the subnet's prefix, as a bridge holds it: (`172.18.0.0/16`, `172.18.0.1`) → `172.18.0.1/16`. */
export function gatewayCidr(subnet: string, gateway: string): string {
  const c = parseCidr(subnet);
  return `${formatIPv4(parseIPv4(gateway))}/${c.prefix}`;
}
