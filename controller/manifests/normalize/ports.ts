import { isIP } from "node:net";
import type { ContainerSpecInput } from "../../../schemas/index.js";
import type { PortMapping } from "../model.js";
import type { Problems, Seg } from "../problems.js";
import { parsePortShortSyntax } from "../short-syntax/ports.js";

type PortInput = NonNullable<ContainerSpecInput["ports"]>[number];

/** A container's `ports`: every form expanded to one mapping per port, then no host port published twice. */
export function normalizePorts(ports: PortInput[], at: Seg, p: Problems): PortMapping[] {
  const out = ports.flatMap((port, i) => normalizePort(port, [...at, i], p));
  checkPortConflicts(out, at, p);
  return out;
}

function normalizePort(port: string | number | { containerPort: number; hostPort?: number; hostIP?: string; protocol?: "tcp" | "udp" | "sctp" }, at: Seg, p: Problems): PortMapping[] {
  if (typeof port === "number") return [{ containerPort: port, protocol: "tcp" }];
  if (port === null || (typeof port !== "string" && typeof port !== "object")) return []; // a schema error already
  if (typeof port === "object") {
    if (port.hostIP !== undefined && !isIP(port.hostIP)) {
      p.add([...at, "hostIP"], `expected an IP address, got ${JSON.stringify(port.hostIP)}`);
      return [];
    }
    const m: PortMapping = { containerPort: port.containerPort, protocol: port.protocol ?? "tcp" };
    if (port.hostPort) m.hostPort = port.hostPort;
    if (port.hostIP) m.hostIP = port.hostIP;
    return [m];
  }
  return parsePortShortSyntax(port, at, p);
}

function checkPortConflicts(ports: PortMapping[], at: Seg, p: Problems) {
  const seen = new Set<string>();
  for (const m of ports) {
    if (m.hostPort === undefined) continue;
    const key = `${m.hostIP ?? "*"}:${m.hostPort}/${m.protocol}`;
    if (seen.has(key)) p.add(at, `host port ${m.hostPort}/${m.protocol} is published twice`);
    seen.add(key);
  }
}
