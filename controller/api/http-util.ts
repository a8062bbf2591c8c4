import type * as http from "node:http";
import { BerthError, errorMessage, invalidArgument } from "../../lib/errors.js";
import { TAR_CONTENT_TYPE } from "./protocol.js";

/**
 * Request and response plumbing shared by the route modules: bounded bodies, JSON and NDJSON
 * answers, query checks, and the checks every request passes before any route sees it
 * (checkRequestHeaders). Every refusal is an InvalidArgument saying what was wrong.
 */

const UPLOAD_TYPES = new Set([TAR_CONTENT_TYPE, "application/octet-stream", "application/gzip", "application/x-gzip"]);
export const JSON_CONTENT_TYPE = "application/json";

/**
 * An InvalidArgument answered with its own HTTP status rather than its kind's 400: 415 for a
 * body of the wrong type, 408 for one that did not arrive in time.
 */
export class RequestRefused extends BerthError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super("InvalidArgument", message);
  }
}

/** The media type of the body, lower case, without parameters; "" when there is none. */
export function mediaTypeOf(req: http.IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

/** Whether the request carries a body (HTTP/1.1 framing: a length above 0, or chunked). */
export function hasBody(req: http.IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/**
 * Host values of berth's own clients: Node's http client over a unix socket sends
 * `localhost`; `berth` and an empty or absent Host are accepted too. A browser that a page
 * tricked into reaching the socket (DNS rebinding through a TCP forward) sends the page's host.
 */
const LOCAL_HOST = /^(?:localhost(?::[0-9]{1,5})?|berth)$/i;
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * What every request must satisfy before a route sees it: a local Host (else 400), and for
 * mutating methods a JSON body type (else 415) — or, on an upload route (`upload` names it,
 * e.g. "load images"), a tar type. A body a browser may send cross-origin without asking
 * first (text/plain, a form, no type at all) is thereby refused. A DELETE without a body
 * needs no type. Throws RequestRefused.
 */
export function checkRequestHeaders(req: http.IncomingMessage, method: string, upload?: string): void {
  const host = req.headers.host;
  if (host !== undefined && host !== "" && !LOCAL_HOST.test(host)) {
    throw new RequestRefused(400, `read request: Host ${JSON.stringify(host.slice(0, 100))} is refused: the API serves only local clients (Host localhost or berth)`);
  }
  if (!MUTATING.has(method)) return;
  const type = mediaTypeOf(req);
  const got = type ? JSON.stringify(type) : "none";
  if (upload !== undefined) {
    if (!UPLOAD_TYPES.has(type)) throw new RequestRefused(415, `${upload}: content type ${got} is not ${TAR_CONTENT_TYPE}`);
    return;
  }
  if (type === JSON_CONTENT_TYPE || (method === "DELETE" && !hasBody(req) && !type)) return;
  throw new RequestRefused(415, `read request: ${method} needs content type ${JSON_CONTENT_TYPE}, got ${got}`);
}

/** Requests whose body missed its deadline (the server answered 408): their body is never handed to a route. */
const cutRequests = new WeakSet<http.IncomingMessage>();

/** Marks the body of `req` as cut: readJson of it fails from now on, however much more arrives. */
export function cutBody(req: http.IncomingMessage): void {
  cutRequests.add(req);
}

export function isCut(req: http.IncomingMessage): boolean {
  return cutRequests.has(req);
}

/**
 * Reads a JSON body up to `max` bytes; InvalidArgument for oversize or malformed bodies, or a
 * body cut at its deadline (cutBody). `__proto__` keys are dropped. Reading stops without
 * destroying the request, so an error can still be answered on its connection.
 */
export async function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) throw invalidArgument(`read request: body of ${declared} bytes is over the limit of ${max}`);
  const chunks: Buffer[] = [];
  let n = 0;
  const cut = () => new RequestRefused(408, "read request: the body did not arrive in time");
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if (isCut(req)) throw cut();
    n += chunk.length;
    if (n > max) throw invalidArgument(`read request: body is over the limit of ${max} bytes`);
    chunks.push(chunk);
  }
  if (isCut(req)) throw cut();
  if (n === 0) throw invalidArgument("read request: expected a JSON body");
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"), (k, v) => (k === "__proto__" ? undefined : v));
  } catch (err) {
    throw invalidArgument(`read request: body is not JSON: ${errorMessage(err)}`);
  }
}

/**
 * A raw request body (an archive) as chunks, refusing more than `max` bytes: at once when
 * content-length says so, else as soon as the count passes it (InvalidArgument). Reading
 * stops without destroying the request, so the error can still be answered on its connection.
 */
export function uploadBody(req: http.IncomingMessage, max: number, what: string): AsyncIterable<Buffer> {
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

export function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Writes `items` as NDJSON, waiting on backpressure, until they end or `signal` aborts. */
export async function streamNdjson<T>(res: http.ServerResponse, items: AsyncIterable<T>, signal: AbortSignal) {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.flushHeaders();
  for await (const item of items) {
    if (signal.aborted) break;
    if (!res.write(JSON.stringify(item) + "\n")) await new Promise((r) => res.once("drain", r));
  }
  res.end();
}

/** Refuses query parameters outside `allowed` (like unknown body fields). */
export function checkQuery(q: URLSearchParams, allowed: string[], what: string) {
  for (const key of q.keys()) if (!allowed.includes(key)) throw invalidArgument(`${what}: unknown parameter "${key}"`);
}

/** `true` or `false`; absent is false. */
export function booleanParam(q: URLSearchParams, name: string, what: string): boolean {
  const v = q.get(name);
  if (v === null || v === "false") return false;
  if (v === "true") return true;
  throw invalidArgument(`${what}: ${name} must be true or false, got ${JSON.stringify(v)}`);
}
