import { BerthError, invalidArgument, isBerthError, unavailable, type ErrorKind } from "../../lib/errors.js";
import type { RegistryAuth } from "./auth.js";
import type { HttpRequest, HttpResponse, RegistryHttp } from "./http.js";
import { parseWwwAuthenticate } from "./www-authenticate.js";

/**
 * One registry endpoint: the registry itself (`origin` undefined: https, or for a loopback
 * or insecure host https first and plain http when TLS fails, as Docker does) or a mirror
 * (`origin` given by the settings file).
 */
export interface Endpoint {
  /** host[:port] requests go to (also the key of credentials and auth state). */
  host: string;
  /** `scheme://host[:port]` when fixed (mirrors). */
  origin?: string;
  mirror: boolean;
}

export function endpointName(ep: Endpoint): string {
  return ep.origin ?? ep.host;
}

export interface ClientOptions {
  http: RegistryHttp;
  auth: RegistryAuth;
  allowsHttp: (hostPort: string) => boolean;
  maxErrorBodyBytes: number;
}

const ERROR_BODY_MAX = 64 * 1024;

/**
 * The OCI distribution API (distribution-spec v1.1 "pull", "push", "content discovery"),
 * one call per endpoint kind. Every call names its scopes (`repository:<name>:pull[,push]`)
 * for the bearer flow and retries once after a 401 challenge. Statuses the spec gives as
 * errors become BerthErrors: 404 NotFound, 401/403 FailedPrecondition (log in), 429 and 5xx
 * Unavailable, other 4xx InvalidArgument — with the registry's own error codes in the text.
 */
export class RegistryClient {
  private readonly schemes = new Map<string, "https" | "http">();

  constructor(private readonly opts: ClientOptions) {}

  /** The base URL of an endpoint as it is known now. */
  baseOf(ep: Endpoint): string {
    return ep.origin ?? `${this.schemes.get(ep.host) ?? "https"}://${ep.host}`;
  }

