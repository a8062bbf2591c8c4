/**
 * Opens the embedded network driver of a runtime root: the host firewall (iptables, berth's
 * own chains) and the resolver on every network's gateway, behind driver.ts.
 */
import { DnsServer } from "./dns/resolver.js";
import { EmbeddedNetworkDriver, type NetworkDriverOptions } from "./driver.js";
import { Firewall } from "./firewall.js";

export interface OpenNetworksOptions {
  root: string;
  log?: NetworkDriverOptions["log"] & { debug?(obj: object, msg: string): void };
  /** Tests: the resolver's port (default 53). */
  dnsPort?: number;
  firewall?: NetworkDriverOptions["firewall"];
  pools?: NetworkDriverOptions["pools"];
}

/**
 * The resolvers names are forwarded to: `BERTH_DNS_UPSTREAMS` ("ip[:port]" list, comma
 * separated; "none": forward nothing, answer SERVFAIL), else the host's /etc/resolv.conf.
 * berth's test suites set it, so that no test query leaves the host.
 */
export function dnsUpstreamsFromEnv(text = process.env.BERTH_DNS_UPSTREAMS): string[] | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  if (text.trim() === "none") return [];
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

export function openNetworkDriver(o: OpenNetworksOptions): Promise<EmbeddedNetworkDriver> {
  const upstreams = dnsUpstreamsFromEnv();
  return EmbeddedNetworkDriver.open({
    root: o.root,
    ...(o.pools ? { pools: o.pools } : {}),
    firewall: o.firewall ?? new Firewall(),
    resolver: (view) => new DnsServer({ view, ...(upstreams ? { upstreams } : {}), ...(o.dnsPort !== undefined ? { port: o.dnsPort } : {}), ...(o.log ? { log: o.log } : {}) }),
    ...(o.log ? { log: o.log } : {}),
  });
}
