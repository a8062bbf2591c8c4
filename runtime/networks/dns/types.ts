/**
 * Contracts of berth's embedded DNS resolver (issue 9), the aardvark-dns model: one daemon in
 * the host network namespace, listening on each bridge network's gateway address (UDP and
 * TCP), answering container names from a view the caller owns and forwarding the rest.
 */
import type { Clock } from "../../../lib/clock.js";

export interface DnsAnswerView {
  /**
   * Who is asking: the container owning this source address, or undefined (unknown client:
   * REFUSED, never forwarded). Called once per query, at query time, never cached — so a
   * container resolves the moment the view says so and is gone the moment it doesn't.
   * Must be synchronous and cheap; it must not throw (a throw is treated as an unknown client).
   */
  clientOf(source: string): DnsClient | undefined;
}

export interface DnsClient {
  /**
   * IPv4 addresses of a name (container name or alias) visible to this client — only names
   * on the client's own networks. Empty: not a container name. The resolver passes the
   * name lowercased and without its trailing dot (`Web.` → `web`).
   */
  resolve(name: string): string[];
  /** Reverse: the name of a container address visible to this client, for PTR (in-addr.arpa). */
  reverse?(address: string): string | undefined;
  /** False when every network of the client is internal: never forward outside (CVE-2024-29018). */
  mayForward: boolean;
  /** The client's own upstream resolvers ("ip", "ip:port", "[ipv6]:port"; a container's dns setting); absent or empty: the server's. */
  upstreams?: string[];
}

export interface DnsLog {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface DnsServerOptions {
  view: DnsAnswerView;
  /**
   * Upstream resolvers ("ip", "ip:port" or "[ipv6]:port"); default: the nameservers of the
   * host's /etc/resolv.conf, read once by the constructor.
   */
  upstreams?: string[];
  /** Default 53; 0 picks one free port shared by UDP and TCP (tests), see `DnsServer.port`. */
  port?: number;
  /** Per upstream try. Default 2000. */
  forwardTimeoutMs?: number;
  /** Bound on concurrent forwards; beyond it UDP queries are dropped, TCP ones get SERVFAIL. Default 256. */
  maxInFlight?: number;
  log?: DnsLog;
  /** TTL of container answers, default 0 (answers follow changes at once). */
  ttlSeconds?: number;
  /** A TCP connection without a complete query for this long is closed. Default 10000. */
  tcpIdleTimeoutMs?: number;
  /** Concurrent TCP connections per listener; more are closed at once. Default 64. */
  maxTcpConnections?: number;
  clock?: Clock;
}

/** An upstream resolver: where forwarded queries go. */
export interface Upstream {
  host: string;
  port: number;
}
