import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as dgram from "node:dgram";
import * as dnsPacket from "dns-packet";
import { DnsServer } from "./resolver.js";
import { aReply, FakeUpstream, FakeView, queryPacket, tcpQuery, udpQuery } from "./testing.js";

const HOST = "127.0.0.1";
let view: FakeView;
let upstreams: FakeUpstream[];
let servers: DnsServer[];

beforeEach(() => {
  view = new FakeView();
  upstreams = [];
  servers = [];
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(upstreams.map((u) => u.stop()));
});

async function upstream(behaviour?: ConstructorParameters<typeof FakeUpstream>[0]): Promise<FakeUpstream> {
  const u = await new FakeUpstream(behaviour).start();
  upstreams.push(u);
  return u;
}

async function serve(ups: string[], extra: Partial<ConstructorParameters<typeof DnsServer>[0]> = {}): Promise<number> {
  const s = new DnsServer({ view, upstreams: ups, port: 0, forwardTimeoutMs: 300, ...extra });
  servers.push(s);
  await s.listen(HOST);
  return s.port(HOST)!;
}

/** A UDP port nobody listens on (bound, read, released). */
async function deadPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, HOST, r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("container names", () => {
  it("answers A with every address, authoritative, recursion available, TTL 0", async () => {
    view.client(HOST, { web: ["172.18.0.2", "172.18.0.3"] });
    const port = await serve([]);
    const r = await udpQuery(port, queryPacket("web"));
    expect(r?.rcode).toBe("NOERROR");
    expect(r?.id).toBe(0x1234);
    expect(r?.flag_aa).toBe(true);
    expect(r?.flag_ra).toBe(true);
    expect(r?.flag_rd).toBe(true);
    expect(r?.answers?.map((a) => [a.type, a.name, (a as { data: string }).data, (a as { ttl: number }).ttl])).toEqual([
      ["A", "web", "172.18.0.2", 0],
      ["A", "web", "172.18.0.3", 0],
    ]);
  });

  it("matches names case-insensitively, with or without the trailing dot, and keeps the asked spelling", async () => {
    view.client(HOST, { web: ["172.18.0.2"] });
    const port = await serve([], { ttlSeconds: 5 });
    for (const name of ["WeB", "web.", "WEB."]) {
      const r = await udpQuery(port, queryPacket(name));
      expect(r?.rcode).toBe("NOERROR");
      expect(r?.answers?.map((a) => [a.name, (a as { data: string }).data, (a as { ttl: number }).ttl])).toEqual([[name.replace(/\.$/, ""), "172.18.0.2", 5]]);
    }
  });

  it("answers AAAA and other types of a container name with NOERROR and no answers, never upstream", async () => {
    view.client(HOST, { web: ["172.18.0.2"] });
    const up = await upstream();
    const port = await serve([up.address]);
    for (const type of ["AAAA", "MX", "TXT"] as const) {
      const r = await udpQuery(port, queryPacket("web", type));
      expect(r?.rcode).toBe("NOERROR");
      expect(r?.answers).toEqual([]);
    }
    expect(up.contacted).toBe(0);
  });

  it("answers PTR of a container address with its name", async () => {
    view.client(HOST, { db: ["172.18.0.9"] });
    const port = await serve([]);
    const r = await udpQuery(port, queryPacket("9.0.18.172.in-addr.arpa", "PTR"));
    expect(r?.rcode).toBe("NOERROR");
    expect(r?.answers?.map((a) => [a.type, (a as { data: string }).data])).toEqual([["PTR", "db"]]);
  });

  it("reads the view at query time: a name resolves once added and is forwarded once removed", async () => {
    const client = view.client(HOST, {});
    const up = await upstream();
    const port = await serve([up.address]);
    expect((await udpQuery(port, queryPacket("api")))?.answers?.map((a) => (a as { data: string }).data)).toEqual(["192.0.2.7"]);
    client.names.set("api", ["172.18.0.4"]);
    expect((await udpQuery(port, queryPacket("api")))?.answers?.map((a) => (a as { data: string }).data)).toEqual(["172.18.0.4"]);
    client.names.delete("api");
    expect((await udpQuery(port, queryPacket("api")))?.answers?.map((a) => (a as { data: string }).data)).toEqual(["192.0.2.7"]);
    client.mayForward = false;
    expect((await udpQuery(port, queryPacket("api")))?.rcode).toBe("NXDOMAIN");
    expect(up.seen.map((s) => s.name)).toEqual(["api", "api"]);
  });

  it("answers over TCP too", async () => {
    view.client(HOST, { web: ["172.18.0.2"] });
    const port = await serve([]);
    const r = await tcpQuery(port, queryPacket("web"));
    expect(r.answers?.map((a) => (a as { data: string }).data)).toEqual(["172.18.0.2"]);
  });

  it("truncates a UDP answer over 512 bytes with TC, honours the EDNS size, sends all over TCP", async () => {
    const many = Array.from({ length: 60 }, (_, i) => `172.18.1.${i + 1}`);
    view.client(HOST, { big: many });
    const port = await serve([]);
    const raw = await udpQuery(port, queryPacket("big"));
    expect(raw?.flag_tc).toBe(true);
    expect(dnsPacket.encodingLength(raw!)).toBeLessThanOrEqual(512);
    expect(raw!.answers!.length).toBeGreaterThan(10);
    expect(many.slice(0, raw!.answers!.length)).toEqual(raw!.answers!.map((a) => (a as { data: string }).data));
    const edns = await udpQuery(port, queryPacket("big", "A", 7, 4096));
    expect(edns?.flag_tc).toBe(false);
    expect(edns?.answers).toHaveLength(60);
    expect(edns?.additionals?.map((a) => a.type)).toEqual(["OPT"]);
    const tcp = await tcpQuery(port, queryPacket("big"));
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(60);
  });
});

