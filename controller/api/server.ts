import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, promises as fs } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { BerthError, errorKind, errorMessage, httpStatusOfKind, invalidArgument, notFound, unavailable } from "../../lib/errors.js";
import { isImageReference, normalizeTaggedReference } from "../../lib/reference.js";
import { resolveKind, type Kind } from "../../schemas/kinds.js";
import { applyChange } from "../../runtime/images/image-changes.js";
import type { ExecResult, ImageRecord, ImageRuntimeConfig, LogLine } from "../../runtime/types.js";
import {
  TAR_CONTENT_TYPE,
  type ApplyRequest,
  type ApplyResponse,
  type ChangeEntry,
  type ErrorBody,
  type EventRecord,
  type ExecRequest,
  type ImagePruneRequest,
  type ImagePruneResponse,
  type ImageRemoveResponse,
  type ImageTagRequest,
  type ObjectView,
  type VersionInfo,
} from "./protocol.js";

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

  // The image store. The daemon holds the root lock, so while it runs the store is only
  // touched through these. Refs are references, digests or ID prefixes (ImageStore.get).
  listImages(): Promise<ImageRecord[]>;
  /** In the order asked; NotFound for the first ref that matches nothing. */
  inspectImages(refs: string[]): Promise<ImageRecord[]>;
  /** Loads a `docker save` archive or OCI layout tar the server has staged in `file` (the server removes it). */
  loadImages(file: string, signal: AbortSignal): Promise<ImageRecord[]>;
  /**
   * `docker import`: a rootfs tarball read from `rootfs` as it arrives. Nothing is visible
   * unless the whole stream was read and committed; a stream that fails (client gone, over
   * the upload limit) leaves nothing behind.
   */
  importImage(rootfs: AsyncIterable<Uint8Array>, reference: string, config: ImageRuntimeConfig, signal: AbortSignal): Promise<ImageRecord>;
  /** Writes an archive of `refs` to `outFile` (atomically); the server streams and removes it. */
  saveImages(refs: string[], outFile: string): Promise<void>;
  tagImage(source: string, target: string): Promise<ImageRecord>;
  removeImage(ref: string, options: { force: boolean }): Promise<ImageRemoveResponse>;
  /** `berth image prune [-a]`, as the CLI has it without a daemon. */
  pruneImages(options: { all: boolean }): Promise<ImagePruneResponse>;
}

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

const TMP_PREFIX = "api-";
const UPLOAD_TYPES = new Set([TAR_CONTENT_TYPE, "application/octet-stream", "application/gzip", "application/x-gzip"]);
/** An image ID or digest (`sha256:` optional), or a prefix of one. */
const IMAGE_ID_RE = /^(?:sha256:)?[a-f0-9]{1,64}$/;

/** A ref as `berth image` takes it: a reference, a digest or an ID prefix. */
function checkImageRef(ref: string, what: string): string {
  if (ref.length > 1024 || !(IMAGE_ID_RE.test(ref) || isImageReference(ref))) {
    throw invalidArgument(`${what}: ${JSON.stringify(ref)} is not an image reference, digest or ID`);
  }
  return ref;
}

/** Refuses query parameters outside `allowed` (like unknown body fields). */
function checkQuery(q: URLSearchParams, allowed: string[], what: string) {
  for (const key of q.keys()) if (!allowed.includes(key)) throw invalidArgument(`${what}: unknown parameter "${key}"`);
}

function refsOf(q: URLSearchParams, what: string, options: { single?: boolean } = {}): string[] {
  const refs = q.getAll("ref");
  if (refs.length === 0) throw invalidArgument(`${what}: expected a ref parameter`);
  if (options.single && refs.length > 1) throw invalidArgument(`${what}: expected one ref parameter, got ${refs.length}`);
  return refs.map((r) => checkImageRef(r, what));
}

function booleanParam(q: URLSearchParams, name: string, what: string): boolean {
  const v = q.get(name);
  if (v === null || v === "false") return false;
  if (v === "true") return true;
  throw invalidArgument(`${what}: ${name} must be true or false, got ${JSON.stringify(v)}`);
}

/**
 * A raw request body (an archive) as chunks, refusing more than `max` bytes: at once when
 * content-length says so, else as soon as the count passes it (InvalidArgument). Reading
 * stops without destroying the request, so the error can still be answered on its connection.
 */
