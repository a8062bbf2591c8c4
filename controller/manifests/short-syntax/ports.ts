/**
 * The short syntax of a published port, `[ip:][hostPorts:]containerPorts[/proto]` (Docker's
 * `-p` and Compose's short `ports:` form): `8080:80`, `127.0.0.1:5353:53/udp`, `[::1]:8443:443`,
 * `7000-7001:8000-8001`. Shared by berth manifests and, later, the Compose importer.
 */
import { isIP } from "node:net";
import type { PortMapping } from "../model.js";
import type { Problems, Seg } from "../problems.js";

/** The most ports one range may publish. */
export const MAX_PORT_RANGE = 1000;

function parseRange(text: string): [number, number] {
  const [a, b] = text.split("-");
  return [Number(a), Number(b ?? a)];
}

/**
 * One mapping per port of the range, protocol tcp unless given. On an invalid IP, a port
 * outside 1 to 65535, a reversed range, a range over MAX_PORT_RANGE or host and container
 * ranges of different lengths, reports one problem at `at` and returns [].
 */
export function parsePortShortSyntax(port: string, at: Seg, p: Problems): PortMapping[] {
  let rest = port;
  let protocol: PortMapping["protocol"] = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    protocol = rest.slice(slash + 1) as PortMapping["protocol"];
    rest = rest.slice(0, slash);
  }
  let hostIP: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    hostIP = rest.slice(1, close);
    rest = rest.slice(close + 2);
  } else {
    const parts = rest.split(":");
    if (parts.length === 3) {
      hostIP = parts[0];
      rest = parts.slice(1).join(":");
    }
  }
  if (hostIP !== undefined && !isIP(hostIP)) {
    p.add(at, `expected an IP address before the host port, got ${JSON.stringify(hostIP)}`);
    return [];
  }
  const parts = rest.split(":");
  const containerText = parts[parts.length - 1]!;
  const hostText = parts.length > 1 ? parts[0]! : "";
  const [c0, c1] = parseRange(containerText);
  const hostRange = hostText ? parseRange(hostText) : undefined;
  const bad = [c0, c1, ...(hostRange ?? [])].find((n) => !(n >= 1 && n <= 65535));
  if (bad !== undefined) {
    p.add(at, `port ${bad} is out of range: expected 1 to 65535`);
    return [];
  }
  if (c1 < c0 || (hostRange && hostRange[1] < hostRange[0])) {
    p.add(at, `port range ${JSON.stringify(port)} ends before it starts`);
    return [];
  }
  const count = c1 - c0 + 1;
  if (count > MAX_PORT_RANGE) {
    p.add(at, `port range of ${count} ports is over the limit of ${MAX_PORT_RANGE}`);
    return [];
  }
  if (hostRange && hostRange[1] - hostRange[0] + 1 !== count) {
    p.add(at, `host port range ${hostText} has ${hostRange[1] - hostRange[0] + 1} ports but container range ${containerText} has ${count}`);
    return [];
  }
  const out: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    const m: PortMapping = { containerPort: c0 + i, protocol };
    if (hostRange) m.hostPort = hostRange[0] + i;
    if (hostIP) m.hostIP = hostIP;
    out.push(m);
  }
  return out;
}
