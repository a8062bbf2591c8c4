import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { isBerthError } from "../../../lib/errors.js";
import { DnsServer } from "./resolver.js";
import { FakeUpstream, FakeView, queryPacket, tcpClosedAfter, tcpQuery, udpExchange, udpQuery, withLength } from "./testing.js";

const HOST = "127.0.0.1";
let view: FakeView;
let servers: DnsServer[];
let up: FakeUpstream;

beforeEach(async () => {
  view = new FakeView();
  view.client(HOST, { web: ["172.18.0.2"] });
  servers = [];
  up = await new FakeUpstream().start();
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await up.stop();
});

function server(extra: Partial<ConstructorParameters<typeof DnsServer>[0]> = {}): DnsServer {
  const s = new DnsServer({ view, upstreams: [up.address], port: 0, forwardTimeoutMs: 300, ...extra });
  servers.push(s);
  return s;
}

async function serve(extra: Partial<ConstructorParameters<typeof DnsServer>[0]> = {}): Promise<number> {
  const s = server(extra);
  await s.listen(HOST);
  return s.port(HOST)!;
}

/** A deterministic byte generator (xorshift), so a failure replays. */
function bytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe("hostile input", () => {
  it("drops random bytes, runts and responses, and still answers afterwards", async () => {
    const port = await serve();
    for (let i = 1; i <= 200; i++) {
      const junk = bytes(i, 1 + (i % 300));
      junk[2] = junk[2]! | 0x80; // QR=1: must be ignored, never answered
      expect(await udpExchange(port, junk, { timeoutMs: i <= 3 ? 200 : 1 })).toBeUndefined();
    }
    for (let i = 1; i <= 200; i++) {
      const junk = bytes(1000 + i, 12 + (i % 300));
      junk[2] = junk[2]! & 0x7f; // QR=0: dropped or FORMERR/NOTIMP, never a crash
      await udpExchange(port, junk, { timeoutMs: 1 });
    }
    expect(await udpExchange(port, Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00]), { timeoutMs: 200 })).toBeUndefined();
    const response = queryPacket("web");
    response[2] = response[2]! | 0x80;
    expect(await udpExchange(port, response, { timeoutMs: 200 })).toBeUndefined();
    expect((await udpQuery(port, queryPacket("web")))?.answers).toHaveLength(1);
    expect(up.seen.map((s) => s.name)).not.toContain("web");
  });

  it("answers FORMERR to qdcount other than 1 and to an undecodable or non-round-tripping question, NOTIMP to other opcodes", async () => {
    const port = await serve();
    const two = queryPacket("web");
    two.writeUInt16BE(2, 4);
    const formerr = await udpExchange(port, two);
    expect([formerr?.readUInt16BE(0), (formerr?.readUInt16BE(2) ?? 0) & 0x800f]).toEqual([0x1234, 0x8001]);
    const zero = queryPacket("web");
    zero.writeUInt16BE(0, 4);
    expect(((await udpExchange(port, zero))?.readUInt16BE(2) ?? 0) & 0xf).toBe(1);
    const cut = queryPacket("web").subarray(0, 15);
    expect(((await udpExchange(port, cut))?.readUInt16BE(2) ?? 0) & 0xf).toBe(1);
    const header = queryPacket("web").subarray(0, 12);
    for (const label of [Buffer.alloc(63, 0xff), Buffer.from("w.b")]) {
      const odd = Buffer.concat([header, Buffer.from([label.length]), label, Buffer.from([0, 0, 1, 0, 1])]);
      const r = await udpExchange(port, odd);
      expect([r?.length, (r?.readUInt16BE(2) ?? 0) & 0xf]).toEqual([12, 1]);
    }
    const notify = queryPacket("web");
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    expect(((await udpExchange(port, notify))?.readUInt16BE(2) ?? 0) & 0xf).toBe(4);
    expect((await udpQuery(port, queryPacket("web")))?.answers).toHaveLength(1);
    expect(up.contacted).toBe(0);
  });

  it("closes TCP connections that idle, stall mid-message, or send a malformed message", async () => {
    const port = await serve({ tcpIdleTimeoutMs: 200 });
    expect(await tcpClosedAfter(port, Buffer.alloc(0), 2000)).toBeLessThan(1500);
    const stalled = Buffer.concat([Buffer.from([0xff, 0xff]), bytes(7, 10)]);
    expect(await tcpClosedAfter(port, stalled, 2000)).toBeLessThan(1500);
    expect(await tcpClosedAfter(port, Buffer.from([0, 3, 1, 2, 3]), 2000)).toBeLessThan(150);
    expect(await tcpClosedAfter(port, bytes(9, 70_000), 2000)).toBeLessThan(1500);
    expect((await tcpQuery(port, queryPacket("web"))).answers).toHaveLength(1);
  });

  it("answers pipelined TCP queries in order on one connection", async () => {
    const port = await serve();
    const replies = await new Promise<number[]>((resolve, reject) => {
      const s = net.connect(port, HOST);
      const t = setTimeout(() => reject(new Error("timeout")), 2500);
      let buf = Buffer.alloc(0);
      const ids: number[] = [];
      s.on("connect", () => s.write(Buffer.concat([1, 2, 3].map((id) => withLength(queryPacket(id === 2 ? "example.org" : "web", "A", id))))));
      s.on("data", (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          ids.push(buf.readUInt16BE(2));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (ids.length === 3) {
          clearTimeout(t);
          s.destroy();
          resolve(ids);
        }
      });
      s.on("error", reject);
    });
    expect(replies).toEqual([1, 2, 3]);
  });

  it("bounds concurrent TCP connections per listener", async () => {
    const port = await serve({ maxTcpConnections: 2, tcpIdleTimeoutMs: 2000 });
    const open = await Promise.all([0, 1].map(() => new Promise<net.Socket>((r) => { const s = net.connect(port, HOST, () => r(s)); s.on("error", () => {}); })));
    await new Promise((r) => setTimeout(r, 50));
    try {
      expect(await tcpClosedAfter(port, Buffer.alloc(0), 1000)).toBeLessThan(500);
    } finally {
      for (const s of open) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect((await tcpQuery(port, queryPacket("web"))).answers).toHaveLength(1);
  });
});

