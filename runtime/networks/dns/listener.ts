/**
 * The sockets of one listen address: a UDP socket and a TCP server on the same port, and
 * the TCP connection loop. What a message gets as reply is the caller's `Handler`.
 *
 * Contract:
 * - `bindListener` binds UDP first, then TCP on UDP's port; with port 0 it retries a few
 *   times when TCP finds that port taken. It never leaves a socket bound when it rejects,
 *   and rejects with a BerthError (see `listenError`).
 * - TCP: one length-prefixed message at a time per connection; the socket is paused while
 *   its reply is computed, so a client pipelining queries is bounded by the kernel's
 *   buffers plus MAX_TCP_BUFFER here. A connection closes when idle for `idleTimeoutMs`
 *   (no message completed, reply time not counted), on a message under 12 bytes or with
 *   QR=1, or after the client half-closes and its last reply is written.
 * - `closeListener` destroys every connection and resolves once both sockets are closed.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import type { Clock } from "../../../lib/clock.js";
import { conflict, failedPrecondition, unavailable } from "../../../lib/errors.js";
import { readHeader, type Header } from "./wire.js";

export interface Listener {
  address: string;
  udp: dgram.Socket;
  tcp: net.Server;
  port: number;
  connections: Set<net.Socket>;
  closed: boolean;
}

/** The reply to a message whose header parsed as a query; undefined: send nothing. Must not throw. */
export type Handler = (msg: Buffer, h: Header, source: string, transport: "udp" | "tcp") => Promise<Buffer | undefined>;

export interface ListenerOptions {
  port: number;
  maxTcpConnections: number;
  idleTimeoutMs: number;
  clock: Clock;
  handle: Handler;
  /** Dropped input, for debug logs. */
  dropped(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const MAX_TCP_BUFFER = 2 * (2 + 65535);

export async function bindListener(address: string, o: ListenerOptions): Promise<Listener> {
  const tries = o.port === 0 ? 8 : 1;
  for (let i = 0; ; i++) {
    const udp = dgram.createSocket(net.isIP(address) === 6 ? "udp6" : "udp4");
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind({ address, port: o.port, exclusive: true }, () => {
          udp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw listenError(address, o.port, err);
    }
    const port = udp.address().port;
    const tcp = net.createServer({ allowHalfOpen: true });
    tcp.maxConnections = o.maxTcpConnections;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen({ host: address, port, exclusive: true }, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      if (i + 1 < tries && (err as NodeJS.ErrnoException).code === "EADDRINUSE") continue;
      throw listenError(address, port, err);
    }
    const l: Listener = { address, udp, tcp, port, connections: new Set(), closed: false };
    udp.on("error", (err) => o.warn({ address, err }, "dns udp socket error"));
    udp.on("message", (msg, rinfo) => onUdp(l, o, msg, rinfo.address, rinfo.port).catch((err) => o.warn({ address, err }, "dns udp handler failed")));
    tcp.on("error", (err) => o.warn({ address, err }, "dns tcp listener error"));
    tcp.on("connection", (socket) => onTcp(l, o, socket));
    return l;
  }
}

export async function closeListener(l: Listener): Promise<void> {
  l.closed = true;
  for (const s of l.connections) s.destroy();
  await Promise.all([
    new Promise<void>((resolve) => {
      try {
        l.udp.close(() => resolve());
      } catch {
        resolve();
      }
    }),
    new Promise<void>((resolve) => l.tcp.close(() => resolve())),
  ]);
}

/** Conflict for EADDRINUSE; FailedPrecondition for EADDRNOTAVAIL and EACCES; Unavailable otherwise. */
export function listenError(address: string, port: number, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const where = `listen dns on ${address}:${port}`;
  if (code === "EADDRINUSE") return conflict(`${where}: address already in use (EADDRINUSE)`, { cause: err });
  if (code === "EADDRNOTAVAIL") return failedPrecondition(`${where}: address not available on this host (EADDRNOTAVAIL)`, { cause: err });
  if (code === "EACCES") return failedPrecondition(`${where}: permission denied (EACCES)`, { cause: err });
  return unavailable(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

async function onUdp(l: Listener, o: ListenerOptions, msg: Buffer, source: string, sourcePort: number): Promise<void> {
  const h = readHeader(msg);
  if (!h || h.qr) return o.dropped({ source, bytes: msg.length }, h ? "dns: response at the listener dropped" : "dns: runt packet dropped");
  const reply = await o.handle(msg, h, source, "udp");
  if (!reply || l.closed) return;
  try {
    l.udp.send(reply, sourcePort, source, () => {});
  } catch {
    // closed meanwhile
  }
}

/** `::ffff:10.0.0.2` → `10.0.0.2`: how the view sees IPv4 clients. */
function unmapped(address: string): string {
  return address.startsWith("::ffff:") && net.isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function onTcp(l: Listener, o: ListenerOptions, socket: net.Socket): void {
  if (l.closed) return void socket.destroy();
  l.connections.add(socket);
  const source = unmapped(socket.remoteAddress ?? "");
  let buf = Buffer.alloc(0);
  let busy = false;
  let ended = false;
  let cancelIdle = () => {};
  const armIdle = () => {
    cancelIdle();
    cancelIdle = o.clock.setTimer(o.idleTimeoutMs, () => socket.destroy());
  };
  const complete = () => buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0);
  const pump = async () => {
    if (busy) return;
    busy = true;
    while (!socket.destroyed && complete()) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      const h = readHeader(msg);
      if (!h || h.qr) {
        o.dropped({ source, bytes: msg.length }, "dns: malformed tcp message, connection closed");
        socket.destroy();
        break;
      }
      cancelIdle();
      socket.pause();
      const reply = await o.handle(msg, h, source, "tcp");
      if (socket.destroyed) break;
      if (reply) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length, 0);
        socket.write(Buffer.concat([len, reply]));
      }
      socket.resume();
      armIdle();
    }
    busy = false;
    if (ended && !socket.destroyed) socket.end();
  };
  armIdle();
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length > MAX_TCP_BUFFER) return void socket.destroy();
    pump().catch((err) => {
      o.warn({ address: l.address, err }, "dns tcp handler failed");
      socket.destroy();
    });
  });
  socket.on("end", () => {
    ended = true;
    if (!busy) socket.end();
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    cancelIdle();
    l.connections.delete(socket);
  });
}
