import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import type { ContainerCreateSpec, NetworkModeSpec } from "../types.js";

/**
 * The per-container /etc/hosts, /etc/resolv.conf and /etc/hostname that are bind-mounted
 * into the container. Contents are pure functions of the spec and the host's files;
 * `writeEtcFiles` (re)writes them on every start, so host changes reach restarted containers.
 *
 * - host: the host's hosts and resolv.conf as they are.
 * - none: loopback names only, and a resolv.conf without nameservers (lookups of anything
 *   but /etc/hosts fail fast instead of timing out).
 * - bridge: loopback names plus the container's own addresses and names (`spec.hosts`), and
 *   its networks' resolvers (`spec.dns`: the embedded resolver on each network's gateway,
 *   which answers the names of the containers on the same networks and forwards the rest).
 * - container:<id>: the other container's files (start.ts passes them in as `shared`).
 * - `extraHosts` (Docker's --add-host) are appended in every mode, after the rest.
 * - host mode with `dns`: the given nameservers, search and options, each defaulting to the host's.
 */

type EtcSpec = Pick<ContainerCreateSpec, "dns" | "hosts" | "extraHosts"> & { networkMode: NetworkModeSpec };

const extraLines = (spec: EtcSpec) => (spec.extraHosts ?? []).filter((h) => h.names.length).map((h) => `${h.address}\t${h.names.join(" ")}\n`).join("");

export function hostsContent(spec: EtcSpec, hostname: string, hostHosts: string | undefined): string {
  if (spec.networkMode === "host" && hostHosts !== undefined) return `${hostHosts.endsWith("\n") || hostHosts === "" ? hostHosts : `${hostHosts}\n`}${extraLines(spec)}`;
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
  ];
  const own = spec.networkMode === "bridge" ? (spec.hosts ?? []).filter((h) => h.names.length) : [];
  // The hostname resolves to the container's first address (as Docker writes it).
  for (const [i, h] of own.entries()) lines.push(`${h.address}\t${(i === 0 && !h.names.includes(hostname) ? [hostname, ...h.names] : h.names).join(" ")}`);
  if (!own.length) lines.push(`127.0.1.1\t${hostname}`);
  lines.push("");
  return lines.join("\n") + extraLines(spec);
}

export function resolvConfContent(spec: EtcSpec, hostResolv: string | undefined): string {
  if (spec.networkMode === "host" && spec.dns) {
    const host = (hostResolv ?? "").split("\n").map((l) => l.trim().split(/\s+/));
    const of = (key: string) => host.filter((w) => w[0] === key).flatMap((w) => w.slice(1));
    const nameservers = spec.dns.nameservers.length ? spec.dns.nameservers : of("nameserver");
    const search = spec.dns.search.length ? spec.dns.search : of("search");
    const options = spec.dns.options.length ? spec.dns.options : of("options");
    const lines = ["# berth: the container's dns settings over the host's", ...nameservers.map((n) => `nameserver ${n}`)];
    if (search.length) lines.push(`search ${search.join(" ")}`);
    if (options.length) lines.push(`options ${options.join(" ")}`);
    return `${lines.join("\n")}\n`;
  }
  if (spec.networkMode === "host") {
    const text = hostResolv ?? "";
    return text.endsWith("\n") || text === "" ? text : `${text}\n`;
  }
  if (spec.networkMode === "bridge" && spec.dns && spec.dns.nameservers.length) {
    const lines = ["# berth: the resolvers of this container's networks"];
    // As Docker's "# ExtServers:" line: the container's own dns, which its resolvers forward to.
    if (spec.dns.upstreams?.length) lines.push(`# berth: other names are forwarded to ${spec.dns.upstreams.join(" ")}`);
    for (const ns of spec.dns.nameservers) lines.push(`nameserver ${ns}`);
    if (spec.dns.search.length) lines.push(`search ${spec.dns.search.join(" ")}`);
    if (spec.dns.options.length) lines.push(`options ${spec.dns.options.join(" ")}`);
    return `${lines.join("\n")}\n`;
  }
  return "# berth: no network, no nameservers\noptions ndots:0 timeout:1 attempts:1\n";
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

export interface EtcFiles {
  hosts: string;
  resolvConf: string;
  hostname: string;
}

/**
 * Writes the three files into `dir` (created if missing) and returns their paths. `shared`:
 * the hosts and resolv.conf contents of the container whose network this one shares.
 */
export async function writeEtcFiles(dir: string, spec: EtcSpec, hostname: string, shared?: { hosts: string; resolvConf: string }): Promise<EtcFiles> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const files = {
    hosts: path.join(dir, "hosts"),
    resolvConf: path.join(dir, "resolv.conf"),
    hostname: path.join(dir, "hostname"),
  };
  const [hostHosts, hostResolv] = shared ? [undefined, undefined] : await Promise.all([readIfExists("/etc/hosts"), readIfExists("/etc/resolv.conf")]);
  await writeFileAtomic(files.hosts, shared ? shared.hosts : hostsContent(spec, hostname, hostHosts));
  await writeFileAtomic(files.resolvConf, shared ? shared.resolvConf : resolvConfContent(spec, hostResolv));
  await writeFileAtomic(files.hostname, `${hostname}\n`);
  return files;
}

/** The hosts and resolv.conf of a started container's bundle (`shared` for its sharers). */
export async function readEtcFiles(dir: string): Promise<{ hosts: string; resolvConf: string } | undefined> {
  const [hosts, resolvConf] = await Promise.all([readIfExists(path.join(dir, "hosts")), readIfExists(path.join(dir, "resolv.conf"))]);
  return hosts !== undefined && resolvConf !== undefined ? { hosts, resolvConf } : undefined;
}
