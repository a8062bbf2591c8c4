/**
 * A real registry for integration tests: Debian's `docker-registry` (distribution 2.8) with
 * a config of the test's own — listening on 127.0.0.1 only, on a free port, storage in a
 * temp dir — optionally behind htpasswd basic auth (bcrypt, bcryptjs) or token auth (a token
 * server in this process signing RS256 JWTs with jose, an `x5c` header whose self-signed
 * certificate, made by `openssl req -x509`, the registry trusts via `rootcertbundle`).
 *
 * `stop()` kills the registry (SIGTERM, then SIGKILL), closes the token server and removes
 * the temp dir; it is idempotent and never throws. Nothing listens anywhere but 127.0.0.1.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, promises as fs } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import bcrypt from "bcryptjs";
import { importPKCS8, SignJWT } from "jose";
import { runProcess } from "./dockerd.js";
import { which } from "./host.js";

export type TestRegistryAuth =
  | { kind: "none" }
  | { kind: "basic"; username: string; password: string }
  | { kind: "token"; username: string; password: string };

export interface TokenRequest {
  scopes: string[];
  account: string | undefined;
  authorized: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`, the reference domain. */
  host: string;
  port: number;
  dir: string;
  /** Token requests seen by the token server (token auth only). */
  tokenRequests: TokenRequest[];
  log(): Promise<string>;
  stop(): Promise<void>;
}

export function registryMissing(): string | undefined {
  return which("docker-registry") ? undefined : "needs docker-registry (apt-get install docker-registry)";
}

/** A port the kernel chose on 127.0.0.1, released for the caller to bind. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function certDerBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
}

async function startTokenServer(dir: string, service: string, issuer: string, user: { username: string; password: string }, seen: TokenRequest[]) {
  const key = path.join(dir, "token-key.pem");
  const cert = path.join(dir, "token-cert.pem");
  const r = await runProcess("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=berth-test-token-issuer"], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`openssl req -x509: ${r.stderr}`);
  const privateKey = await importPKCS8(await fs.readFile(key, "utf8"), "RS256");
  const x5c = [certDerBase64(await fs.readFile(cert, "utf8"))];
  const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const scopes = url.searchParams.getAll("scope");
      const authorized = req.headers.authorization === expected;
      seen.push({ scopes, account: url.searchParams.get("account") ?? undefined, authorized });
      if (url.pathname !== "/token" || !authorized) {
        res.statusCode = 401;
        res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
        return;
      }
      const access = scopes.map((s) => {
        const [type, ...rest] = s.split(":");
        const actions = rest.pop() ?? "";
        return { type, name: rest.join(":"), actions: actions.split(",").filter(Boolean) };
      });
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: "RS256", typ: "JWT", x5c })
        .setIssuer(issuer)
        .setAudience(service)
        .setSubject(user.username)
        .setIssuedAt(now)
        .setNotBefore(now - 10)
        .setExpirationTime(now + 300)
        .setJti(randomBytes(8).toString("hex"))
        .sign(privateKey);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
    })().catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { cert, realm: `http://127.0.0.1:${port}/token`, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

/**
 * `proxyOf`: the origin (`http://127.0.0.1:PORT`) this registry mirrors, as a pull-through
 * cache (distribution's `proxy.remoteurl`): a real mirror, for the mirror tests.
 */