describe("forwarding", () => {
  it("forwards unknown names with a fresh id per forward and restores the client's", async () => {
    view.client(HOST, {});
    const up = await upstream();
    const port = await serve([up.address]);
    for (let i = 0; i < 4; i++) {
      const r = await udpQuery(port, queryPacket("example.org", "A", 0x4242));
      expect(r?.id).toBe(0x4242);
      expect(r?.answers?.map((a) => (a as { data: string }).data)).toEqual(["192.0.2.7"]);
    }
    expect(up.seen).toHaveLength(4);
    expect(new Set(up.seen.map((s) => s.id)).size).toBeGreaterThan(1);
  });

  it("forwards a client with upstreams of its own (a container's dns) to those, never to the server's", async () => {
    const own = await upstream();
    const server = await upstream();
    view.client(HOST, { web: ["172.18.0.2"] }, true, [own.address]);
    const port = await serve([server.address]);
    const r = await udpQuery(port, queryPacket("example.org"));
    expect(r?.answers?.map((a) => (a as { data: string }).data)).toEqual(["192.0.2.7"]);
    expect((await udpQuery(port, queryPacket("web")))?.answers).toHaveLength(1); // container names are still berth's
    expect(own.seen).toHaveLength(1);
    expect(server.contacted).toBe(0);
  });

  it("ignores an upstream reply with the wrong id and takes the matching one", async () => {
    view.client(HOST, {});
    const up = await upstream((q) => [dnsPacket.encode(aReply({ ...q, id: (q.id! + 1) & 0xffff }, "203.0.113.66")), dnsPacket.encode(aReply(q, "192.0.2.8"))]);
    const port = await serve([up.address]);
    const r = await udpQuery(port, queryPacket("example.org"));
    expect(r?.answers?.map((a) => (a as { data: string }).data)).toEqual(["192.0.2.8"]);
  });

  it("moves to the next upstream after a timeout, and at once after a refusal", async () => {
    view.client(HOST, {});
    const silent = await upstream(() => "silent");
    const good = await upstream();
    const port = await serve([silent.address, good.address]);
    const t0 = Date.now();
    const r = await udpQuery(port, queryPacket("example.org"));
    expect(r?.answers?.map((a) => (a as { data: string }).data)).toEqual(["192.0.2.7"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(silent.udpPackets).toBe(1);

    const port2 = await serve([`${HOST}:${await deadPort()}`, good.address], { forwardTimeoutMs: 2000 });
    const t1 = Date.now();
    expect((await udpQuery(port2, queryPacket("example.org")))?.rcode).toBe("NOERROR");
    expect(Date.now() - t1).toBeLessThan(1000);
  });

  it("answers SERVFAIL when every upstream fails", async () => {
    view.client(HOST, {});
    const a = await upstream(() => "silent");
    const b = await upstream(() => "silent");
    const port = await serve([a.address, b.address], { forwardTimeoutMs: 200 });
    const r = await udpQuery(port, queryPacket("example.org"));
    expect(r?.rcode).toBe("SERVFAIL");
    expect(r?.id).toBe(0x1234);
    expect([a.udpPackets, b.udpPackets]).toEqual([1, 1]);
  });

  it("internal networks only: NXDOMAIN and not one packet upstream (CVE-2024-29018)", async () => {
    view.client(HOST, { web: ["172.18.0.2"] }, false);
    const up = await upstream();
    const port = await serve([up.address]);
    for (const name of ["example.org", "db", "9.0.18.172.in-addr.arpa"]) {
      const r = await udpQuery(port, queryPacket(name));
      expect(r?.rcode).toBe("NXDOMAIN");
    }
    expect((await tcpQuery(port, queryPacket("example.org"))).rcode).toBe("NXDOMAIN");
    expect((await udpQuery(port, queryPacket("web")))?.answers).toHaveLength(1);
    expect(up.contacted).toBe(0);
  });

  it("unknown client: REFUSED, nothing forwarded, not even its container-looking names", async () => {
    view.client(HOST, { web: ["172.18.0.2"] });
    const up = await upstream();
    const port = await serve([up.address]);
    for (const name of ["example.org", "web"]) {
      const r = await udpQuery(port, queryPacket(name), { source: "127.0.0.2" });
      expect(r?.rcode).toBe("REFUSED");
      expect(r?.answers).toEqual([]);
    }
    expect(up.contacted).toBe(0);
  });

  it("relays an upstream's TC over UDP, and forwards TCP queries over TCP", async () => {
    view.client(HOST, {});
    const up = await upstream((q, transport) => (transport === "udp" ? { ...aReply(q, "192.0.2.1", dnsPacket.TRUNCATED_RESPONSE), answers: [] } : aReply(q, "192.0.2.2")));
    const port = await serve([up.address]);
    const udp = await udpQuery(port, queryPacket("big.example"));
    expect(udp?.flag_tc).toBe(true);
    expect(udp?.answers).toEqual([]);
    const tcp = await tcpQuery(port, queryPacket("big.example"));
    expect(tcp.answers?.map((a) => (a as { data: string }).data)).toEqual(["192.0.2.2"]);
    expect(up.seen.map((s) => s.transport)).toEqual(["udp", "tcp"]);
  });

  it("truncates an upstream reply larger than the client takes over UDP", async () => {
    view.client(HOST, {});
    const up = await upstream((q) => ({ ...aReply(q, "192.0.2.1"), answers: Array.from({ length: 60 }, (_, i) => ({ type: "A" as const, name: "big.example", ttl: 1, data: `192.0.2.${i}` })) }));
    const port = await serve([up.address]);
    const r = await udpQuery(port, queryPacket("big.example"));
    expect(r?.flag_tc).toBe(true);
    expect(r?.id).toBe(0x1234);
    expect(r?.answers).toEqual([]);
  });

  it("drops UDP queries beyond maxInFlight instead of queueing them", async () => {
    view.client(HOST, {});
    const slow = await upstream(() => "silent");
    const port = await serve([slow.address], { maxInFlight: 1, forwardTimeoutMs: 600 });
    const first = udpQuery(port, queryPacket("a.example"), { timeoutMs: 1500 });
    await new Promise((r) => setTimeout(r, 100));
    expect(await udpQuery(port, queryPacket("b.example"), { timeoutMs: 300 })).toBeUndefined();
    expect((await first)?.rcode).toBe("SERVFAIL");
    expect(slow.seen.map((s) => s.name)).toEqual(["a.example"]);
  });
});
