import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultHttpOptions, RegistryHttp } from "./http.js";
import { loopbackOnly } from "./testing.js";

describe("RegistryHttp", () => {
  let server: http.Server;
  let origin: string;
  let hits: { url: string; auth: string | undefined }[];
  let seen: URL[];
  const make = (o: Partial<ConstructorParameters<typeof RegistryHttp>[0]> = {}) =>
    new RegistryHttp({ ...defaultHttpOptions(), allowsHttp: (h) => h.startsWith("127."), guard: loopbackOnly(seen), ...o });

  beforeEach(async () => {
    hits = [];
    seen = [];
    server = http.createServer((req, res) => {
      hits.push({ url: req.url!, auth: req.headers.authorization });
      if (req.url === "/loop") {
        res.writeHead(302, { location: "/loop" }).end();
      } else if (req.url === "/to-plain") {
        res.writeHead(307, { location: "http://storage.example.com/blob" }).end();
      } else if (req.url === "/same") {
        res.writeHead(301, { location: "/final" }).end();
      } else if (req.url === "/stall") {
        res.writeHead(200, { "content-length": "10" });
        res.write("12345");
      } else if (req.url === "/big") {
        res.writeHead(200, { "content-length": String(2048) }).end(Buffer.alloc(2048));
      } else {
        res.end("ok");
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("follows a same-origin redirect keeping Authorization, at most maxRedirects times", async () => {
    const h = make({ maxRedirects: 3 });
    const res = await h.request(new URL(`${origin}/same`), { method: "GET", headers: { authorization: "Bearer t" } });
    expect(await res.text(100, "get")).toBe("ok");
    expect(hits.map((x) => [x.url, x.auth])).toEqual([["/same", "Bearer t"], ["/final", "Bearer t"]]);
    await expect(h.request(new URL(`${origin}/loop`), { method: "GET" })).rejects.toMatchObject({ kind: "Unavailable", message: expect.stringContaining("more than 3 redirects") });
    expect(hits.filter((x) => x.url === "/loop")).toHaveLength(4);
  });

  it("refuses a redirect to plain http off loopback before connecting, and does not follow redirects of a PUT", async () => {
    const h = make();
    await expect(h.request(new URL(`${origin}/to-plain`), { method: "GET" })).rejects.toThrow(/connect to http:\/\/storage.example.com: plain http is only used for loopback and insecure registries/);
    expect(seen.some((u) => u.hostname === "storage.example.com")).toBe(false);
    const put = await h.request(new URL(`${origin}/to-plain`), { method: "PUT", body: () => Buffer.from("x") });
    expect(put.status).toBe(307);
    await put.discard();
  });

  it("caps bodies and times out a stalled body", async () => {
    const h = make({ idleTimeoutMs: 100 });
    const big = await h.request(new URL(`${origin}/big`), { method: "GET" });
    await expect(big.bytes(1024, "get big")).rejects.toThrow("get big: the registry sent 2048 bytes, more than the cap of 1024");
    const stall = await h.request(new URL(`${origin}/stall`), { method: "GET" });
    await expect(stall.bytes(1024, "get stall")).rejects.toMatchObject({ kind: "Unavailable", message: expect.stringContaining("no data for too long") });
  });

  it("refuses https-less URLs to other hosts and credentials in URLs", () => {
    const h = make();
    expect(() => h.checkUrl(new URL("http://example.com/v2/"))).toThrow(/plain http/);
    expect(() => h.checkUrl(new URL("https://u:p@127.0.0.1/v2/"))).toThrow(/credentials in a URL/);
    expect(() => h.checkUrl(new URL("https://example.com/v2/"))).toThrow(/test guard: refused/);
  });
});
