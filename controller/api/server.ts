import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import type { Logger } from "pino";
import { BerthError, errorKind, errorMessage, httpStatusOfKind, invalidArgument, notFound, unavailable } from "../../lib/errors.js";
import { checkRequestHeaders, cutBody, hasBody, isCut, RequestRefused, sendJson } from "./http-util.js";
import type { ErrorBody } from "./protocol.js";
import { archiveUploadRouteOf, containerArchiveRoutes } from "./routes/container-archive.js";
import { containerRoutes, execStreamRouteOf } from "./routes/containers.js";
import { attachRoutes, attachStreamRouteOf } from "./routes/terminal-streams.js";
import { eventRoutes } from "./routes/events.js";
import { imageStoreRoutes, uploadRouteOf } from "./routes/image-store.js";
import { infoRoutes } from "./routes/info.js";
import { inspectRoutes } from "./routes/inspect.js";
import { statsRoutes } from "./routes/stats.js";
import { localStoreRoutes } from "./routes/local-stores.js";
import { objectRoutes } from "./routes/objects.js";
import { registryRoutes } from "./routes/registry.js";
import { sourceRoutes } from "./routes/sources.js";
import type { Route, RouteContext } from "./routes/types.js";
import { versionRoutes } from "./routes/version.js";
import { defaultStagingDir, Staging } from "./staging.js";
import type { ControllerApi } from "./types.js";
import type { SourcesApi } from "../sources/types.js";

export interface ApiServerOptions {
  socketPath: string;
  /**
   * Socket file mode. Default 0660 (root and the socket's group). The socket is never wider
   * than this: it is bound 0600, then given its group, then this mode.
   */
  mode?: number;
  /** Group id of the socket (`berth daemon --group`). Default: the daemon's own group. */
  gid?: number;
  /** Largest request body. Default 64 MiB (an apply carries manifest texts). */
  maxBodyBytes?: number;
  /** Largest image archive (load) or rootfs tarball (import) upload. Default 16 GiB. */
  maxUploadBytes?: number;
  /**
   * Where uploaded archives and archives being saved are staged (files `api-*`, removed when
   * the request ends, and at listen after a crash). Default `<root>/tmp`, root from `version()`.
   */
  tmpDir?: string;
  /** How long an upload answered early (an error) is still read and discarded so the client sees the answer. Default 5s. */
  drainAfterErrorMs?: number;
  /** A request's headers must have arrived this long after its first byte, else 408 and the connection is closed. Default 10s. */
  headersTimeoutMs?: number;
  /**
   * A request body other than an upload (a JSON body) must have arrived whole this long after
   * its headers, else 408 and the connection is closed. Default 30s. Uploads are bounded by
   * size only; responses (watch, logs -f) are never timed.
   */
  bodyTimeoutMs?: number;
  logger: Logger;
  /** The GitOps sources the `/v1/sources` routes serve (controller/sources/); without them those routes are NotImplemented. */
  sources?: SourcesApi;
}

export function defaultApiServerOptions() {
  return { mode: 0o660, maxBodyBytes: 64 * 1024 * 1024, maxUploadBytes: 16 * 1024 ** 3, drainAfterErrorMs: 5_000, headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000 };
}

/**
 * The route groups, in the order they are asked. Objects come last: they take any
 * `/v1/{word}[/{name}]` for a kind.
 */
const ROUTES: Route[] = [imageStoreRoutes, localStoreRoutes, registryRoutes, versionRoutes, eventRoutes, attachRoutes, containerArchiveRoutes, inspectRoutes, statsRoutes, infoRoutes, containerRoutes, sourceRoutes, objectRoutes];

/** A path segment that names an object: a DNS label. */
const NAME_SEGMENT = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The API server. Each request gets an AbortSignal that fires when the client goes away, so
 * streams (watch, logs -f), execs and actions stop with it. A bad request gets a clear 4xx
 * and never affects the daemon; an unexpected error is logged once here and answered 500.
 */
export class ApiServer {
  private readonly server: http.Server;
  private readonly opts: ReturnType<typeof defaultApiServerOptions> & ApiServerOptions;
  private readonly sockets = new Set<net.Socket>();
  private readonly staging: Staging;

