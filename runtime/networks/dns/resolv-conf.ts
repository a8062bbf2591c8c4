/**
 * Upstream resolvers: the host's /etc/resolv.conf (`nameserver` lines) and the
 * "ip" / "ip:port" / "[ipv6]:port" spelling of DnsServerOptions.upstreams. Pure.
 */
import { isIP } from "node:net";
import { invalidArgument } from "../../../lib/errors.js";
import type { Upstream } from "./types.js";

/**
 * The nameservers of a resolv.conf text, in file order, without duplicates: IPv4 and IPv6
 * (a zone like `fe80::1%eth0` is kept). Comments (`#`, `;`, whole-line or trailing), other
 * keywords and lines whose address does not parse are ignored — resolv(5) does the same.
 */
export function hostUpstreams(resolvConfText: string): string[] {
  const out: string[] = [];
  for (const raw of resolvConfText.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [keyword, address, ...rest] = line.split(/\s+/);
    if (keyword !== "nameserver" || address === undefined || rest.length > 0) continue;
    if (isIP(address) === 0 || out.includes(address)) continue;
    out.push(address);
  }
  return out;
}

/** `1.1.1.1`, `1.1.1.1:5353`, `2001:db8::1`, `[2001:db8::1]:5353`. InvalidArgument otherwise. */
export function parseUpstream(text: string): Upstream {
  const bad = () => invalidArgument(`parse upstream resolver ${JSON.stringify(text)}: expected an IP address, ip:port or [ipv6]:port`);
  let host = text;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::([0-9]{1,5}))?$/.exec(text);
  const v4port = /^([0-9.]+):([0-9]{1,5})$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
    if (isIP(host) !== 6) throw bad();
  } else if (v4port) {
    host = v4port[1]!;
    port = Number(v4port[2]);
    if (isIP(host) !== 4) throw bad();
  } else if (isIP(host) === 0) {
    throw bad();
  }
  if (!(port >= 1 && port <= 65535)) throw bad();
  return { host, port };
}
