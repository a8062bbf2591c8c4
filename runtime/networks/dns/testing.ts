/**
 * Test helpers for the DNS resolver: a fake view, a fake upstream (UDP and TCP on one
 * 127.0.0.1 port, counting every packet and connection it receives) and bounded clients.
 * Loopback only; every wait is bounded.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import * as dnsPacket from "dns-packet";
import type { DecodedPacket, Packet } from "dns-packet";
import type { DnsAnswerView, DnsClient } from "./types.js";

export interface FakeClient {
  names: Map<string, string[]>;
  mayForward: boolean;
  upstreams?: string[];
}

/** clientOf(source) → the client registered for that source; names compared lowercased. */
export class FakeView implements DnsAnswerView {
  readonly clients = new Map<string, FakeClient>();
  calls = 0;

  client(source: string, names: Record<string, string[]> = {}, mayForward = true, upstreams?: string[]): FakeClient {
    const c = { names: new Map(Object.entries(names)), mayForward, ...(upstreams ? { upstreams } : {}) };
    this.clients.set(source, c);
    return c;
  }

  clientOf(source: string): DnsClient | undefined {
    this.calls++;
    const c = this.clients.get(source);
    if (!c) return undefined;
    return {
      mayForward: c.mayForward,
      ...(c.upstreams ? { upstreams: c.upstreams } : {}),
      resolve: (name) => c.names.get(name) ?? [],
      reverse: (address) => [...c.names].find(([, addrs]) => addrs.includes(address))?.[0],
    };
  }
}

export type UpstreamBehaviour = (query: DecodedPacket, transport: "udp" | "tcp") => Packet | "silent" | Buffer[];

/** A fake upstream resolver on 127.0.0.1: answers `answer.example` style queries as `behaviour` says. */
export class FakeUpstream {
  udpPackets = 0;
  tcpConnections = 0;
  readonly seen: { id: number; name: string; transport: "udp" | "tcp" }[] = [];
  port = 0;
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(public behaviour: UpstreamBehaviour = (q) => aReply(q, "192.0.2.7")) {}

  async start(): Promise<this> {
    for (let i = 0; i < 8; i++) {
      const udp = dgram.createSocket("udp4");
      await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
      const port = udp.address().port;
      const tcp = net.createServer((s) => this.onTcp(s));
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once("error", () => resolve(false));
        tcp.listen(port, "127.0.0.1", () => resolve(true));
      });
      if (!ok) {
        udp.close();
        continue;
      }
      udp.on("message", (msg, rinfo) => this.onUdp(udp, msg, rinfo));
      Object.assign(this, { udp, tcp, port });
      return this;
    }
    throw new Error("fake upstream: no free port");
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get contacted(): number {
    return this.udpPackets + this.tcpConnections;
  }

  private respond(msg: Buffer, transport: "udp" | "tcp"): Buffer[] {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return [];
    }
    this.seen.push({ id: q.id ?? 0, name: q.questions?.[0]?.name ?? "", transport });
    const r = this.behaviour(q, transport);
    if (r === "silent") return [];
    if (Array.isArray(r)) return r;
    return [dnsPacket.encode(r)];
  }

  private onUdp(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.udpPackets++;
    for (const out of this.respond(msg, "udp")) udp.send(out, rinfo.port, rinfo.address);
  }

  private onTcp(s: net.Socket): void {
    this.tcpConnections++;
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    s.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        for (const out of this.respond(msg, "tcp")) s.write(withLength(out));
      }
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }
}

export function aReply(q: DecodedPacket, address: string, flags = 0): Packet {
  const question = q.questions![0]!;
  return { type: "response", id: q.id, flags: flags | dnsPacket.RECURSION_AVAILABLE, questions: [question], answers: [{ type: "A", name: question.name, ttl: 60, data: address }] };
}

export function withLength(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}

export function queryPacket(name: string, type: dnsPacket.RecordType = "A", id = 0x1234, edns?: number): Buffer {
  return dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: "IN" }],
    additionals: edns ? [{ type: "OPT", name: ".", udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

/** Sends raw bytes over UDP from `source`; the raw reply, or undefined after `timeoutMs`. */
export function udpExchange(port: number, msg: Buffer, opts: { source?: string; timeoutMs?: number } = {}): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const done = (v: Buffer | undefined) => {
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => done(undefined), opts.timeoutMs ?? 2500);
    s.on("error", (err) => {
      clearTimeout(t);
      s.close();
      reject(err);
    });
    s.on("message", (m) => done(m));
    s.bind(0, opts.source ?? "127.0.0.1", () => s.send(msg, port, "127.0.0.1"));
  });
}

/** A decoded reply; dns-packet decodes the rcode but its types leave it out. */
export type Reply = DecodedPacket & { rcode: string };

export async function udpQuery(port: number, msg: Buffer, opts: { source?: string; timeoutMs?: number } = {}): Promise<Reply | undefined> {
  const raw = await udpExchange(port, msg, opts);
  return raw && (dnsPacket.decode(raw) as Reply);
}

/** One length-prefixed exchange over TCP; rejects when the connection closes first or after 2.5s. */
export function tcpQuery(port: number, msg: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    const t = setTimeout(() => fail(new Error("tcp query timed out")), 2500);
    const fail = (err: Error) => {
      clearTimeout(t);
      s.destroy();
      reject(err);
    };
    let buf = Buffer.alloc(0);
    s.on("error", fail);
    s.on("close", () => fail(new Error("closed before a reply")));
    s.on("connect", () => s.write(withLength(msg)));
    s.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        s.destroy();
        resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply);
      }
    });
  });
}

/** Resolves with how long the server took to close a TCP connection fed `bytes` (rejects after `withinMs`). */
export function tcpClosedAfter(port: number, bytes: Buffer, withinMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const s = net.connect(port, "127.0.0.1");
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`connection still open after ${withinMs}ms`));
    }, withinMs);
    s.on("error", () => {});
    s.resume(); // replies are read and dropped, so the server's FIN is seen
    s.on("connect", () => bytes.length && s.write(bytes));
    s.on("close", () => {
      clearTimeout(t);
      resolve(Date.now() - start);
    });
  });
}
