import { isIP } from "node:net";
import type { NetworkSpecInput } from "../../../schemas/index.js";
import type { NetworkSpec } from "../model.js";
import { specPath, type Problems } from "../problems.js";

/**
 * The spec of a Network object (a bridge). An IPv4 subnet must have no host bits set and room
 * for a gateway and containers; a gateway needs a subnet and must be a host address inside it.
 */
export function normalizeNetwork(s: NetworkSpecInput, p: Problems): NetworkSpec {
  const spec: NetworkSpec = { driver: "bridge", internal: s.internal ?? false };
  if (s.subnet) {
    const [addr, bitsText] = s.subnet.split("/") as [string, string];
    const bits = Number(bitsText);
    const v = isIP(addr);
    if (v === 0 || (v === 4 && bits > 32) || (v === 6 && bits > 128)) {
      p.add(specPath("subnet"), `expected a subnet in CIDR notation such as 10.89.0.0/24, got ${JSON.stringify(s.subnet)}`);
    } else if (v === 4) {
      const base = ipv4ToInt(addr)!;
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if ((base & mask) >>> 0 !== base) {
        p.add(specPath("subnet"), `${s.subnet} has host bits set`, `did you mean "${intToIpv4((base & mask) >>> 0)}/${bits}"?`);
      }
      if (bits > 30) p.add(specPath("subnet"), `a /${bits} subnet has no room for a gateway and containers`, "use /30 or larger");
      if (s.gateway) {
        const gw = ipv4ToInt(s.gateway);
        if (gw === undefined) p.add(specPath("gateway"), `expected an IPv4 address, got ${JSON.stringify(s.gateway)}`);
        else if (((gw & mask) >>> 0) !== ((base & mask) >>> 0)) p.add(specPath("gateway"), `gateway ${s.gateway} is outside subnet ${s.subnet}`);
        else if (gw === base || gw === ((base | ~mask) >>> 0)) p.add(specPath("gateway"), `gateway ${s.gateway} is the network or broadcast address of ${s.subnet}`);
      }
    }
    spec.subnet = s.subnet;
  } else if (s.gateway) {
    p.add(specPath("gateway"), "gateway needs a subnet", "add spec.subnet");
  }
  if (s.gateway) spec.gateway = s.gateway;
  return spec;
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}
