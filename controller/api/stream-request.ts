import * as net from "node:net";
import { PassThrough } from "node:stream";

/**
 * One streaming HTTP/1.1 exchange with the daemon over its unix socket, on `net` alone: the
 * exec stream's and attach's (client.ts frameStream). The request body is sent chunked as it
 * is written; the answer's body is read chunked, by content-length, or to the end of the
 * connection. Node's http client does the same, but in a CLI process that makes one request
 * its first request costs ~10 ms of lazy set-up (bench/exec: a third of what berth exec
 * adds to runc exec); this costs ~1 ms.
 *
 * Contract: `answer` resolves once the answer's head arrived (1xx heads are skipped), or
 * rejects: an AbortError when `signal` aborted, else the socket's error (a connect error
 * while `connected()` is false; ECONNRESET "socket hang up" for a connection that closed
 * first; InvalidHead for an answer that is not HTTP). The body is a stream of the decoded
 * bytes that ends when the answer is complete and fails (ECONNRESET) when the connection
 * closes before; reading it slowly holds the socket (backpressure). The connection is not
 * reused: it is closed when the answer ended, when `destroy()` is called on either side,
 * or on abort. Writes after the end or the close are dropped (`writable` is false).
 */
export interface StreamRequest {
  /** Sends a chunk of the body (an empty one is skipped: it would end the body); false when the socket's buffer is full. */
  write(chunk: Uint8Array): boolean;
  /** Ends the body (the last chunk); the connection stays open for the answer. */
  end(): void;
  readonly writable: boolean;
  /** "drain": the buffer emptied; "close": the connection closed. */
  once(event: "drain" | "close", fn: () => void): void;
  /** True once the socket connected. */
  connected(): boolean;
  destroy(): void;
}

