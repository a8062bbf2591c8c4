/**
 * Forwarding a query berth does not answer to the upstream resolvers.
 *
 * Contract of `forward`:
 * - The query's bytes go out unchanged but for the id: each try gets a fresh random id and,
 *   over UDP, a fresh socket (a random source port) connected to that upstream, so a reply
 *   must match the id, the upstream's address and port, and be a response (QR=1) — anything
 *   else arriving is ignored, which leaves off-path spoofing the whole 32 bits to guess.
 * - Upstreams are tried in order, each for at most `timeoutMs`; an error (ICMP unreachable,
 *   connection refused, a reset) moves on at once. The first matching reply wins and is
 *   returned unchanged but for the client's id, restored. Undefined: every try failed.
 * - Over UDP the reply's TC bit is relayed as is (the client retries over TCP); a query that
 *   came over TCP goes upstream over TCP (RFC 7766 length-prefixed).
 * - `signal` aborts the try in flight and the rest; every socket is closed on every path.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { randomInt } from "node:crypto";
import type { Clock } from "../../../lib/clock.js";
import type { Upstream } from "./types.js";

export interface ForwardRequest {
  query: Buffer;
  transport: "udp" | "tcp";
  upstreams: Upstream[];
  timeoutMs: number;
  clock: Clock;
  signal: AbortSignal;
}

export interface ForwardFailure {
  upstream: string;
  error: string;
}

export interface ForwardResult {
  reply?: Buffer;
  failures: ForwardFailure[];
}

const MAX_TCP_REPLY = 2 + 65535;

export async function forward(req: ForwardRequest): Promise<ForwardResult> {
  const failures: ForwardFailure[] = [];
  const clientId = req.query.readUInt16BE(0);
  for (const upstream of req.upstreams) {
    if (req.signal.aborted) break;
    const id = randomInt(0, 65536);
    const query = Buffer.from(req.query);
    query.writeUInt16BE(id, 0);
    try {
      const reply = await withTimeout(req, (settle) => (req.transport === "udp" ? tryUdp(query, id, upstream, settle) : tryTcp(query, id, upstream, settle)));
      const out = Buffer.from(reply);
      out.writeUInt16BE(clientId, 0);
      return { reply: out, failures };
    } catch (err) {
      failures.push({ upstream: `${upstream.host}:${upstream.port}`, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { failures };
}

type Settle = (err: Error | undefined, reply?: Buffer) => void;

/** Runs one try; `start` returns its clean-up, called once whichever way the try ends. */
function withTimeout(req: ForwardRequest, start: (settle: Settle) => () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let done = false;
    let cleanup = () => {};
    const settle: Settle = (err, reply) => {
      if (done) return;
      done = true;
      cancelTimer();
      req.signal.removeEventListener("abort", onAbort);
      cleanup();
      if (err) reject(err);
      else resolve(reply!);
    };
    const onAbort = () => settle(new Error("aborted"));
    const cancelTimer = req.clock.setTimer(req.timeoutMs, () => settle(new Error(`no reply within ${req.timeoutMs}ms`)));
    req.signal.addEventListener("abort", onAbort, { once: true });
    cleanup = start(settle);
    if (done) cleanup();
  });
}

function matches(reply: Buffer, id: number): boolean {
  return reply.length >= 12 && reply.readUInt16BE(0) === id && (reply.readUInt8(2) & 0x80) !== 0;
}

const unzoned = (address: string) => address.replace(/%.*$/, "");

function tryUdp(query: Buffer, id: number, upstream: Upstream, settle: Settle): () => void {
  const socket = dgram.createSocket(net.isIP(unzoned(upstream.host)) === 6 ? "udp6" : "udp4");
  socket.on("error", (err) => settle(err));
  socket.on("message", (msg, rinfo) => {
    if (unzoned(rinfo.address) !== unzoned(upstream.host) || rinfo.port !== upstream.port || !matches(msg, id)) return;
    settle(undefined, msg);
  });
  let closed = false;
  socket.connect(upstream.port, upstream.host, () => {
    if (closed) return;
    try {
      socket.send(query, (err) => {
        if (err) settle(err);
      });
    } catch (err) {
      settle(err as Error);
    }
  });
  return () => {
    closed = true;
    try {
      socket.close();
    } catch {
      // already closed
    }
  };
}

function tryTcp(query: Buffer, id: number, upstream: Upstream, settle: Settle): () => void {
  const socket = net.connect({ host: upstream.host, port: upstream.port });
  let buf = Buffer.alloc(0);
  socket.on("error", (err) => settle(err));
  socket.on("connect", () => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(query.length, 0);
    socket.write(Buffer.concat([len, query]));
  });
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length > MAX_TCP_REPLY) return settle(new Error("reply longer than its length prefix"));
    if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
    const reply = buf.subarray(2, 2 + buf.readUInt16BE(0));
    if (matches(reply, id)) settle(undefined, reply);
    else settle(new Error("reply does not match the query id"));
  });
  socket.on("close", () => settle(new Error("connection closed before a reply")));
  return () => socket.destroy();
}