export async function startTestRegistry(options: { auth?: TestRegistryAuth; parent?: string; proxyOf?: string } = {}): Promise<TestRegistry> {
  const missing = registryMissing();
  if (missing) throw new Error(`start test registry: ${missing}`);
  const auth = options.auth ?? { kind: "none" };
  const dir = await fs.mkdtemp(path.join(options.parent ?? "/tmp", "berth-registry-"));
  const tokenRequests: TokenRequest[] = [];
  let token: Awaited<ReturnType<typeof startTokenServer>> | undefined;
  let child: ChildProcess | undefined;
  const logFile = path.join(dir, "registry.log");
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      if (child?.pid && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child!.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const t = setTimeout(() => child?.kill("SIGKILL"), 5_000);
        await gone;
        clearTimeout(t);
      }
      await token?.close();
      await fs.rm(dir, { recursive: true, force: true });
    } catch {
      // best effort: never mask the test's error
    }
  };
  try {
    const port = await freePort();
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: "warn", accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: path.join(dir, "data") }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
      http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString("hex") },
    };
    if (options.proxyOf) {
      if (!/^http:\/\/127\.0\.0\.1:[0-9]+$/.test(options.proxyOf)) throw new Error(`start test registry: proxyOf must be http://127.0.0.1:PORT, got ${options.proxyOf}`);
      config.proxy = { remoteurl: options.proxyOf };
    }
    if (auth.kind === "basic") {
      const file = path.join(dir, "htpasswd");
      await fs.writeFile(file, `${auth.username}:${bcrypt.hashSync(auth.password, 8)}\n`);
      config.auth = { htpasswd: { realm: "berth-test", path: file } };
    } else if (auth.kind === "token") {
      token = await startTokenServer(dir, "berth-test-registry", "berth-test-issuer", auth, tokenRequests);
      config.auth = { token: { realm: token.realm, service: "berth-test-registry", issuer: "berth-test-issuer", rootcertbundle: token.cert } };
    }
    const configFile = path.join(dir, "config.yml");
    await fs.writeFile(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
    const fd = openSync(logFile, "a");
    child = spawn(which("docker-registry")!, ["serve", configFile], { stdio: ["ignore", fd, fd], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    closeSync(fd);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${await fs.readFile(logFile, "utf8").catch(() => "")}`);
      const status = await new Promise<number>((resolve) => {
        const req = http.get({ host: "127.0.0.1", port, path: "/v2/", timeout: 1_000 }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", () => resolve(0));
        req.on("timeout", () => req.destroy());
      });
      if (status === 200 || status === 401) break;
      if (Date.now() > deadline) throw new Error(`docker-registry did not answer on 127.0.0.1:${port}: ${await fs.readFile(logFile, "utf8").catch(() => "")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { host: `127.0.0.1:${port}`, port, dir, tokenRequests, log: () => fs.readFile(logFile, "utf8").catch(() => ""), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A TCP-level HTTP proxy on 127.0.0.1 in front of a registry that, once armed, cuts the
 * connection of the next GET of `cutDigest` after `cutAfterBytes` bytes of its body. It
 * records each blob request's Range header and counts the body bytes passed per digest.
 */
export async function startCuttingProxy(target: { port: number }): Promise<{
  port: number;
  arm(digest: string, afterBytes: number): void;
  ranges: { digest: string; range: string | undefined }[];
  bodyBytes: Map<string, number>;
  close(): Promise<void>;
}> {
  const ranges: { digest: string; range: string | undefined }[] = [];
  const bodyBytes = new Map<string, number>();
  let armed: { digest: string; afterBytes: number } | undefined;
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? "")?.[1];
    if (digest && req.method === "GET") ranges.push({ digest, range: req.headers.range });
    const up = http.request({ host: "127.0.0.1", port: target.port, path: req.url, method: req.method, headers: req.headers, agent }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const cut = digest && req.method === "GET" && armed?.digest === digest ? armed : undefined;
      if (cut) armed = undefined;
      let n = 0;
      ur.on("data", (c: Buffer) => {
        if (cut && n + c.length > cut.afterBytes) {
          const part = c.subarray(0, Math.max(0, cut.afterBytes - n));
          n += part.length;
          if (digest) bodyBytes.set(digest, (bodyBytes.get(digest) ?? 0) + part.length);
          res.write(part, () => setTimeout(() => req.socket.destroy(), 20));
          ur.destroy();
          return;
        }
        n += c.length;
        if (digest && req.method === "GET") bodyBytes.set(digest, (bodyBytes.get(digest) ?? 0) + c.length);
        res.write(c);
      });
      ur.on("end", () => res.end());
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    arm: (digest, afterBytes) => (armed = { digest, afterBytes }),
    ranges,
    bodyBytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
