import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import type { Logger } from "pino";
import { BerthError, errorKind, errorMessage, httpStatusOfKind, invalidArgument, notFound, unavailable } from "../../lib/errors.js";
import { resolveKind, type Kind } from "../../schemas/kinds.js";
import type { ExecResult, LogLine } from "../../runtime/types.js";
import type { ApplyRequest, ApplyResponse, ChangeEntry, ErrorBody, EventRecord, ExecRequest, ObjectView, VersionInfo } from "./protocol.js";

/** What the API serves; the controller implements it (tests use fakes). */
export interface ControllerApi {
  version(): VersionInfo;
  apply(req: ApplyRequest, signal: AbortSignal): Promise<ApplyResponse>;
  list(kind: Kind, selector: Record<string, string>): Promise<ObjectView[]>;
  get(kind: Kind, name: string): Promise<ObjectView>;
  delete(kind: Kind, name: string): Promise<ChangeEntry>;
  /** Past events (bounded history), then — with `watch` — new ones until `signal` aborts. */
  events(options: { watch: boolean; signal: AbortSignal }): AsyncIterable<EventRecord>;
  logs(name: string, options: { follow: boolean; tail?: number; since?: number; signal: AbortSignal }): AsyncIterable<LogLine>;
  exec(name: string, req: ExecRequest, signal: AbortSignal): Promise<ExecResult>;
  act(name: string, action: "stop" | "start" | "restart"): Promise<ObjectView>;
}

export interface ApiServerOptions {
  socketPath: string;
  /** Socket file mode. Default 0660 (root and the socket's group). */
  mode?: number;
  /** Largest request body. Default 64 MiB (an apply carries manifest texts). */
  maxBodyBytes?: number;
  logger: Logger;
}

export function defaultApiServerOptions() {
  return { mode: 0o660, maxBodyBytes: 64 * 1024 * 1024 };
}