export interface StreamAnswer extends AsyncIterable<Buffer> {
  statusCode: number;
  /** Header names lower-cased; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  destroy(): void;
}

export interface StreamRequestOptions {
  socketPath: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  signal?: AbortSignal;
}

/** Largest answer head accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from("\r\n");

type BodyMode = { kind: "chunked" } | { kind: "length"; left: number } | { kind: "eof" };

const connError = (message: string, code: string) => Object.assign(new Error(message), { code });

export function openStreamRequest(o: StreamRequestOptions): { request: StreamRequest; answer: Promise<StreamAnswer> } {
  const socket = net.connect(o.socketPath);
  let isConnected = false;
  let ended = false;
  let closed = false;
  socket.once("connect", () => (isConnected = true));
  const head = [`${o.method} ${o.path} HTTP/1.1`, "host: localhost", "transfer-encoding: chunked", ...Object.entries(o.headers).map(([k, v]) => `${k}: ${v}`)].join("\r\n");
  socket.write(`${head}\r\n\r\n`);

  const body = new PassThrough();
  // A failure no one reads the body for is no crash: a reader gets it from the iterator.
  body.on("error", () => {});
  let settle: { resolve(a: StreamAnswer): void; reject(e: Error): void } | undefined;
  const answer = new Promise<StreamAnswer>((resolve, reject) => (settle = { resolve, reject }));
  // Not observed until the caller awaits it: never an unhandled rejection meanwhile.
  answer.catch(() => {});
  const fail = (err: Error) => {
    if (settle) {
      settle.reject(err);
      settle = undefined;
    } else if (!body.writableEnded) body.destroy(err);
    socket.destroy();
  };

  // The answer: its head, then the body as `mode` says; `buf` holds bytes not parsed yet.
  let buf: Buffer = Buffer.alloc(0);
  let mode: BodyMode | undefined;
  let chunkLeft = 0;
  let chunkState: "size" | "data" | "crlf" | "trailers" = "size";
  const finishBody = () => {
    body.end();
    socket.destroy();
  };
  const emit = (b: Buffer) => {
    if (b.length === 0 || body.destroyed) return;
    if (!body.write(b)) {
      socket.pause();
      body.once("drain", () => socket.resume());
    }
  };
  const parseHead = (): boolean => {
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) fail(connError(`the answer's head is over ${MAX_HEAD_BYTES} bytes`, "InvalidHead"));
      return false;
    }
    const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
    buf = buf.subarray(end + 4);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
    if (!m) {
      fail(connError(`not an HTTP answer: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`, "InvalidHead"));
      return false;
    }
    const statusCode = Number(m[1]);
    if (statusCode < 200) return true; // 1xx: the real head follows
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      if (i <= 0) continue;
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    const length = headers["content-length"];
    mode = /\bchunked\b/i.test(headers["transfer-encoding"] ?? "") ? { kind: "chunked" } : length !== undefined && /^\d+$/.test(length) ? { kind: "length", left: Number(length) } : { kind: "eof" };
    const a: StreamAnswer = {
      statusCode,
      headers,
      [Symbol.asyncIterator]: () => body[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
      destroy: () => {
        body.destroy();
        socket.destroy();
      },
    };
    settle?.resolve(a);
    settle = undefined;
    if (mode.kind === "length" && mode.left === 0) finishBody();
    return true;
  };
  const parseChunked = () => {
    for (;;) {
      if (chunkState === "size") {
        const i = buf.indexOf(CRLF);
        if (i < 0) return;
        const size = parseInt(buf.subarray(0, i).toString("latin1").split(";")[0]!.trim(), 16);
        buf = buf.subarray(i + 2);
        if (!Number.isFinite(size) || size < 0) return fail(connError("a chunk of the answer has no size", "InvalidChunk"));
        chunkLeft = size;
        chunkState = size === 0 ? "trailers" : "data";
      } else if (chunkState === "data") {
        if (buf.length === 0) return;
        const n = Math.min(chunkLeft, buf.length);
        emit(buf.subarray(0, n));
        buf = buf.subarray(n);
        chunkLeft -= n;
        if (chunkLeft === 0) chunkState = "crlf";
      } else if (chunkState === "crlf") {
        if (buf.length < 2) return;
        buf = buf.subarray(2);
        chunkState = "size";
      } else {
        // trailers: lines until an empty one
        const i = buf.indexOf(CRLF);
        if (i < 0) return;
        const empty = i === 0;
        buf = buf.subarray(i + 2);
        if (empty) return finishBody();
      }
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (!mode && !closed && buf.length && parseHead()) {
      /* a 1xx head, then the real one */
    }
    if (!mode) return;
    if (mode.kind === "chunked") parseChunked();
    else if (mode.kind === "length") {
      const n = Math.min(mode.left, buf.length);
      emit(buf.subarray(0, n));
      buf = buf.subarray(n);
      mode.left -= n;
      if (mode.left === 0) finishBody();
    } else {
      emit(buf);
      buf = Buffer.alloc(0);
    }
  });
  socket.on("error", (err) => fail(err));
  socket.on("close", () => {
    closed = true;
    if (mode?.kind === "eof") body.end();
    else fail(connError(settle ? "socket hang up" : "the connection closed before the answer ended", "ECONNRESET"));
  });
  body.on("close", () => {
    if (!body.writableFinished) socket.destroy();
  });

  const onAbort = () => fail(Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" }));
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener("abort", onAbort, { once: true });
  socket.once("close", () => o.signal?.removeEventListener("abort", onAbort));

  const request: StreamRequest = {
    write(chunk) {
      if (ended || closed || socket.destroyed) return true;
      if (chunk.length === 0) return true;
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      return socket.write(CRLF);
    },
    end() {
      if (ended || closed || socket.destroyed) return;
      ended = true;
      socket.write("0\r\n\r\n");
    },
    get writable() {
      return !ended && !closed && !socket.destroyed;
    },
    once(event, fn) {
      socket.once(event, fn);
    },
    connected: () => isConnected,
    destroy() {
      socket.destroy();
    },
  };
  return { request, answer };
}
