import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../lib/atomic-file.js";

/**
 * The per-container /etc/hosts, /etc/resolv.conf and /etc/hostname that are bind-mounted
 * into the container. Contents are pure functions of the network mode and the host's files;
 * `writeEtcFiles` (re)writes them on every start, so host changes reach restarted containers.
 */

export type NetworkMode = "host" | "none";

export function hostsContent(mode: NetworkMode, hostname: string, hostHosts: string | undefined): string {
  if (mode === "host" && hostHosts !== undefined) return hostHosts.endsWith("\n") || hostHosts === "" ? hostHosts : `${hostHosts}\n`;
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    `127.0.1.1\t${hostname}`,
    "",
  ].join("\n");
}

/**
 * Host mode: the host's resolv.conf as is. None: the container has only `lo`, so a file
 * without nameservers (lookups of anything but /etc/hosts fail fast instead of timing out).
 */
export function resolvConfContent(mode: NetworkMode, hostResolv: string | undefined): string {
  if (mode === "host") {
    const text = hostResolv ?? "";
    return text.endsWith("\n") || text === "" ? text : `${text}\n`;
  }
  return "# berth: network mode none, no nameservers\noptions ndots:0 timeout:1 attempts:1\n";
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Writes the three files into `dir` (created if missing) and returns their paths. */
export async function writeEtcFiles(dir: string, mode: NetworkMode, hostname: string) {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const files = {
    hosts: path.join(dir, "hosts"),
    resolvConf: path.join(dir, "resolv.conf"),
    hostname: path.join(dir, "hostname"),
  };
  const [hostHosts, hostResolv] = await Promise.all([readIfExists("/etc/hosts"), readIfExists("/etc/resolv.conf")]);
  await writeFileAtomic(files.hosts, hostsContent(mode, hostname, hostHosts));
  await writeFileAtomic(files.resolvConf, resolvConfContent(mode, hostResolv));
  await writeFileAtomic(files.hostname, `${hostname}\n`);
  return files;
}