/** Reads a JSON body up to `max` bytes; InvalidArgument for oversize or malformed bodies. */
async function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) throw invalidArgument(`read request: body of ${declared} bytes is over the limit of ${max}`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > max) throw invalidArgument(`read request: body is over the limit of ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (n === 0) throw invalidArgument("read request: expected a JSON body");
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"), (k, v) => (k === "__proto__" ? undefined : v));
  } catch (err) {
    throw invalidArgument(`read request: body is not JSON: ${errorMessage(err)}`);
  }
}

type FieldType = "string" | "boolean" | "number" | "array" | "object" | "string[]" | "files";

/** Checks a request body has only known fields of the right types (unknown fields rejected). */
export function checkBody<T>(body: unknown, fields: Record<string, { type: FieldType; required?: boolean }>, what: string): T {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw invalidArgument(`${what}: expected a JSON object`);
  const o = body as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!(key in fields)) throw invalidArgument(`${what}: unknown field "${key}"`);
  for (const [key, f] of Object.entries(fields)) {
    const v = o[key];
    if (v === undefined) {
      if (f.required) throw invalidArgument(`${what}: missing required field "${key}"`);
      continue;
    }
    const ok =
      f.type === "string[]"
        ? Array.isArray(v) && v.every((x) => typeof x === "string")
        : f.type === "files"
          ? Array.isArray(v) &&
            v.every((x) => x && typeof x === "object" && typeof x.file === "string" && typeof x.text === "string" && typeof x.baseDir === "string" && Object.keys(x).length === 3)
          : f.type === "array"
            ? Array.isArray(v)
            : f.type === "object"
              ? v !== null && typeof v === "object" && !Array.isArray(v)
              : typeof v === f.type;
    if (!ok) throw invalidArgument(`${what}: field "${key}" must be ${f.type === "files" ? "a list of {file, text, baseDir}" : f.type}`);
  }
  return o as T;
}

function parseSelector(text: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) throw invalidArgument(`parse selector ${JSON.stringify(text)}: expected key=value[,key=value]`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function kindOf(word: string): Kind {
  const kind = resolveKind(word);
  if (!kind) throw notFound(`route /v1/${word}: no such kind`);
  return kind;
}

const NAME_SEGMENT = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function streamNdjson<T>(res: http.ServerResponse, items: AsyncIterable<T>, signal: AbortSignal) {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.flushHeaders();
  for await (const item of items) {
    if (signal.aborted) break;
    if (!res.write(JSON.stringify(item) + "\n")) await new Promise((r) => res.once("drain", r));
  }
  res.end();
}

/**
 * The API server. Each request gets an AbortSignal that fires when the client goes away, so
 * streams (watch, logs -f) and execs stop with it. A bad request gets a clear 4xx and never
 * affects the daemon; an unexpected error is logged once here and answered 500.
 */
export class ApiServer {
  private readonly server: http.Server;
  private readonly opts: ReturnType<typeof defaultApiServerOptions> & ApiServerOptions;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly api: ControllerApi,
    options: ApiServerOptions,
  ) {
    this.opts = { ...defaultApiServerOptions(), ...options };
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
    const path = this.opts.socketPath;
    const live = await new Promise<boolean>((resolve) => {
      const c = net.connect(path);
      c.once("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.once("error", () => resolve(false));
    });
    if (live) throw unavailable(`listen ${path}: another process serves this socket`);
    await fs.rm(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(path, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    await fs.chmod(path, this.opts.mode);
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
      const kind = errorKind(err);
      if (kind === "Internal") this.opts.logger.error({ err, method, path: url.pathname }, "request failed");
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body: ErrorBody = { error: { kind, message: errorMessage(err) } };
      if (err instanceof BerthError && err.object) body.error.object = err.object;
      sendJson(res, httpStatusOfKind[kind], body);
    }
  }

  private async route(method: string, url: URL, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal) {
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "v1") throw notFound(`route ${url.pathname}: not found`);
    const [, a, b, c] = parts;
    if (parts.length > 4) throw notFound(`route ${url.pathname}: not found`);
    if (b !== undefined && !NAME_SEGMENT.test(b)) throw invalidArgument(`route ${url.pathname}: ${JSON.stringify(b)} is not a valid name`);
    const max = this.opts.maxBodyBytes;

    if (a === "version" && parts.length === 2 && method === "GET") return sendJson(res, 200, this.api.version());
    if (a === "apply" && parts.length === 2 && method === "POST") {
      const body = checkBody<ApplyRequest>(await readJson(req, max), {
        stack: { type: "string", required: true },
        files: { type: "files", required: true },
        prune: { type: "boolean" },
        dryRun: { type: "boolean" },
        allowPrivileged: { type: "boolean" },
      }, "apply");
      if (!NAME_SEGMENT.test(body.stack)) throw invalidArgument(`apply: stack ${JSON.stringify(body.stack)} is not a valid name`);
      return sendJson(res, 200, await this.api.apply(body, signal));
    }
    if (a === "events" && parts.length === 2 && method === "GET") {
      const watch = url.searchParams.get("watch") === "true";
      if (!watch) {
        const items: EventRecord[] = [];
        for await (const e of this.api.events({ watch: false, signal })) items.push(e);
        return sendJson(res, 200, { items });
      }
      return streamNdjson(res, this.api.events({ watch: true, signal }), signal);
    }
    if (a === "containers" && b && c && method === "GET" && c === "logs") {
      const tail = url.searchParams.get("tail");
      const since = url.searchParams.get("since");
      if (tail !== null && !/^[0-9]+$/.test(tail)) throw invalidArgument(`logs: tail must be a whole number, got ${JSON.stringify(tail)}`);
      if (since !== null && !/^[0-9]+$/.test(since)) throw invalidArgument(`logs: since must be epoch milliseconds, got ${JSON.stringify(since)}`);
      const items = this.api.logs(b, {
        follow: url.searchParams.get("follow") === "true",
        ...(tail !== null ? { tail: Number(tail) } : {}),
        ...(since !== null ? { since: Number(since) } : {}),
        signal,
      });
      return streamNdjson(res, items, signal);
    }
    if (a === "containers" && b && c === "exec" && method === "POST") {
      const body = checkBody<ExecRequest>(await readJson(req, 1024 * 1024), {
        argv: { type: "string[]", required: true },
        env: { type: "object" },
        user: { type: "string" },
        workingDir: { type: "string" },
        timeoutMs: { type: "number" },
      }, "exec");
      if (body.argv.length === 0) throw invalidArgument("exec: argv must not be empty");
      return sendJson(res, 200, await this.api.exec(b, body, signal));
    }
    if (a === "containers" && b && (c === "stop" || c === "start" || c === "restart") && method === "POST") {
      return sendJson(res, 200, await this.api.act(b, c));
    }
    if (a && c === undefined) {
      const kind = kindOf(a);
      if (b === undefined && method === "GET") return sendJson(res, 200, { items: await this.api.list(kind, parseSelector(url.searchParams.get("selector"))) });
      if (b !== undefined && method === "GET") return sendJson(res, 200, await this.api.get(kind, b));
      if (b !== undefined && method === "DELETE") return sendJson(res, 200, await this.api.delete(kind, b));
    }
    throw notFound(`route ${method} ${url.pathname}: not found`);
  }
}
