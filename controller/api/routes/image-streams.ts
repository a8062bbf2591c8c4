/**
 * `POST /v1/image-store/{build|pull|push}`: long operations answered as NDJSON event
 * streams (protocol.ts). The body is checked first — a refusal is an ordinary error answer;
 * then the answer starts (200, headers flushed) and carries each event as it happens, and
 * a failure after that is the stream's last line, an `error` event. The request's signal
 * (the client went away) aborts the operation; the answer is then simply cut.
 */
import type * as http from "node:http";
import * as path from "node:path";
import { errorKind, errorMessage, invalidArgument } from "../../../lib/errors.js";
import { normalizeReference, normalizeTaggedReference } from "../../../lib/reference.js";
import { parseBody } from "../bodies.js";
import { checkQuery, readJson } from "../http-util.js";
import type { ErrorBody, ImageBuildEvent, ImageTransferEvent } from "../protocol.js";
import type { RouteContext } from "./types.js";

/** Largest build request body: a Dockerfile text (8 MiB at most) and its arguments. */
const MAX_BUILD_BODY = 10 * 1024 * 1024;
const MAX_TRANSFER_BODY = 64 * 1024;

/** The error as a stream's last event carries it (the shape of an error answer's `error`). */
export function streamError(err: unknown): ErrorBody["error"] {
  return { kind: errorKind(err), message: errorMessage(err) };
}

/**
 * Starts an NDJSON answer and runs `op` with a function writing one event line. Events are
 * written as they come (the producers' callbacks are synchronous, so the response buffers
 * them under backpressure). A failure of `op` becomes the `failed` event and the answer ends;
 * when the client went away the failure is rethrown (the server cuts the connection).
 */
async function streamOperation<E>(res: http.ServerResponse, signal: AbortSignal, op: (emit: (e: E) => void) => Promise<void>, failed: (err: unknown) => E): Promise<void> {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.flushHeaders();
  const emit = (e: E) => {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(e)}\n`);
  };
  try {
    await op(emit);
  } catch (err) {
    if (signal.aborted) throw err;
    emit(failed(err));
  }
  res.end();
}

export async function build({ api, url, req, res, signal }: RouteContext): Promise<void> {
  const what = "build image";
  checkQuery(url.searchParams, [], what);
  const body = await parseBody("ImageBuildRequest", await readJson(req, MAX_BUILD_BODY), what);
  if (!path.isAbsolute(body.context)) throw invalidArgument(`${what}: the context ${JSON.stringify(body.context)} is not an absolute path (the daemon reads it on this host)`);
  for (const t of body.tags) {
    try {
      normalizeTaggedReference(t);
    } catch (err) {
      throw invalidArgument(`${what}: -t ${JSON.stringify(t)}: ${errorMessage(err)}`, { cause: err });
    }
  }
  await streamOperation<ImageBuildEvent>(
    res,
    signal,
    async (emit) => {
      await api.buildImage(body, emit, signal);
    },
    (err) => ({ type: "error", error: streamError(err) }),
  );
}

export async function pull({ api, url, req, res, signal }: RouteContext): Promise<void> {
  const body = await parseBody("ImagePullRequest", await readJson(req, MAX_TRANSFER_BODY), "pull image");
  checkQuery(url.searchParams, [], `pull image ${body.reference}`);
  if (!body.allTags) checkReference(body.reference, `pull image ${body.reference}`);
  await streamOperation<ImageTransferEvent>(
    res,
    signal,
    async (emit) => {
      await api.pullImage(body, emit, signal);
    },
    (err) => ({ kind: "error", error: streamError(err) }),
  );
}

export async function push({ api, url, req, res, signal }: RouteContext): Promise<void> {
  const body = await parseBody("ImagePushRequest", await readJson(req, MAX_TRANSFER_BODY), "push image");
  checkQuery(url.searchParams, [], `push image ${body.reference}`);
  checkReference(body.reference, `push image ${body.reference}`);
  await streamOperation<ImageTransferEvent>(
    res,
    signal,
    async (emit) => {
      await api.pushImage(body, emit, signal);
    },
    (err) => ({ kind: "error", error: streamError(err) }),
  );
}

function checkReference(ref: string, what: string): void {
  try {
    normalizeReference(ref);
  } catch (err) {
    throw invalidArgument(`${what}: ${errorMessage(err)}`, { cause: err });
  }
}
