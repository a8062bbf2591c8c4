import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import type { Logger } from "pino";
import { BerthError, errorKind, errorMessage, httpStatusOfKind, invalidArgument, notFound, unavailable } from "../../lib/errors.js";
import { sendJson } from "./http-util.js";
import type { ErrorBody } from "./protocol.js";
import { containerRoutes } from "./routes/containers.js";
import { eventRoutes } from "./routes/events.js";
import { imageStoreRoutes } from "./routes/image-store.js";
import { objectRoutes } from "./routes/objects.js";
import type { Route, RouteContext } from "./routes/types.js";
import { versionRoutes } from "./routes/version.js";
import { defaultStagingDir, Staging } from "./staging.js";
import type { ControllerApi } from "./types.js";

export interface ApiServerOptions {
  socketPath: string;
  /** Socket file mode. Default 0660 (root and the socket's group). */
  mode?: number;
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
  logger: Logger;
}

export function defaultApiServerOptions() {
  return { mode: 0o660, maxBodyBytes: 64 * 1024 * 1024, maxUploadBytes: 16 * 1024 ** 3, drainAfterErrorMs: 5_000 };
}

/**
 * The route groups, in the order they are asked. Objects come last: they take any
 * `/v1/{word}[/{name}]` for a kind.
 */
const ROUTES: Route[] = [imageStoreRoutes, versionRoutes, eventRoutes, containerRoutes, objectRoutes];

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
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.headersTimeout = 30_000;
    this.server.requestTimeout = 0; // streams are long-lived; bodies are bounded by size
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  /** Listens on the socket; a stale socket file (no listener) is replaced. Unavailable when one is live. */
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
      this.server.listen(socketPath, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
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
        res.destroy();
        return;
      }
      const body: ErrorBody = { error: { kind, message: errorMessage(err) } };
      if (err instanceof BerthError && err.object) body.error.object = err.object;
      if (req.complete || req.destroyed) sendJson(res, httpStatusOfKind[kind], body);
      else this.answerEarly(req, res, httpStatusOfKind[kind], body);
    }
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
    };
    for (const routes of ROUTES) {
      const handled = routes(ctx);
      if (handled) return handled;
    }
    throw notFound(`route ${method} ${url.pathname}: not found`);
  }
}
