import { invalidArgument } from "../../lib/errors.js";
import type { ExecStreamId } from "./protocol.js";

/**
 * The exec stream's framing (protocol.ts has the contract): frames of an 8-byte header —
 * stream id, 3 zero bytes, payload length big-endian — and the payload. Both ends use this
 * file: the server reads the request frame and writes output frames, the client the reverse.
 */

/** The answer's type: frames. */
export const EXEC_STREAM_CONTENT_TYPE = "application/vnd.berth.stream";
/** The request's type: a raw body (one frame, then stdin bytes), which the server checks like an upload's. */
export const EXEC_REQUEST_CONTENT_TYPE = "application/octet-stream";

export const STREAM = { request: 0, stdout: 1, stderr: 2, exit: 3, error: 4, resize: 5, signal: 6 } as const satisfies Record<string, ExecStreamId>;
/** After the request frame of a framed input (tty exec, attach), stdin bytes come in frames of Docker's stdin id, 0. */
export const STDIN_FRAME = STREAM.request;

const HEADER_BYTES = 8;
const MAX_ID = 6;

export interface Frame {
  id: ExecStreamId;
  payload: Buffer;
}

/** One frame: header and payload. */
export function encodeFrame(id: ExecStreamId, payload: Uint8Array | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = id;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/**
 * Splits a byte stream into frames as they complete. InvalidArgument for a header that is
 * not one (an unknown id, non-zero padding) or a payload over `maxPayload`.
 */
export class FrameDecoder {
  private buf = Buffer.alloc(0);

  constructor(
    private readonly what: string,
    private readonly maxPayload = 0xffffffff,
  ) {}

  /** The frames `chunk` completes, in order; a partial frame stays for the next chunk. */
  push(chunk: Uint8Array): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out: Frame[] = [];
    while (this.buf.length >= HEADER_BYTES) {
      const id = this.buf[0]!;
      if (id > MAX_ID || this.buf[1] !== 0 || this.buf[2] !== 0 || this.buf[3] !== 0) {
        throw invalidArgument(`${this.what}: not a frame header: ${this.buf.subarray(0, HEADER_BYTES).toString("hex")}`);
      }
      const length = this.buf.readUInt32BE(4);
      if (length > this.maxPayload) throw invalidArgument(`${this.what}: a frame of ${length} bytes is over the limit of ${this.maxPayload}`);
      if (this.buf.length < HEADER_BYTES + length) break;
      out.push({ id: id as ExecStreamId, payload: this.buf.subarray(HEADER_BYTES, HEADER_BYTES + length) });
      this.buf = this.buf.subarray(HEADER_BYTES + length);
    }
    return out;
  }

  /** Bytes of an incomplete frame, if any (a stream that ends here was cut short). */
  get pending(): number {
    return this.buf.length;
  }
}

/**
 * Reads the request frame at the start of an exec stream's body: its JSON, and the rest of
 * the body (stdin) as it arrives — the bytes that came with the frame first. The body's
 * iterator is not destroyed when the rest is abandoned. InvalidArgument for a body that does
 * not start with a request frame of at most `maxBytes`, or whose JSON does not parse.
 */
export async function readRequestFrame(body: AsyncIterator<Uint8Array>, maxBytes: number): Promise<{ request: unknown; stdin: AsyncIterable<Uint8Array> }> {
  const what = "read exec stream";
  let buf = Buffer.alloc(0);
  let length: number | undefined;
  while (length === undefined || buf.length < HEADER_BYTES + length) {
    const r = await body.next();
    if (r.done) throw invalidArgument(`${what}: the body ended before its request frame was complete`);
    buf = Buffer.concat([buf, r.value]);
    if (length === undefined && buf.length >= HEADER_BYTES) {
      if (buf[0] !== STREAM.request || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) {
        throw invalidArgument(`${what}: the body must start with a request frame (stream id 0), got header ${buf.subarray(0, HEADER_BYTES).toString("hex")}`);
      }
      length = buf.readUInt32BE(4);
      if (length > maxBytes) throw invalidArgument(`${what}: a request frame of ${length} bytes is over the limit of ${maxBytes}`);
    }
  }
  let request: unknown;
  try {
    request = JSON.parse(buf.subarray(HEADER_BYTES, HEADER_BYTES + length).toString("utf8"), (k, v) => (k === "__proto__" ? undefined : v));
  } catch (err) {
    throw invalidArgument(`${what}: the request frame is not JSON: ${(err as Error).message}`);
  }
  const first = buf.subarray(HEADER_BYTES + length);
  const stdin = (async function* () {
    if (first.length) yield first;
    for (;;) {
      const r = await body.next();
      if (r.done) return;
      yield r.value;
    }
  })();
  return { request, stdin };
}

