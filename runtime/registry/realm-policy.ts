import { getDomain } from "tldts";
import { hostnameOf } from "./hosts.js";

/**
 * Where registry credentials may go. A token realm receives the user's credentials (basic
 * auth on the token request) only when
 *   - it is https, or plain http to a host where http is allowed (loopback, insecure), and
 *   - its host is the registry's host name, or shares the registry's registrable domain
 *     (eTLD+1 from the public suffix list: `auth.docker.io` for `registry-1.docker.io`), or
 *     is on the configured allowlist (e.g. `oauth2.googleapis.com` for `*.pkg.dev`).
 * Anything else is refused outright — no request is made to such a realm, with or without
 * credentials (go-containerregistry#2193, CVE-2020-15157). The same rule decides whether
 * `Authorization` survives a redirect: it does only to the same origin.
 */
export interface RealmPolicy {
  /** Extra realm hosts allowed for any registry (`host` or `host:port`, lowercase). */
  allowRealmHosts: string[];
  /** Whether plain http may be used for `hostPort`. */
  allowsHttp: (hostPort: string) => boolean;
}

export type RealmVerdict = { ok: true } | { ok: false; reason: string };

export function checkRealm(policy: RealmPolicy, registryHost: string, realm: URL): RealmVerdict {
  if (realm.username || realm.password) return { ok: false, reason: "the realm URL carries credentials" };
  if (realm.protocol !== "https:" && !(realm.protocol === "http:" && policy.allowsHttp(realm.host))) {
    return { ok: false, reason: `the realm is ${realm.protocol.replace(":", "")}, not https` };
  }
  const realmName = realm.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const registryName = hostnameOf(registryHost);
  if (realmName === registryName) return { ok: true };
  if (policy.allowRealmHosts.some((h) => h === realmName || h === realm.host.toLowerCase())) return { ok: true };
  // The private section of the list too: `a.github.io` and `b.github.io` are not one domain.
  const a = getDomain(realmName, { allowPrivateDomains: true });
  const b = getDomain(registryName, { allowPrivateDomains: true });
  if (a && b && a === b) return { ok: true };
  return {
    ok: false,
    reason: `the realm host ${realm.host} is not ${registryName} and does not share its registrable domain${b ? ` (${b})` : ""}; add it to the realm allowlist if it is trusted`,
  };
}
