/**
 * A fake OCI registry for unit tests: node:http on a loopback address (port 0), in memory.
 * It serves /v2/, manifests (GET/HEAD/PUT by tag or digest), blobs (GET with Range, HEAD),
 * uploads (POST with mount/from, PUT ?digest=), tags/list with Link pagination, and a token
 * endpoint; `auth` picks anonymous, basic or bearer. Fault hooks: `cutAfter` (close the
 * connection after N bytes of a blob, once), `tamper` (serve other bytes), `failManifests`
 * (answer 500), `redirectBlobsTo` (302 blob GETs to another server). It records every
 * request (`requests`) and the bytes it served per blob (`served`).
 */
import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export type FakeAuth =
  | { kind: "none" }
  | { kind: "basic"; username: string; password: string }
  | { kind: "bearer"; realm?: string; service: string; username?: string; password?: string; expiresIn?: number };

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export class FakeRegistry {
  readonly requests: FakeRequest[] = [];
  readonly served = new Map<string, number>();
  readonly blobs = new Map<string, Buffer>();
  /** repo → tag or digest → manifest. */
  readonly manifests = new Map<string, Map<string, { bytes: Buffer; type: string }>>();
  /** repo → blobs it holds. */
  readonly repoBlobs = new Map<string, Set<string>>();
  auth: FakeAuth = { kind: "none" };
  cutAfter = new Map<string, number>();
  tamper = new Set<string>();
  failManifests = false;
  redirectBlobsTo: string | undefined;
  ignoreRange = false;
  tagPageSize = 2;
  tokensIssued = 0;
  private readonly tokens = new Set<string>();
  private readonly uploads = new Map<string, string>();
  private server!: http.Server;
  origin = "";
  host = "";

  static async start(address = "127.0.0.1"): Promise<FakeRegistry> {
    const r = new FakeRegistry();
    r.server = http.createServer((req, res) => {
      r.handle(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => r.server.listen(0, address, resolve));
    const port = (r.server.address() as AddressInfo).port;
    r.host = `${address}:${port}`;
    r.origin = `http://${r.host}`;
    return r;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  addBlob(repo: string, data: Buffer): string {
    const d = sha(data);
    this.blobs.set(d, data);
    if (!this.repoBlobs.has(repo)) this.repoBlobs.set(repo, new Set());
    this.repoBlobs.get(repo)!.add(d);
    return d;
  }

  addManifest(repo: string, tag: string | undefined, bytes: Buffer, type: string): string {
    const d = sha(bytes);
    if (!this.manifests.has(repo)) this.manifests.set(repo, new Map());
    const m = this.manifests.get(repo)!;
    m.set(d, { bytes, type });
    if (tag) m.set(tag, { bytes, type });
    return d;
  }

  requestsTo(pathPart: string, method?: string): FakeRequest[] {
    return this.requests.filter((r) => r.url.includes(pathPart) && (!method || r.method === method));
  }

  private authorized(req: http.IncomingMessage): boolean {
    const h = req.headers.authorization ?? "";
    if (this.auth.kind === "none") return true;
    if (this.auth.kind === "basic") return h === `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
    return h.startsWith("Bearer ") && this.tokens.has(h.slice(7));
  }

  private challenge(res: http.ServerResponse, scope: string | undefined): void {
    if (this.auth.kind === "basic") res.setHeader("www-authenticate", 'Basic realm="fake"');
    if (this.auth.kind === "bearer") {
      const realm = this.auth.realm ?? `${this.origin}/token`;
      res.setHeader("www-authenticate", `Bearer realm="${realm}",service="${this.auth.service}"${scope ? `,scope="${scope}"` : ""}`);
    }
    res.statusCode = 401;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    const url = new URL(req.url!, this.origin);
    const body = await readBody(req);
    if (url.pathname === "/token") return this.token(req, res);
    if (url.pathname === "/v2/" || url.pathname === "/v2") {
      if (!this.authorized(req)) return this.challenge(res, undefined);
      res.end("{}");
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.*)$/.exec(url.pathname);
    if (!m) return notFound(res);
    const [, repo, kind, rest] = m as unknown as [string, string, string, string];
    if (!this.authorized(req)) return this.challenge(res, `repository:${repo}:${req.method === "GET" || req.method === "HEAD" ? "pull" : "pull,push"}`);
    if (kind === "tags") {
      const all = [...(this.manifests.get(repo)?.keys() ?? [])].filter((k) => !k.startsWith("sha256:")).sort();
      const last = url.searchParams.get("last");
      const start = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(start, start + this.tagPageSize);
      if (start + this.tagPageSize < all.length) res.setHeader("link", `</v2/${repo}/tags/list?n=${this.tagPageSize}&last=${page[page.length - 1]}>; rel="next"`);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ name: repo, tags: page }));
      return;
    }
    if (kind === "manifests") {
      if (req.method === "PUT") {
        const d = this.addManifest(repo, rest.startsWith("sha256:") ? undefined : rest, body, String(req.headers["content-type"]));
        res.statusCode = 201;
        res.setHeader("docker-content-digest", d);
        res.end();
        return;
      }
      if (this.failManifests) {
        res.statusCode = 500;
        res.end("{}");
        return;
      }
      const man = this.manifests.get(repo)?.get(rest);
      if (!man) return notFound(res);
      res.setHeader("content-type", man.type);
      res.setHeader("docker-content-digest", sha(man.bytes));
      res.setHeader("content-length", man.bytes.length);
      res.end(req.method === "HEAD" ? undefined : man.bytes);
      return;
    }
    // blobs
    if (rest.startsWith("uploads/")) return this.upload(req, res, url, repo, rest.slice("uploads/".length), body);
    const data = this.blobs.get(rest);
    if (!data || !this.repoBlobs.get(repo)?.has(rest)) return notFound(res);
    if (req.method === "HEAD") {
      res.setHeader("content-length", data.length);
      res.end();
      return;
    }
    if (this.redirectBlobsTo) {
      res.statusCode = 302;
      res.setHeader("location", `${this.redirectBlobsTo}/storage/${rest}`);
      res.end();
      return;
    }
    this.sendBlob(req, res, rest, data);
  }

  /** Serves a blob (also used by a storage server a redirect points to). */
  sendBlob(req: http.IncomingMessage, res: http.ServerResponse, digest: string, data: Buffer): void {
    let start = 0;
    const range = /^bytes=([0-9]+)-$/.exec(String(req.headers.range ?? ""));
    if (range && !this.ignoreRange) {
      start = Number(range[1]);
      if (start >= data.length) {
        res.statusCode = 416;
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader("content-range", `bytes ${start}-${data.length - 1}/${data.length}`);
    }
    let payload = data.subarray(start);
    if (this.tamper.has(digest)) payload = Buffer.from(payload).fill(0x41, 0, Math.min(16, payload.length));
    res.setHeader("content-length", payload.length);
    res.setHeader("content-type", "application/octet-stream");
    const cut = this.cutAfter.get(digest);
    if (cut !== undefined && cut < payload.length) {
      this.cutAfter.delete(digest);
      const part = payload.subarray(0, cut);
      this.served.set(digest, (this.served.get(digest) ?? 0) + part.length);
      res.flushHeaders();
      res.write(part, () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    this.served.set(digest, (this.served.get(digest) ?? 0) + payload.length);
    res.end(payload);
  }

  private upload(req: http.IncomingMessage, res: http.ServerResponse, url: URL, repo: string, id: string, body: Buffer): void {
    if (req.method === "POST") {
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      if (mount && from && this.repoBlobs.get(from)?.has(mount)) {
        this.addBlob(repo, this.blobs.get(mount)!);
        res.statusCode = 201;
        res.setHeader("location", `/v2/${repo}/blobs/${mount}`);
        res.end();
        return;
      }
      const uuid = randomBytes(8).toString("hex");
      this.uploads.set(uuid, repo);
      res.statusCode = 202;
      res.setHeader("location", `/v2/${repo}/blobs/uploads/${uuid}?_state=x`);
      res.end();
      return;
    }
    if (req.method === "PUT" && this.uploads.get(id) === repo) {
      const want = url.searchParams.get("digest");
      if (want !== sha(body)) {
        res.statusCode = 400;
        res.end(JSON.stringify({ errors: [{ code: "DIGEST_INVALID", message: "digest mismatch" }] }));
        return;
      }
      this.uploads.delete(id);
      this.addBlob(repo, body);
      res.statusCode = 201;
      res.setHeader("docker-content-digest", want);
      res.end();
      return;
    }
    notFound(res);
  }

  private token(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.auth.kind !== "bearer") return notFound(res);
    if (this.auth.username) {
      const want = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
      if (req.headers.authorization !== want) {
        res.statusCode = 401;
        res.end("{}");
        return;
      }
    }
    const t = randomBytes(16).toString("hex");
    this.tokens.add(t);
    this.tokensIssued++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ token: t, expires_in: this.auth.expiresIn ?? 300 }));
  }
}

function notFound(res: http.ServerResponse): void {
  res.statusCode = 404;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ errors: [{ code: "NOT_FOUND", message: "not found" }] }));
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A loopback-only guard for RegistryImages' `guard` option: any other host throws. */
export function loopbackOnly(seen: URL[] = []): (url: URL) => void {
  return (url) => {
    seen.push(url);
    const h = url.hostname.replace(/^\[|\]$/g, "");
    if (!/^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(h) && h !== "::1" && h !== "localhost") throw new Error(`test guard: refused to connect to ${url.host}`);
  };
}

/** A plain server that serves `/storage/<digest>` from a registry's blobs (a redirect target). */
export async function startStorage(reg: FakeRegistry, address = "127.0.0.2"): Promise<{ origin: string; requests: FakeRequest[]; close(): Promise<void> }> {
  const requests: FakeRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    const d = /^\/storage\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? "")?.[1];
    const data = d ? reg.blobs.get(d) : undefined;
    if (!d || !data) return notFound(res);
    reg.sendBlob(req, res, d, data);
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const origin = `http://${address}:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