/** What a framed input carries besides stdin: a terminal size, a signal to send. */
export interface InputControl {
  resize(size: { cols: number; rows: number }): unknown;
  signal?(name: string): unknown;
  /** A bad frame after stdin's end (the stream has returned by then: its consumer cannot be told). */
  error?(err: unknown): void;
}

const SIGNAL_NAME = /^SIG[A-Z0-9]{1,12}$/;

/**
 * The stdin of a framed input (protocol.ts): frames after the request frame — 0 stdin bytes,
 * 5 resize `{cols, rows}`, 6 signal `{signal}` — yielded as stdin bytes, the others handed
 * to `control`. An empty stdin frame is stdin's end: the stream returns, and the rest of the
 * body is still read for its control frames (a resize, a signal after the input ended).
 * InvalidArgument for another frame, a bad resize or signal, stdin after its end, or a body
 * cut inside a frame.
 */
export async function* framedInput(body: AsyncIterable<Uint8Array>, control: InputControl, maxPayload = 1024 * 1024): AsyncGenerator<Uint8Array> {
  const what = "read input stream";
  const decoder = new FrameDecoder(what, maxPayload);
  // Not for-await: leaving that loop would close the body, which still carries control frames.
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const frames = decoder.push(r.value);
    for (let k = 0; k < frames.length; k++) {
      const f = frames[k]!;
      if (f.id !== STDIN_FRAME) {
        await controlFrame(f, control, what);
        continue;
      }
      if (f.payload.length) {
        yield f.payload;
        continue;
      }
      void controlFramesAfterEnd(frames.slice(k + 1), it, decoder, control, what).catch((err) => control.error?.(err));
      return;
    }
  }
  if (decoder.pending) throw invalidArgument(`${what}: the body ended inside a frame`);
}

async function controlFramesAfterEnd(first: Frame[], it: AsyncIterator<Uint8Array>, decoder: FrameDecoder, control: InputControl, what: string): Promise<void> {
  let frames = first;
  for (;;) {
    for (const f of frames) {
      if (f.id === STDIN_FRAME) throw invalidArgument(`${what}: stdin after its end (an empty stdin frame)`);
      await controlFrame(f, control, what);
    }
    const r = await it.next();
    if (r.done) break;
    frames = decoder.push(r.value);
  }
  if (decoder.pending) throw invalidArgument(`${what}: the body ended inside a frame`);
}

async function controlFrame(f: Frame, control: InputControl, what: string): Promise<void> {
  if (f.id === STREAM.resize) {
    const v = parseJson(f.payload, what) as { cols?: unknown; rows?: unknown };
    const ok = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n > 0 && n <= 65535;
    if (!ok(v?.cols) || !ok(v?.rows)) throw invalidArgument(`${what}: a resize frame takes {"cols", "rows"} as positive integers`);
    await control.resize({ cols: v.cols, rows: v.rows });
  } else if (f.id === STREAM.signal && control.signal) {
    const v = parseJson(f.payload, what) as { signal?: unknown };
    if (typeof v?.signal !== "string" || !SIGNAL_NAME.test(v.signal)) throw invalidArgument(`${what}: a signal frame takes {"signal": "SIG..."}`);
    await control.signal(v.signal);
  } else throw invalidArgument(`${what}: stream id ${f.id} is not one a client sends here`);
}

function parseJson(payload: Buffer, what: string): unknown {
  try {
    return JSON.parse(payload.toString("utf8"), (k, v) => (k === "__proto__" ? undefined : v));
  } catch (err) {
    throw invalidArgument(`${what}: a frame is not JSON: ${(err as Error).message}`);
  }
}
