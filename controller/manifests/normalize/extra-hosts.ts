import { isIP } from "node:net";
import type { ContainerSpecInput } from "../../../schemas/index.js";
import type { ContainerSpec } from "../model.js";
import { specPath, type Problems } from "../problems.js";

/** Docker's special address: the gateway of the container's network (host.docker.internal's). */
export const HOST_GATEWAY = "host-gateway";

/**
 * `extraHosts` in order, as Docker's `--add-host` reads them (opts.ValidateExtraHost): a
 * list entry splits at its first '=' when it has one, else at its first ':' (so
 * `h:::1` and `h=::1` are IPv6); an address may be bracketed (`[::1]`). The map form gives a
 * name one address or several, each its own line. Addresses are IPs or `host-gateway`.
 */
export function normalizeExtraHosts(v: ContainerSpecInput["extraHosts"], p: Problems): NonNullable<ContainerSpec["extraHosts"]> {
  const out: NonNullable<ContainerSpec["extraHosts"]> = [];
  const add = (name: string, raw: string, at: (string | number)[]) => {
    const address = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
    if (address !== HOST_GATEWAY && isIP(address) === 0) {
      p.add(specPath("extraHosts", ...at), `invalid address ${JSON.stringify(raw)} for host ${name}`, "use an IPv4 or IPv6 address, or host-gateway");
      return;
    }
    out.push({ name, address });
  };
  if (v === undefined) return out;
  if (Array.isArray(v)) {
    v.forEach((entry, i) => {
      const eq = entry.indexOf("=");
      const at = eq >= 0 ? eq : entry.indexOf(":");
      add(entry.slice(0, at), entry.slice(at + 1), [i]);
    });
    return out;
  }
  for (const [name, value] of Object.entries(v)) {
    if (Array.isArray(value)) value.forEach((a, i) => add(name, a, [name, i]));
    else add(name, value, [name]);
  }
  return out;
}