  constructor(
    private readonly api: ControllerApi,
    options: ApiServerOptions,
  ) {
    this.opts = { ...defaultApiServerOptions(), ...options };
    this.staging = new Staging(() => this.opts.tmpDir ?? defaultStagingDir(this.api.version().root));
    this.server = http.createServer(
      {
        // An absent Host is accepted (checkRequestHeaders); a foreign one is refused there.
        requireHostHeader: false,
        // Node checks the headers timeout on this interval: a fraction of it keeps the cut close to it.
        connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(this.opts.headersTimeoutMs / 4))),
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.headersTimeout = this.opts.headersTimeoutMs;
    this.server.requestTimeout = 0; // streams are long-lived; JSON bodies have their own deadline (bodyTimeoutMs), uploads a size cap
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  /**
   * Listens on the socket; a stale socket file (no listener) is replaced. Unavailable when one is
   * live. Sets the process's umask for the instant of the bind (restored before it returns to
   * the event loop), so it must run on the main thread.
   */
  async listen(): Promise<void> {
    const socketPath = this.opts.socketPath;
    const live = await new Promise<boolean>((resolve) => {
      const c = net.connect(socketPath);
      c.once("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.once("error", () => resolve(false));
    });
    if (live) throw unavailable(`listen ${socketPath}: another process serves this socket`);
    await fs.rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      // net binds a unix socket inside listen(), synchronously: the file is created 0600 here.
      const umask = process.umask(0o177);
      try {
        this.server.listen(socketPath, () => {
          this.server.off("error", reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    if (this.opts.gid !== undefined) await fs.chown(socketPath, -1, this.opts.gid);
    await fs.chmod(socketPath, this.opts.mode);
    await this.staging.removeStale();
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
    await fs.rm(this.opts.socketPath, { force: true });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const ac = new AbortController();
    res.on("close", () => ac.abort(new Error("client went away")));
    const url = new URL(req.url ?? "/", "http://berth");
    const method = req.method ?? "GET";
    try {
      const parts = url.pathname.split("/").filter(Boolean);
      const upload = parts[0] === "v1" ? (uploadRouteOf(method, parts.slice(1)) ?? execStreamRouteOf(method, parts.slice(1), url.searchParams) ?? attachStreamRouteOf(method, parts.slice(1)) ?? archiveUploadRouteOf(method, parts.slice(1))) : undefined;
      checkRequestHeaders(req, method, upload);
      if (upload === undefined) this.bodyDeadline(req, res);
      await this.route(method, url, req, res, ac.signal);
    } catch (err) {
      if (ac.signal.aborted) {
        // The client went away (mid-upload, mid-stream): nobody to answer, nothing went wrong here.
        this.opts.logger.debug({ err, method, path: url.pathname }, "client went away");
        res.destroy();
        return;
      }
      const kind = errorKind(err);
      if (kind === "Internal") this.opts.logger.error({ err, method, path: url.pathname }, "request failed");
      if (res.headersSent) {
        if (!isCut(req)) res.destroy(); // a cut body was answered (408) and its connection is closing
        return;
      }
      const body: ErrorBody = { error: { kind, message: errorMessage(err) } };
      if (err instanceof BerthError && err.object) body.error.object = err.object;
      const status = err instanceof RequestRefused ? err.status : httpStatusOfKind[kind];
      if (req.complete || req.destroyed) sendJson(res, status, body);
      else this.answerEarly(req, res, status, body);
    }
  }

  /**
   * Cuts a request whose body (other than an upload) has not arrived whole `bodyTimeoutMs`
   * after its headers: a body dripped a byte at a time would otherwise hold its connection and
   * handler for ever. The body is marked cut, so the handler's read of it fails and nothing is
   * applied; the client is answered 408 (answerEarly: the connection closes once the rest is
   * read or `drainAfterErrorMs` passed), or, when an answer is already under way (a route that
   * did not read the body), the connection is closed.
   */
  private bodyDeadline(req: http.IncomingMessage, res: http.ServerResponse) {
    if (!hasBody(req)) return;
    const ms = this.opts.bodyTimeoutMs;
    const timer = setTimeout(() => {
      if (req.complete || req.destroyed) return;
      this.opts.logger.debug({ method: req.method, path: req.url }, "request body timed out");
      cutBody(req);
      if (res.headersSent) {
        req.socket.destroy();
        return;
      }
      const body: ErrorBody = { error: { kind: "InvalidArgument", message: `read request: the body did not arrive within ${ms}ms` } };
      res.setHeader("connection", "close");
      this.answerEarly(req, res, 408, body);
    }, ms);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once("end", clear);
    req.once("close", clear);
  }

  /**
   * Answers a request whose body was not read to its end (an upload refused early): the whole
   * answer is written at once, but the response is ended — and the connection, if it is to
   * close, closed — only once the rest of the body has been read and discarded, or after
   * `drainAfterErrorMs`. Closing a connection with unread data would reset it, and a client
   * still sending could lose the answer.
   */
  private answerEarly(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: unknown) {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.write(text);
    const timer = setTimeout(() => req.socket?.destroy(), this.opts.drainAfterErrorMs);
    timer.unref();
    const finish = () => {
      clearTimeout(timer);
      res.end();
    };
    req.once("end", finish);
    req.once("close", finish);
    // Drain, also once a reader still attached (a route's body read) lets go.
    req.on("data", () => {});
    req.resume();
  }

  /** `/v1/{resource}[/{name}[/{sub}]]` to the first route group that takes it. */
  private async route(method: string, url: URL, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal) {
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "v1" || parts.length > 4) throw notFound(`route ${url.pathname}: not found`);
    const segments = parts.slice(1);
    const name = segments[1];
    if (name !== undefined && !NAME_SEGMENT.test(name)) throw invalidArgument(`route ${url.pathname}: ${JSON.stringify(name)} is not a valid name`);
    const ctx: RouteContext = {
      api: this.api,
      method,
      url,
      segments,
      req,
      res,
      signal,
      limits: { maxBodyBytes: this.opts.maxBodyBytes, maxUploadBytes: this.opts.maxUploadBytes },
      staging: this.staging,
      ...(this.opts.sources ? { sources: this.opts.sources } : {}),
    };
    for (const routes of ROUTES) {
      const handled = routes(ctx);
      if (handled) return handled;
    }
    throw notFound(`route ${method} ${url.pathname}: not found`);
  }
}
