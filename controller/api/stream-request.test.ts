import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStreamRequest, type StreamAnswer } from "./stream-request.js";

let dir: string;
let socketPath: string;
let server: net.Server | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "berth-stream-request-"));
  socketPath = path.join(dir, "s.sock");
});
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A raw server: once the request's head arrived it answers with `answer`, `step` bytes per write (then closes, with `thenClose`). */
function rawServer(answer: Buffer, o: { step?: number; thenClose?: boolean } = {}): Promise<void> {
  server = net.createServer((sock) => {
    let got = "";
    sock.on("data", async (b) => {
      got += b.toString("latin1");
      if (!got.includes("\r\n\r\n")) return;
      sock.removeAllListeners("data");
      const step = o.step ?? answer.length;
      for (let i = 0; i < answer.length; i += step) {
        sock.write(answer.subarray(i, i + step));
        await new Promise((r) => setImmediate(r));
      }
      if (o.thenClose) sock.destroy();
    });
  });
  return new Promise((r) => server!.listen(socketPath, r));
}

async function readAll(a: StreamAnswer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of a) parts.push(c);
  return Buffer.concat(parts);
}

const open = (signal?: AbortSignal) => openStreamRequest({ socketPath, method: "POST", path: "/x", headers: { "content-type": "application/octet-stream" }, ...(signal ? { signal } : {}) });

describe("openStreamRequest", () => {
  it("sends its body chunked to a Node http server, byte for byte (an empty write is no end)", async () => {
    const seen: { method?: string; url?: string; type?: string; te?: string; body?: Buffer } = {};
    const hs = http.createServer(async (req, res) => {
      const parts: Buffer[] = [];
      for await (const c of req) parts.push(c as Buffer);
      Object.assign(seen, { method: req.method, url: req.url, type: req.headers["content-type"], te: req.headers["transfer-encoding"], body: Buffer.concat(parts) });
      res.end("ok");
    });
    server = hs as unknown as net.Server;
    await new Promise<void>((r) => hs.listen(socketPath, r));
    const { request, answer } = open();
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    request.write(bytes.subarray(0, 10));
    request.write(Buffer.alloc(0));
    request.write(bytes.subarray(10));
    request.end();
    const a = await answer;
    expect(a.statusCode).toBe(200);
    expect((await readAll(a)).toString()).toBe("ok");
    expect({ ...seen, body: seen.body?.equals(bytes) }).toEqual({ method: "POST", url: "/x", type: "application/octet-stream", te: "chunked", body: true });
  });

  it.each([1, 3, 7, 1000])("reads a chunked answer split every %d bytes, trailers and 1xx heads included", async (step) => {
    const wire = Buffer.from("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-A: 1\r\nx-a: 2\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-trailer: t\r\n\r\n");
    await rawServer(wire, { step });
    const { request, answer } = open();
    request.end();
    const a = await answer;
    expect({ status: a.statusCode, xa: a.headers["x-a"] }).toEqual({ status: 201, xa: "1, 2" });
    expect((await readAll(a)).toString()).toBe("abc0123456789abcdef");
  });

  it("reads an answer by content-length, and one that ends with the connection", async () => {
    await rawServer(Buffer.from("HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nhello, and more"));
    let { request, answer } = open();
    request.end();
    let a = await answer;
    expect([a.statusCode, (await readAll(a)).toString()]).toEqual([404, "hello"]);
    await new Promise<void>((r) => server!.close(() => r()));
    await rawServer(Buffer.from("HTTP/1.0 200 OK\r\n\r\nuntil the end"), { thenClose: true });
    ({ request, answer } = open());
    request.end();
    a = await answer;
    expect((await readAll(a)).toString()).toBe("until the end");
  });

  it("a connection that closes mid-answer fails the body (ECONNRESET); before the head, the answer (socket hang up)", async () => {
    await rawServer(Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab"), { thenClose: true });
    let { request, answer } = open();
    request.end();
    const a = await answer;
    await expect(readAll(a)).rejects.toMatchObject({ code: "ECONNRESET" });
    await new Promise<void>((r) => server!.close(() => r()));
    await rawServer(Buffer.from("HTTP/1.1 2"), { thenClose: true });
    ({ request, answer } = open());
    request.end();
    await expect(answer).rejects.toMatchObject({ code: "ECONNRESET", message: "socket hang up" });
  });

  it("no listener: the connect error, connected() false; an answer that is not HTTP: InvalidHead", async () => {
    const { answer, request } = open();
    await expect(answer).rejects.toMatchObject({ code: "ENOENT" });
    expect(request.connected()).toBe(false);
    await rawServer(Buffer.from("SSH-2.0-x\r\n\r\n"));
    const second = open();
    second.request.end();
    await expect(second.answer).rejects.toMatchObject({ code: "InvalidHead" });
    expect(second.request.connected()).toBe(true);
  });

  it("abort: an AbortError for the answer, or for the body once it is being read; writes after it are dropped", async () => {
    await rawServer(Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n"));
    const ac = new AbortController();
    const { request, answer } = open(ac.signal);
    request.end();
    const a = await answer;
    const reading = readAll(a);
    ac.abort();
    await expect(reading).rejects.toMatchObject({ name: "AbortError" });
    expect(request.writable).toBe(false);
    expect(request.write(Buffer.from("x"))).toBe(true);
    const early = new AbortController();
    early.abort();
    await expect(open(early.signal).answer).rejects.toMatchObject({ name: "AbortError" });
  });
});
