import { isIP } from "node:net";
import { DEFAULT_DOMAIN } from "../../lib/reference.js";

/**
 * Registry host names as the distribution API sees them. A reference's domain (`docker.io`,
 * `localhost:5000`, `[::1]:5000`) is mapped to the host the API is served by, and to the
 * keys credentials files use for it.
 */

/** The API host of Docker Hub, where `docker.io` references are pulled from. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
/** The key Docker writes Hub credentials under in `~/.docker/config.json`. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/** `docker.io` (and `index.docker.io`) → `registry-1.docker.io`; other domains unchanged. */
export function apiHostOf(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === "index.docker.io" ? DOCKER_HUB_API_HOST : domain;
}

export function isDockerHub(host: string): boolean {
  return host === DEFAULT_DOMAIN || host === "index.docker.io" || host === DOCKER_HUB_API_HOST;
}

/** The host name of `host[:port]` (brackets of an IPv6 literal removed), lowercase. */
export function hostnameOf(hostPort: string): string {
  const h = hostPort.toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]"));
  const colon = h.lastIndexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}

/** localhost, 127.0.0.0/8 and ::1 — the hosts Docker talks to over plain HTTP without being told. */
export function isLoopbackHost(hostPort: string): boolean {
  const h = hostnameOf(hostPort);
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1";
  return false;
}

/** IPv4 CIDR match (`10.0.0.0/8`); false for anything that is not an IPv4 address. */
export function inIpv4Cidr(host: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  if (isIP(host) !== 4 || !net || isIP(net) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const toInt = (a: string) => a.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(host) & mask) === (toInt(net) & mask);
}

/** `host[:port]` of a URL as a reference domain would spell it (IPv6 in brackets). */
export function hostPortOfUrl(u: URL): string {
  return u.host.toLowerCase();
}