  /**
   * Sends `req` to `pathOrUrl` (a path under the endpoint, or an absolute URL from a
   * Location header: it gets the endpoint's authorization only on the endpoint's host).
   */
  async send(ep: Endpoint, pathOrUrl: string | URL, req: HttpRequest, scopes: string[]): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const url = typeof pathOrUrl === "string" ? new URL(pathOrUrl, this.baseOf(ep)) : new URL(pathOrUrl);
      const sameHost = url.host.toLowerCase() === ep.host.toLowerCase();
      const auth = sameHost ? await this.opts.auth.header(ep.host, scopes) : undefined;
      const headers = { ...(req.headers ?? {}), ...(auth ? { authorization: auth } : {}) };
      let res: HttpResponse;
      try {
        res = await this.opts.http.request(url, { ...req, headers });
      } catch (err) {
        // TLS to a loopback/insecure registry failed: try plain http once, as Docker does. A
        // request sent over https while a concurrent one (a push HEADs its layers in parallel)
        // learned that the host speaks http retries over http too, without unlearning it.
        const learnedHttp = this.schemes.get(ep.host) === "http" && url.protocol === "https:";
        if (isBerthError(err, "Unavailable") && !ep.origin && typeof pathOrUrl === "string" && (!this.schemes.has(ep.host) || learnedHttp) && this.opts.allowsHttp(ep.host)) {
          const mine = !this.schemes.has(ep.host);
          this.schemes.set(ep.host, "http");
          try {
            res = await this.opts.http.request(new URL(pathOrUrl, this.baseOf(ep)), { ...req, headers });
          } catch (err2) {
            if (mine) this.schemes.delete(ep.host);
            throw err2;
          }
        } else {
          throw err;
        }
      }
      if (!ep.origin && sameHost && !this.schemes.has(ep.host)) this.schemes.set(ep.host, url.protocol === "http:" ? "http" : "https");
      if (res.status !== 401 || attempt > 0 || !sameHost) return res;
      const challenges = parseWwwAuthenticate(res.headers.get("www-authenticate"));
      let retry: boolean;
      try {
        retry = await this.opts.auth.onChallenge(ep.host, challenges, scopes, req.signal);
      } catch (err) {
        await res.discard();
        throw err;
      }
      // A request sent without credentials while a concurrent one learned the host's scheme
      // (onChallenge then says nothing changed) is retried once with them.
      if (!retry && !auth) retry = (await this.opts.auth.header(ep.host, scopes)) !== undefined;
      // Nothing would change on a retry: the 401 is the caller's answer.
      if (!retry) return res;
      await res.discard();
    }
  }

  /** A BerthError for an unexpected status, with the registry's error codes (body consumed). */
  async statusError(res: HttpResponse, what: string, object?: { kind: string; name: string }): Promise<BerthError> {
    let detail = "";
    try {
      const body = await res.text(Math.min(this.opts.maxErrorBodyBytes, ERROR_BODY_MAX), what);
      const doc = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown }[] };
      if (Array.isArray(doc.errors)) {
        detail = doc.errors
          .slice(0, 5)
          .map((e) => [e.code, e.message].filter((x) => typeof x === "string").join(": "))
          .filter(Boolean)
          .join("; ")
          .slice(0, 500);
      }
    } catch {
      await res.discard();
    }
    const tail = `${res.status}${detail ? ` (${detail.replace(/[\x00-\x1f\x7f]/g, " ")})` : ""}`;
    const opts = object ? { object } : {};
    let kind: ErrorKind;
    let text: string;
    if (res.status === 404) {
      kind = "NotFound";
      text = `${what}: not found: ${tail}`;
    } else if (res.status === 401 || res.status === 403) {
      kind = "FailedPrecondition";
      text = `${what}: access denied: ${tail}; log in with berth login ${res.url.host} if it needs credentials`;
    } else if (res.status === 429 || res.status >= 500) {
      kind = "Unavailable";
      text = `${what}: the registry answered ${tail}`;
    } else {
      kind = "InvalidArgument";
      text = `${what}: the registry answered ${tail}`;
    }
    return new BerthError(kind, text, opts);
  }

  async ping(ep: Endpoint, signal?: AbortSignal): Promise<HttpResponse> {
    return this.send(ep, "/v2/", { method: "GET", ...(signal ? { signal } : {}) }, []);
  }

  /** GET a manifest by tag or digest; the caller verifies and parses the bytes. */
  async getManifest(
    ep: Endpoint,
    repo: string,
    ref: string,
    accept: string[],
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; contentType: string | undefined; dockerDigest: string | undefined }> {
    const what = `get manifest ${repo}:${ref} from ${endpointName(ep)}`;
    const res = await this.send(ep, `/v2/${repo}/manifests/${ref}`, { method: "GET", headers: { accept: accept.join(", ") }, ...(signal ? { signal } : {}) }, [pullScope(repo)]);
    if (res.status !== 200) throw await this.statusError(res, what, { kind: "image", name: `${repo}:${ref}` });
    const bytes = await res.bytes(maxBytes, what);
    return {
      bytes,
      contentType: res.headers.get("content-type") ?? undefined,
      dockerDigest: res.headers.get("docker-content-digest") ?? undefined,
    };
  }

  /** HEAD a blob: its size when the repository has it, undefined on 404. */
  async headBlob(ep: Endpoint, repo: string, digest: string, scopes: string[], signal?: AbortSignal): Promise<number | undefined> {
    const res = await this.send(ep, `/v2/${repo}/blobs/${digest}`, { method: "HEAD", ...(signal ? { signal } : {}) }, scopes);
    await res.discard();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.statusError(res, `check blob ${digest} in ${repo} on ${endpointName(ep)}`);
    const n = Number(res.headers.get("content-length") ?? NaN);
    return Number.isFinite(n) ? n : -1;
  }

  /** GET a blob from `offset` (a Range request when > 0). The caller checks 200/206/416. */
  async getBlob(ep: Endpoint, repo: string, digest: string, offset: number, signal?: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: "*/*" };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    return this.send(ep, `/v2/${repo}/blobs/${digest}`, { method: "GET", headers, ...(signal ? { signal } : {}) }, [pullScope(repo)]);
  }

  /**
   * Starts an upload (POST /blobs/uploads/), or mounts `mount.digest` from `mount.from`:
   * 201 = mounted (nothing to upload), 202 = an upload session at the returned Location.
   */
  async startUpload(
    ep: Endpoint,
    repo: string,
    mount: { digest: string; from: string } | undefined,
    signal?: AbortSignal,
  ): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    const scopes = [pushScope(repo), ...(mount ? [pullScope(mount.from)] : [])];
    const q = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : "";
    const what = `start upload to ${repo} on ${endpointName(ep)}`;
    const res = await this.send(ep, `/v2/${repo}/blobs/uploads/${q}`, { method: "POST", headers: { "content-length": "0" }, ...(signal ? { signal } : {}) }, scopes);
    if (mount && res.status === 201) {
      await res.discard();
      return { mounted: true };
    }
    if (res.status !== 202) throw await this.statusError(res, what);
    await res.discard();
    const loc = res.headers.get("location");
    if (!loc) throw invalidArgument(`${what}: 202 without a Location`);
    return { mounted: false, location: new URL(loc, res.url) };
  }

  /** Finishes an upload with one PUT of the whole blob (`?digest=`); 201 expected. */
  async putBlob(
    ep: Endpoint,
    repo: string,
    location: URL,
    digest: string,
    size: number,
    body: () => Uint8Array | ReadableStream<Uint8Array>,
    signal?: AbortSignal,
  ): Promise<void> {
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const what = `upload blob ${digest} to ${repo} on ${endpointName(ep)}`;
    const res = await this.send(
      ep,
      url,
      { method: "PUT", headers: { "content-type": "application/octet-stream", "content-length": String(size) }, body, ...(signal ? { signal } : {}) },
      [pushScope(repo)],
    );
    if (res.status !== 201) throw await this.statusError(res, what);
    await res.discard();
    const got = res.headers.get("docker-content-digest");
    if (got && got !== digest) throw invalidArgument(`${what}: the registry stored it as ${got}`);
  }

  /** PUT a manifest under a tag or digest; the digest the registry reports (when it does). */
  async putManifest(ep: Endpoint, repo: string, ref: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<string | undefined> {
    const what = `put manifest ${repo}:${ref} on ${endpointName(ep)}`;
    const res = await this.send(
      ep,
      `/v2/${repo}/manifests/${ref}`,
      { method: "PUT", headers: { "content-type": mediaType }, body: () => bytes, ...(signal ? { signal } : {}) },
      [pushScope(repo)],
    );
    if (res.status !== 201 && res.status !== 200) throw await this.statusError(res, what);
    await res.discard();
    return res.headers.get("docker-content-digest") ?? undefined;
  }

  /** Every tag of a repository, following `Link: <…>; rel="next"` at most `maxPages` times. */
  async listTags(ep: Endpoint, repo: string, limits: { maxPages: number; maxTags: number; maxPageBytes: number }, signal?: AbortSignal): Promise<string[]> {
    const what = `list tags of ${repo} on ${endpointName(ep)}`;
    const tags: string[] = [];
    let next: string | URL = `/v2/${repo}/tags/list`;
    for (let page = 0; ; page++) {
      if (page >= limits.maxPages) throw unavailable(`${what}: more than ${limits.maxPages} pages`);
      const res = await this.send(ep, next, { method: "GET", headers: { accept: "application/json" }, ...(signal ? { signal } : {}) }, [pullScope(repo)]);
      if (res.status !== 200) throw await this.statusError(res, what);
      const link = res.headers.get("link");
      const doc = (await res.json(limits.maxPageBytes, what)) as { tags?: unknown } | null;
      const page_ = doc?.tags ?? [];
      if (!Array.isArray(page_) || !page_.every((t) => typeof t === "string")) throw invalidArgument(`${what}: tags is not an array of strings`);
      tags.push(...(page_ as string[]));
      if (tags.length > limits.maxTags) throw invalidArgument(`${what}: more than ${limits.maxTags} tags`);
      const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      if (!m) return tags;
      const u: URL = new URL(m[1]!, res.url);
      if (u.host !== res.url.host) throw invalidArgument(`${what}: the next page is on another host (${u.host})`);
      next = u;
    }
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}
