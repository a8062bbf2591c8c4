import type { Clock } from "../../lib/clock.js";
import { failedPrecondition, invalidArgument } from "../../lib/errors.js";
import type { Credential } from "./credentials.js";
import type { RegistryHttp } from "./http.js";
import { checkRealm, type RealmPolicy } from "./realm-policy.js";
import type { Challenge } from "./www-authenticate.js";

/**
 * Authorization for registry requests, per registry host (`host[:port]`):
 *
 * - anonymous until the registry answers 401;
 * - `Basic` challenge → the host's credential as basic auth (only to that host);
 * - `Bearer realm=…,service=…[,scope=…]` → GET realm?service=…&scope=… (basic auth with the
 *   credential when there is one and the realm passes the realm policy; a realm that fails
 *   it is never contacted) → `token` or `access_token`, cached per (host, realm, service,
 *   scopes, user) until `expires_in` (default 60 s) minus a margin, on the injected clock.
 *
 * The scheme a host asked for is remembered, so later requests carry the header up front.
 * Token answers are capped (`maxTokenBytes`).
 */
export interface AuthOptions {
  http: RegistryHttp;
  policy: RealmPolicy;
  clock: Clock;
  maxTokenBytes: number;
  credential: (host: string) => Promise<Credential | undefined>;
}

interface HostAuth {
  scheme: "basic" | "bearer";
  realm?: string;
  service?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const EXPIRY_MARGIN_MS = 5_000;
const MAX_CACHE = 512;

export class RegistryAuth {
  private readonly hosts = new Map<string, HostAuth>();
  private readonly tokens = new Map<string, CachedToken>();
  /** Token requests made (tests read it to see the cache work). */
  tokenRequests = 0;

  constructor(private readonly opts: AuthOptions) {}

  private tokenKey(host: string, a: HostAuth, scopes: string[], user: string | undefined): string {
    return JSON.stringify([host, a.realm, a.service, [...scopes].sort(), user ?? ""]);
  }

  /** The Authorization header for a request to `host` needing `scopes`, when one is known. */
  async header(host: string, scopes: string[]): Promise<string | undefined> {
    const a = this.hosts.get(host);
    if (!a) return undefined;
    const cred = await this.opts.credential(host);
    if (a.scheme === "basic") return cred ? basicHeader(cred) : undefined;
    const t = this.tokens.get(this.tokenKey(host, a, scopes, cred?.username));
    if (t && t.expiresAt > this.opts.clock.now()) return `Bearer ${t.token}`;
    if (t) this.tokens.delete(this.tokenKey(host, a, scopes, cred?.username));
    // Known bearer host without a cached token for these scopes: fetch one now, so a request
    // with a body is not sent only to be refused.
    return `Bearer ${await this.fetchToken(host, a, scopes, cred, undefined)}`;
  }

  /**
   * Handles a 401's challenges: remembers the host's scheme and, for bearer, fetches a token.
   * Returns false when nothing would change on a retry (no usable challenge, or basic without
   * a credential). FailedPrecondition when the realm is refused by the policy.
   */
  async onChallenge(host: string, challenges: Challenge[], scopes: string[], signal?: AbortSignal): Promise<boolean> {
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    const cred = await this.opts.credential(host);
    if (bearer) {
      const a: HostAuth = { scheme: "bearer", realm: bearer.params.realm!, ...(bearer.params.service !== undefined ? { service: bearer.params.service } : {}) };
      this.hosts.set(host, a);
      await this.fetchToken(host, a, scopes.length ? scopes : bearer.params.scope ? bearer.params.scope.split(" ") : [], cred, signal);
      return true;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      const had = this.hosts.get(host)?.scheme === "basic";
      this.hosts.set(host, { scheme: "basic" });
      return !!cred && !had;
    }
    return false;
  }

  /** Forgets what is known about a host (login validates from a clean slate). */
  forget(host: string): void {
    this.hosts.delete(host);
    for (const k of [...this.tokens.keys()]) if ((JSON.parse(k) as string[])[0] === host) this.tokens.delete(k);
  }

  private async fetchToken(host: string, a: HostAuth, scopes: string[], cred: Credential | undefined, signal: AbortSignal | undefined): Promise<string> {
    const what = `authenticate to ${host}`;
    let realm: URL;
    try {
      realm = new URL(a.realm!);
    } catch {
      throw invalidArgument(`${what}: the token realm ${JSON.stringify(a.realm)} is not a URL`);
    }
    const verdict = checkRealm(this.opts.policy, host, realm);
    if (!verdict.ok) throw failedPrecondition(`${what}: refused token realm ${realm.origin}${realm.pathname}: ${verdict.reason}`);
    if (a.service !== undefined) realm.searchParams.set("service", a.service);
    for (const s of scopes) realm.searchParams.append("scope", s);
    if (cred) realm.searchParams.set("account", cred.username);
    const headers: Record<string, string> = { accept: "application/json" };
    if (cred) headers.authorization = basicHeader(cred);
    this.tokenRequests++;
    const res = await this.opts.http.request(realm, { method: "GET", headers, ...(signal ? { signal } : {}) });
    if (res.status === 401 || res.status === 403) {
      await res.discard();
      throw failedPrecondition(`${what}: the token service refused ${cred ? `the credentials of ${cred.username}` : "anonymous access"} (${res.status})`);
    }
    if (res.status !== 200) {
      await res.discard();
      throw failedPrecondition(`${what}: the token service answered ${res.status}`);
    }
    const body = (await res.json(this.opts.maxTokenBytes, `${what}: token`)) as Record<string, unknown> | null;
    const token = typeof body?.token === "string" && body.token ? body.token : typeof body?.access_token === "string" ? body.access_token : "";
    if (!token || !/^[\x21-\x7e]+$/.test(token)) throw invalidArgument(`${what}: the token service sent no usable token`);
    const expiresIn = typeof body?.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    const issued = typeof body?.issued_at === "string" ? Date.parse(body.issued_at) : NaN;
    const now = this.opts.clock.now();
    const start = Number.isFinite(issued) && issued <= now ? issued : now;
    if (this.tokens.size >= MAX_CACHE) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(this.tokenKey(host, a, scopes, cred?.username), { token, expiresAt: start + expiresIn * 1000 - EXPIRY_MARGIN_MS });
    return token;
  }
}

export function basicHeader(c: Credential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}
