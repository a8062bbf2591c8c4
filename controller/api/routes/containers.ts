import { BerthError, errorKind, errorMessage, invalidArgument } from "../../../lib/errors.js";
import { parseBody } from "../bodies.js";
import { EXEC_REQUEST_CONTENT_TYPE, readRequestFrame, STREAM } from "../exec-stream.js";
import { booleanParam, checkQuery, readJson, sendJson, streamNdjson } from "../http-util.js";
import { TAR_CONTENT_TYPE, type ContainerChanges, type ErrorBody, type ExecExitStatus } from "../protocol.js";
import { frameWriter, terminalExecStream } from "./terminal-streams.js";
import type { Route, RouteContext } from "./types.js";

/** Largest exec request body. */
const MAX_EXEC_BODY = 1024 * 1024;
/** Largest commit request body (its changes are bounded by the schema; this is above their sum's usual size). */
const MAX_COMMIT_BODY = 1024 * 1024;
const ACTIONS = ["stop", "start", "restart"] as const;
const isAction = (s: string): s is (typeof ACTIONS)[number] => (ACTIONS as readonly string[]).includes(s);

/**
 * Names the exec stream, `POST /v1/containers/{name}/exec?stream=true` (`segments` after
 * `/v1`), for the server's checks: its body is raw (the request frame, then stdin) and lasts
 * as long as the exec, so it is checked like an upload — a binary content type
 * (EXEC_REQUEST_CONTENT_TYPE), no body deadline.
 */
export function execStreamRouteOf(method: string, segments: string[], query: URLSearchParams): string | undefined {
  return method === "POST" && segments.length === 3 && segments[0] === "containers" && segments[2] === "exec" && query.get("stream") === "true" ? "exec" : undefined;
}

/**
 * What only containers have, under `/v1/containers/{name}`: `GET …/logs`, `POST
 * …/exec[?stream=true]`, `POST …/{stop|start|restart}`, `GET …/changes`, `POST …/commit`,
 * `GET …/export`.
 */
export const containerRoutes: Route = (ctx) => {
  const [resource, name, sub] = ctx.segments;
  if (resource !== "containers" || !name || !sub) return undefined;
  if (sub === "logs" && ctx.method === "GET") return logs(ctx, name);
  if (sub === "exec" && ctx.method === "POST") return exec(ctx, name);
  if (sub === "changes" && ctx.method === "GET") return changes(ctx, name);
  if (sub === "commit" && ctx.method === "POST") return commit(ctx, name);
  if (sub === "export" && ctx.method === "GET") return exportTar(ctx, name);
  if (isAction(sub) && ctx.method === "POST") return ctx.api.act(name, sub, ctx.signal).then((v) => sendJson(ctx.res, 200, v));
  return undefined;
};

async function changes({ api, url, res }: RouteContext, name: string) {
  checkQuery(url.searchParams, [], "diff container");
  sendJson(res, 200, { items: await api.changes(name) } satisfies ContainerChanges);
}

async function commit({ api, url, req, res }: RouteContext, name: string) {
  checkQuery(url.searchParams, [], "commit container");
  const body = await parseBody("ContainerCommitRequest", await readJson(req, MAX_COMMIT_BODY), `commit container ${name}`);
  sendJson(res, 200, await api.commit(name, body));
}

/**
 * The tar as the runtime writes it, chunked (its length is not known before the end). An
 * error before its first byte is an ordinary error answer; after it the connection is cut
 * (the server destroys the response), so a client never takes a short tar for a whole one.
 */
async function exportTar({ api, url, res, signal }: RouteContext, name: string) {
  checkQuery(url.searchParams, [], "export container");
  res.setHeader("content-type", TAR_CONTENT_TYPE);
  res.setHeader("cache-control", "no-store");
  await api.exportContainer(name, res, signal);
}

/** `?follow=true&tail=N&since=ms`: NDJSON LogLines; with follow, until the client goes away. */
async function logs({ api, url, res, signal }: RouteContext, name: string) {
  const tail = url.searchParams.get("tail");
  const since = url.searchParams.get("since");
  if (tail !== null && !/^[0-9]+$/.test(tail)) throw invalidArgument(`logs: tail must be a whole number, got ${JSON.stringify(tail)}`);
  if (since !== null && !/^[0-9]+$/.test(since)) throw invalidArgument(`logs: since must be epoch milliseconds, got ${JSON.stringify(since)}`);
  const items = api.logs(name, {
    follow: url.searchParams.get("follow") === "true",
    ...(tail !== null ? { tail: Number(tail) } : {}),
    ...(since !== null ? { since: Number(since) } : {}),
    signal,
  });
  return streamNdjson(res, items, signal);
}

async function exec(ctx: RouteContext, name: string) {
  const { api, req, res, url, signal } = ctx;
  checkQuery(url.searchParams, ["stream"], "exec");
  if (booleanParam(url.searchParams, "stream", "exec")) return execStream(ctx, name);
  const body = await parseBody("ExecRequest", await readJson(req, MAX_EXEC_BODY), "exec");
  const { startError: _startError, ...result } = await api.exec(name, body, signal);
  sendJson(res, 200, result);
}

/**
 * The exec stream (protocol.ts): the request frame, then stdin from the rest of the body;
 * output frames as the process writes, the headers with the first; the exit frame last.
 * Before the first frame an error is an ordinary answer (the server's); after it, an error
 * frame ends the answer. The client going away aborts `signal`, which kills the exec.
 */
async function execStream(ctx: RouteContext, name: string) {
  const type = (ctx.req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== EXEC_REQUEST_CONTENT_TYPE) throw invalidArgument(`exec: a stream's request takes content type ${EXEC_REQUEST_CONTENT_TYPE}, got ${JSON.stringify(type)}`);
  const body = ctx.req.iterator({ destroyOnReturn: false });
  try {
    await execStreamOf(ctx, name, body);
  } finally {
    // Let go of the body (not awaited: a read may be pending on a client that sends
    // nothing), so what is left of it can be read and discarded: an error answer is heard,
    // stdin the process did not read does not hold the connection.
    void body.return?.().catch(() => {});
  }
}

async function execStreamOf(ctx: RouteContext, name: string, requestBody: AsyncIterator<Uint8Array>) {
  const { api, res, signal } = ctx;
  const { request, stdin } = await readRequestFrame(requestBody, MAX_EXEC_BODY);
  const body = await parseBody("ExecRequest", request, "exec");
  if (body.tty) return terminalExecStream(ctx, name, body, stdin);
  const send = frameWriter(res, signal);
  let result;
  try {
    result = await api.exec(name, body, signal, { stdin, stdout: (c) => send(STREAM.stdout, c), stderr: (c) => send(STREAM.stderr, c) });
  } catch (err) {
    if (!res.headersSent || signal.aborted) throw err;
    const e: ErrorBody = { error: { kind: errorKind(err), message: errorMessage(err) } };
    if (err instanceof BerthError && err.object) e.error.object = err.object;
    await send(STREAM.error, JSON.stringify(e));
    res.end();
    return;
  }
  if (result.stdout) await send(STREAM.stdout, result.stdout);
  if (result.stderr) await send(STREAM.stderr, result.stderr);
  const exit: ExecExitStatus = { exitCode: result.exitCode, timedOut: result.timedOut, ...(result.startError ? { startError: result.startError } : {}) };
  await send(STREAM.exit, JSON.stringify(exit));
  res.end();
}