describe("listen and unlisten", () => {
  it("is idempotent per address, serves several addresses, and unlisten stops only one", async () => {
    const s = server();
    await Promise.all([s.listen(HOST), s.listen(HOST)]);
    await s.listen(HOST);
    await s.listen("127.0.0.3");
    expect(s.addresses().sort()).toEqual([HOST, "127.0.0.3"]);
    const port = s.port(HOST)!;
    await s.unlisten(HOST);
    await s.unlisten(HOST);
    expect(s.addresses()).toEqual(["127.0.0.3"]);
    expect(await udpExchange(port, queryPacket("web"), { timeoutMs: 200 })).toBeUndefined();
    view.client("127.0.0.3", { web: ["172.18.0.2"] });
    const viaOther = await new Promise<Buffer | undefined>((resolve) => {
      const c = dgram.createSocket("udp4");
      const t = setTimeout(() => (c.close(), resolve(undefined)), 2000);
      c.on("message", (m) => (clearTimeout(t), c.close(), resolve(m)));
      c.bind(0, "127.0.0.3", () => c.send(queryPacket("web"), s.port("127.0.0.3")!, "127.0.0.3"));
    });
    expect(viaOther?.readUInt16BE(6)).toBe(1);
    await s.listen(HOST);
    expect((await udpQuery(s.port(HOST)!, queryPacket("web")))?.answers).toHaveLength(1);
  });

  it("rejects a taken port with Conflict naming address and port (EADDRINUSE), leaving nothing bound", async () => {
    const first = server();
    await first.listen(HOST);
    const port = first.port(HOST)!;
    const second = server({ port });
    const err = await second.listen(HOST).then(() => undefined, (e: unknown) => e);
    expect(isBerthError(err, "Conflict")).toBe(true);
    expect((err as Error).message).toBe(`listen dns on ${HOST}:${port}: address already in use (EADDRINUSE)`);
    expect(second.addresses()).toEqual([]);
    await first.unlisten(HOST);
    await second.listen(HOST);
    expect(second.port(HOST)).toBe(port);
  });

  it("rejects a TCP-only conflict too, and a non-IP address or a closed server", async () => {
    const tcp = net.createServer();
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.4", r));
    const port = (tcp.address() as net.AddressInfo).port;
    try {
      const err = await server({ port }).listen("127.0.0.4").then(() => undefined, (e: unknown) => e);
      expect(isBerthError(err, "Conflict")).toBe(true);
      const again = dgram.createSocket("udp4");
      await new Promise<void>((r, j) => (again.once("error", j), again.bind(port, "127.0.0.4", r)));
      again.close();
    } finally {
      tcp.close();
    }
    const s = server();
    expect(isBerthError(await s.listen("gateway").catch((e: unknown) => e), "InvalidArgument")).toBe(true);
    await s.close();
    expect(isBerthError(await s.listen(HOST).catch((e: unknown) => e), "FailedPrecondition")).toBe(true);
    expect(s.addresses()).toEqual([]);
  });
});