function uploadBody(req: http.IncomingMessage, max: number, what: string): AsyncIterable<Buffer> {
  const type = (req.headers["content-type"] ?? TAR_CONTENT_TYPE).split(";")[0]!.trim().toLowerCase();
  if (!UPLOAD_TYPES.has(type)) throw invalidArgument(`${what}: content type ${JSON.stringify(type)} is not ${TAR_CONTENT_TYPE}`);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) throw invalidArgument(`${what}: upload of ${declared} bytes is over the limit of ${max}`);
  return (async function* () {
    let n = 0;
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > max) throw invalidArgument(`${what}: upload is over the limit of ${max} bytes`);
      yield chunk;
    }
    if (n === 0) throw invalidArgument(`${what}: expected a tar archive as the request body`);
  })();
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
    await this.removeStaleTmp();
  }

  private tmpDir(): string {
    if (this.opts.tmpDir) return this.opts.tmpDir;
    const { root } = this.api.version();
    // (a controller without a root, in tests: never a directory relative to the cwd)
    return path.isAbsolute(root) ? path.join(root, "tmp") : path.join(tmpdir(), `berth-api-${process.pid}`);
  }

  /** Staged files of a previous server on this root (one serves a root at a time: the root lock). */
  private async removeStaleTmp() {
    const dir = this.tmpDir();
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const n of names) if (n.startsWith(TMP_PREFIX)) await fs.rm(path.join(dir, n), { force: true });
  }

  /** A fresh path for a staged archive; the caller removes it. */
  private async tmpFile(): Promise<string> {
    const dir = this.tmpDir();
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    return path.join(dir, `${TMP_PREFIX}${randomUUID()}.tar`);
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

  private async route(method: string, url: URL, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal) {
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "v1") throw notFound(`route ${url.pathname}: not found`);
    const [, a, b, c] = parts;
    if (parts.length > 4) throw notFound(`route ${url.pathname}: not found`);
    if (b !== undefined && !NAME_SEGMENT.test(b)) throw invalidArgument(`route ${url.pathname}: ${JSON.stringify(b)} is not a valid name`);
    const max = this.opts.maxBodyBytes;

    if (a === "image-store" && c === undefined) return this.imageStore(method, b, url, req, res, signal);
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
  /** `/v1/image-store[/{op}]`: the image store, see protocol.ts. */
  private async imageStore(method: string, op: string | undefined, url: URL, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal) {
    const q = url.searchParams;
    if (op === undefined && method === "GET") {
      checkQuery(q, [], "list images");
      return sendJson(res, 200, { items: await this.api.listImages() });
    }
    if (op === undefined && method === "DELETE") {
      checkQuery(q, ["ref", "force"], "remove image");
      const [ref] = refsOf(q, "remove image", { single: true });
      return sendJson(res, 200, await this.api.removeImage(ref!, { force: booleanParam(q, "force", "remove image") }));
    }
    if (op === "inspect" && method === "GET") {
      checkQuery(q, ["ref"], "inspect images");
      return sendJson(res, 200, await this.api.inspectImages(refsOf(q, "inspect images")));
    }
    if (op === "load" && method === "POST") {
      checkQuery(q, [], "load images");
      const body = uploadBody(req, this.opts.maxUploadBytes, "load images");
      const file = await this.tmpFile();
      let loaded: ImageRecord[];
      try {
        await pipeline(Readable.from(body), createWriteStream(file, { flags: "wx", mode: 0o600 }), { signal });
        loaded = await this.api.loadImages(file, signal);
      } finally {
        await fs.rm(file, { force: true });
      }
      return sendJson(res, 200, { loaded });
    }
    if (op === "import" && method === "POST") {
      const what = "import image";
      checkQuery(q, ["reference", "change"], what);
      const references = q.getAll("reference");
      if (references.length !== 1) throw invalidArgument(`${what}: expected one reference parameter, got ${references.length}`);
      const reference = references[0]!;
      normalizeTaggedReference(reference);
      let config: ImageRuntimeConfig = {};
      for (const change of q.getAll("change")) {
        try {
          config = applyChange(config, change);
        } catch (err) {
          throw invalidArgument(`${what}: change ${JSON.stringify(change)}: ${errorMessage(err)}`);
        }
      }
      const body = uploadBody(req, this.opts.maxUploadBytes, what);
      return sendJson(res, 200, await this.api.importImage(body, reference, config, signal));
    }
    if (op === "save" && method === "GET") {
      checkQuery(q, ["ref"], "save images");
      const refs = refsOf(q, "save images");
      const file = await this.tmpFile();
      try {
        await this.api.saveImages(refs, file);
        const { size } = await fs.stat(file);
        res.writeHead(200, { "content-type": TAR_CONTENT_TYPE, "content-length": size, "cache-control": "no-store" });
        await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), res, { signal });
        return;
      } finally {
        await fs.rm(file, { force: true });
      }
    }
    if (op === "tag" && method === "POST") {
      checkQuery(q, [], "tag image");
      const body = checkBody<ImageTagRequest>(await readJson(req, 64 * 1024), { source: { type: "string", required: true }, target: { type: "string", required: true } }, "tag image");
      checkImageRef(body.source, "tag image");
      normalizeTaggedReference(body.target);
      return sendJson(res, 200, await this.api.tagImage(body.source, body.target));
    }
    if (op === "prune" && method === "POST") {
      checkQuery(q, [], "prune images");
      const body = checkBody<ImagePruneRequest>(await readJson(req, 64 * 1024), { all: { type: "boolean" } }, "prune images");
      return sendJson(res, 200, await this.api.pruneImages({ all: body.all === true }));
    }
    throw notFound(`route ${method} ${url.pathname}: not found`);
  }
}
