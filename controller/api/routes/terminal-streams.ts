import type * as http from "node:http";
import type { Readable } from "node:stream";
import { BerthError, errorKind, errorMessage, invalidArgument, unavailable } from "../../../lib/errors.js";
import { MAX_ATTACH_BEHIND_BYTES } from "../../../runtime/containers/attach-socket.js";
import { parseBody } from "../bodies.js";
import { encodeFrame, EXEC_REQUEST_CONTENT_TYPE, EXEC_STREAM_CONTENT_TYPE, framedInput, readRequestFrame, STREAM } from "../exec-stream.js";
import type { ErrorBody, ExecExitStatus, ExecRequest, ExecStreamId } from "../protocol.js";
import type { Route, RouteContext } from "./types.js";

/** Largest request frame of an attach. */
const MAX_ATTACH_REQUEST = 64 * 1024;

/**
 * The streams with a terminal (protocol.ts): an exec with `tty: true` (its request frame
 * read by containers.ts, handed here) and `POST /v1/containers/{name}/attach`. Both read
 * framed input (stdin, resize, signal frames) and answer with output frames and an exit
 * frame. The client going away aborts `signal`: the exec is killed, an attach detaches.
 */
export const attachRoutes: Route = (ctx) => {
  const [resource, name, sub] = ctx.segments;
  if (resource !== "containers" || !name || sub !== "attach" || ctx.method !== "POST") return undefined;
  return attachStream(ctx, name);
};

/** The attach route is a stream with a raw body, checked like the exec stream's (server.ts). */
export function attachStreamRouteOf(method: string, segments: string[]): string | undefined {
  return method === "POST" && segments.length === 3 && segments[0] === "containers" && segments[2] === "attach" ? "attach" : undefined;
}

/**
 * Sends frames of an exec stream or attach answer (protocol.ts): the headers with the
 * first, each written at once, waiting while `res` is full; throws the signal's reason
 * once the client is gone.
 */
export function frameWriter(res: http.ServerResponse, signal: AbortSignal) {
  return async (id: ExecStreamId, payload: Uint8Array | string) => {
    signal.throwIfAborted();
    if (!res.headersSent) res.writeHead(200, { "content-type": EXEC_STREAM_CONTENT_TYPE, "cache-control": "no-store" });
    if (!res.write(encodeFrame(id, payload))) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          res.off("drain", done);
          signal.removeEventListener("abort", done);
          if (signal.aborted) reject(signal.reason);
          else resolve();
        };
        res.once("drain", done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  };
}

async function pump(from: Readable, to: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  for await (const chunk of from as AsyncIterable<Buffer>) await to(chunk);
}

/** A stdin source that ends an InvalidArgument in the input by cutting the answer (it has begun). */
function guarded(input: AsyncIterable<Uint8Array>, onError: (err: unknown) => void): AsyncIterable<Uint8Array> {
  return (async function* () {
    try {
      yield* input;
    } catch (err) {
      onError(err);
    }
  })();
}

/** `tty: true` exec: one output stream (stdout frames), framed input, the exit frame. */
export async function terminalExecStream({ api, res, signal }: RouteContext, name: string, req: ExecRequest, rest: AsyncIterable<Uint8Array>): Promise<void> {
  const send = frameWriter(res, signal);
  const failed = new AbortController();
  let resizeTo: ((size: { cols: number; rows: number }) => Promise<void>) | undefined;
  const stdin = guarded(
    framedInput(rest, { resize: (s) => resizeTo?.(s), error: (err) => failed.abort(err) }),
    (err) => failed.abort(err),
  );
  const t = await api.execTerminal(name, req, AbortSignal.any([signal, failed.signal]), stdin);
  resizeTo = (s) => t.resize(s);
  try {
    await pump(t.output, (c) => send(STREAM.stdout, c));
  } catch (err) {
    failed.abort(err);
    t.output.destroy();
    await t.exit;
    throw err;
  }
  const e = await t.exit;
  if (failed.signal.aborted && !signal.aborted) return sendError(send, res, failed.signal.reason);
  const exit: ExecExitStatus = { exitCode: e.exitCode, timedOut: e.timedOut, ...(e.startError ? { startError: e.startError } : {}) };
  await send(STREAM.exit, JSON.stringify(exit));
  res.end();
}

