import type * as http from "node:http";
import { errorMessage, invalidArgument } from "../../lib/errors.js";
import { TAR_CONTENT_TYPE } from "./protocol.js";

/**
 * Request and response plumbing shared by the route modules: bounded bodies, JSON and NDJSON
 * answers, query checks. Every refusal is an InvalidArgument saying what was wrong.
 */

const UPLOAD_TYPES = new Set([TAR_CONTENT_TYPE, "application/octet-stream", "application/gzip", "application/x-gzip"]);

/** Reads a JSON body up to `max` bytes; InvalidArgument for oversize or malformed bodies. `__proto__` keys are dropped. */
export async function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
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
