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
}

export function openNetworkDriver(o: OpenNetworksOptions): Promise<EmbeddedNetworkDriver> {
  return EmbeddedNetworkDriver.open({
    root: o.root,
    firewall: o.firewall ?? new Firewall(),
    resolver: (view) => new DnsServer({ view, ...(o.dnsPort !== undefined ? { port: o.dnsPort } : {}), ...(o.log ? { log: o.log } : {}) }),
    ...(o.log ? { log: o.log } : {}),
  });
}