async function sendError(send: ReturnType<typeof frameWriter>, res: http.ServerResponse, err: unknown) {
  const e: ErrorBody = { error: { kind: errorKind(err), message: errorMessage(err) } };
  if (err instanceof BerthError && err.object) e.error.object = err.object;
  await send(STREAM.error, JSON.stringify(e));
  res.end();
}

/**
 * `POST …/attach`. With `atStart` the wait for the container's next start is registered
 * first, and the headers go at once: the client then knows that a start it asks for now
 * (the apply of `berth run`) connects it before the process runs. An error once the headers
 * went (the connect failed in the start) is an error frame.
 */
async function attachStream(ctx: RouteContext, name: string): Promise<void> {
  const { api, req, res, signal } = ctx;
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== EXEC_REQUEST_CONTENT_TYPE) throw invalidArgument(`attach: the request takes content type ${EXEC_REQUEST_CONTENT_TYPE}, got ${JSON.stringify(type)}`);
  const body = req.iterator({ destroyOnReturn: false });
  try {
    const { request, stdin: rest } = await readRequestFrame(body, MAX_ATTACH_REQUEST);
    const attachReq = await parseBody("AttachRequest", request, "attach");
    const send = frameWriter(res, signal);
    let bad: unknown;
    let a: Awaited<ReturnType<typeof api.attach>> | undefined;
    const onBad = (err: unknown) => {
      bad = err;
      a?.detach();
    };
    const stdin = guarded(framedInput(rest, { resize: (s) => a?.resize(s), signal: (sig) => api.signalContainer(name, sig).catch(() => {}), error: onBad }), onBad);
    const sendHeaders = () => {
      if (res.headersSent) return;
      res.writeHead(200, { "content-type": EXEC_STREAM_CONTENT_TYPE, "cache-control": "no-store" });
      res.flushHeaders();
    };
    if (attachReq.atStart) {
      const reg = api.attachAtStart(name, attachReq, stdin);
      const cancel = () => reg.cancel();
      signal.addEventListener("abort", cancel, { once: true });
      sendHeaders();
      try {
        a = await reg.attached;
      } catch (err) {
        if (signal.aborted) return;
        return sendError(send, res, err);
      } finally {
        signal.removeEventListener("abort", cancel);
      }
      // Connected, and the client went meanwhile: the attachment is let go at once.
      if (signal.aborted) return a.detach();
    } else {
      a = await api.attach(name, attachReq, stdin);
    }
    const attached = a;
    const detach = () => attached.detach();
    signal.addEventListener("abort", detach, { once: true });
    // The headers go at once: the client then knows it is attached (a quiet process writes nothing).
    sendHeaders();
    try {
      await Promise.all([pump(attached.stdout, (c) => send(STREAM.stdout, c)), pump(attached.stderr, (c) => send(STREAM.stderr, c))]);
    } catch (err) {
      attached.detach();
      if (signal.aborted) return;
      throw err;
    } finally {
      signal.removeEventListener("abort", detach);
    }
    if (bad) return sendError(send, res, bad);
    if ((await attached.ended).overrun) {
      return sendError(send, res, unavailable(`attach to ${name}: the client fell over ${MAX_ATTACH_BEHIND_BYTES / (1024 * 1024)} MiB behind the container's output and was disconnected (the container goes on)`));
    }
    const code = await attached.exit;
    if (signal.aborted) return;
    if (code !== undefined) await send(STREAM.exit, JSON.stringify({ exitCode: code, timedOut: false } satisfies ExecExitStatus));
    res.end();
  } finally {
    void body.return?.().catch(() => {});
  }
}
