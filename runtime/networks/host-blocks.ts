/**
 * The address blocks the host already uses — its routes (every table) and interface
 * addresses — which berth's address pools must never hand out: a bridge on a block the host
 * routes elsewhere would cut the host off from it. The bridges of the asking driver are left
 * out (their blocks are its own allocations, known to the address manager).
 */
import { maskOf, parseIPv4, type Cidr } from "./cidr.js";
import { runCommand } from "../snapshots/run-command.js";

export async function hostBlocks(ownBridges: ReadonlySet<string>): Promise<Cidr[]> {
  const [routes, addrs] = await Promise.all([
    runCommand("ip", ["-j", "-4", "route", "show", "table", "all"], { timeoutMs: 10_000 }),
    runCommand("ip", ["-j", "-4", "addr", "show"], { timeoutMs: 10_000 }),
  ]);
  const out: Cidr[] = [];
  const add = (text: string) => {
    try {
      const [addr, len] = text.split("/");
      const prefix = len === undefined ? 32 : Number(len);
      if (!(prefix >= 0 && prefix <= 32)) return;
      out.push({ base: (parseIPv4(addr!) & maskOf(prefix)) >>> 0, prefix });
    } catch {
      /* not an IPv4 block (broadcast, local 127/8 entries are fine to keep) */
    }
  };
  for (const r of JSON.parse(routes || "[]") as { dst?: string; dev?: string; type?: string }[]) {
    if (!r.dst || r.dst === "default" || (r.dev && ownBridges.has(r.dev))) continue;
    if (r.type === "broadcast") continue;
    add(r.dst);
  }
  for (const l of JSON.parse(addrs || "[]") as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[]) {
    if (ownBridges.has(l.ifname)) continue;
    for (const a of l.addr_info ?? []) add(`${a.local}/${a.prefixlen}`);
  }
  return out;
}
