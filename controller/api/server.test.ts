import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { notFound, notImplemented } from "../../lib/errors.js";
import type { LogLine } from "../../runtime/types.js";
import { ApiClient } from "./client.js";
import type { EventRecord, ObjectView } from "./protocol.js";
import { ApiServer } from "./server.js";
import { fakeApi as rejectingApi } from "./testing.js";
import type { ControllerApi } from "./types.js";

const view = (name: string, labels: Record<string, string> = {}): ObjectView => ({
  apiVersion: "berth/v1",
  kind: "Container",
  metadata: { name, labels, annotations: {}, stack: "s", generation: 1, createdAt: "t", updatedAt: "t" },
  spec: {},
  status: { phase: "Running", health: "none", restartCount: 0 },
});

function fakeApi() {
  const seen: { events?: AbortSignal; act?: AbortSignal; acts: number; applies: number; deletes: number; execs: number; logs?: { follow: boolean; tail?: number; since?: number } } = {
    acts: 0,
    applies: 0,
    deletes: 0,
    execs: 0,
  };
  let push: ((e: EventRecord) => void) | undefined;
  const api: ControllerApi = rejectingApi({
    version: () => ({ version: "0.1.0", pid: 1, root: "/r", runRoot: "/rr", startedAt: "t" }),
    apply: async (req) => {
      seen.applies++;
      return { dryRun: !!req.dryRun, diagnostics: [], changes: [{ kind: "Container", name: req.stack, action: "created" }] };
    },
    list: async (_kind, selector) => [view("a", { app: "x" }), view("b")].filter((v) => Object.entries(selector).every(([k, val]) => v.metadata.labels[k] === val)),
    get: async (_kind, name) => {
      if (name !== "a") throw notFound(`get container ${name}: not found`, { object: { kind: "Container", name } });
      return view("a");
    },
    delete: async (kind, name) => {
      seen.deletes++;
      return { kind, name, action: "deleted" };
    },
    async *events({ watch, signal }) {
      seen.events = signal;
      yield { seq: 1, time: "t", type: "Normal", reason: "Created", object: "container/a", message: "created" };
      if (!watch) return;
      while (!signal.aborted) {
        const e = await new Promise<EventRecord | undefined>((resolve) => {
          push = resolve;
          signal.addEventListener("abort", () => resolve(undefined), { once: true });
        });
        if (e) yield e;
      }
    },
    async *logs(_name, o) {
      seen.logs = { follow: o.follow, ...(o.tail !== undefined ? { tail: o.tail } : {}), ...(o.since !== undefined ? { since: o.since } : {}) };
      const line: LogLine = { time: "t", stream: "stdout", full: true, text: "hello" };
      yield line;
    },
    exec: async (_name, req) => {
      seen.execs++;
      return { exitCode: 0, stdout: req.argv.join(" "), stderr: "", timedOut: false };
    },
    act: async (name, _action, signal) => {
      seen.act = signal;
      seen.acts++;
      // "slow" never gets there: the action waits until the client gives up
      if (name === "slow") await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
      return view(name);
    },
    // container layers are tested in container-layer-routes.test.ts; the image store routes
    // in image-store-routes.test.ts, against a real store
    changes: () => Promise.reject(notImplemented("fake")),
    commit: () => Promise.reject(notImplemented("fake")),
    exportContainer: () => Promise.reject(notImplemented("fake")),
    imageHistory: () => Promise.reject(notImplemented("fake")),
    listImages: () => Promise.reject(notImplemented("fake")),
    inspectImages: () => Promise.reject(notImplemented("fake")),
    loadImages: () => Promise.reject(notImplemented("fake")),
    importImage: () => Promise.reject(notImplemented("fake")),
    saveImages: () => Promise.reject(notImplemented("fake")),
    tagImage: () => Promise.reject(notImplemented("fake")),
    removeImage: () => Promise.reject(notImplemented("fake")),
    pruneImages: () => Promise.reject(notImplemented("fake")),
    buildImage: () => Promise.reject(notImplemented("fake")),
    pullImage: () => Promise.reject(notImplemented("fake")),
    pushImage: () => Promise.reject(notImplemented("fake")),
    login: () => Promise.reject(notImplemented("fake")),
    logout: () => Promise.reject(notImplemented("fake")),
  });
  return { api, seen, push: (e: EventRecord) => push?.(e) };
}

describe("API server and client over a unix socket", () => {
  let dir: string;
  let socket: string;
  let server: ApiServer;
  let client: ApiClient;
  let fake: ReturnType<typeof fakeApi>;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "berth-api-"));
    socket = path.join(dir, "berth.sock");
    fake = fakeApi();
    server = new ApiServer(fake.api, { socketPath: socket, logger: pino({ level: "silent" }), maxBodyBytes: 4096 });
    await server.listen();
    client = new ApiClient(socket);
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const raw = (method: string, p: string, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = net.connect(socket, () => {
        s.write(`${method} ${p} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${body !== undefined ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : ""}\r\n${body ?? ""}`);
      });
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve({ status: Number(out.split(" ")[1]), body: out.slice(out.indexOf("\r\n\r\n") + 4) }));
      s.on("error", reject);
    });

  it("serves the socket with mode 0660", () => {
    expect(statSync(socket).mode & 0o777).toBe(0o660);
  });

  it("answers version, apply, list with a selector, get, delete, exec, actions", async () => {
    expect((await client.version()).version).toBe("0.1.0");
    expect(await client.apply({ stack: "web", files: [{ file: "a.yaml", text: "x", baseDir: "/" }], dryRun: true })).toEqual({
      dryRun: true,
      diagnostics: [],
      changes: [{ kind: "Container", name: "web", action: "created" }],
    });
    expect((await client.list("Container", { app: "x" })).map((v) => v.metadata.name)).toEqual(["a"]);
    expect((await client.list("Container")).length).toBe(2);
    expect((await client.get("Container", "a")).metadata.name).toBe("a");
    expect(await client.delete("Volume", "v")).toEqual({ kind: "Volume", name: "v", action: "deleted" });
    expect((await client.exec("a", { argv: ["echo", "hi"] })).stdout).toBe("echo hi");
    expect((await client.act("a", "restart")).metadata.name).toBe("a");
    expect(fake.seen.act).toBeInstanceOf(AbortSignal);
  });

  it("bounds an action by the client's connection: it aborts when the client goes away", async () => {
    const s = net.connect(socket, () => s.write("POST /v1/containers/slow/stop HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"));
    await expect.poll(() => fake.seen.act !== undefined, { timeout: 2000 }).toBe(true);
    expect(fake.seen.act!.aborted).toBe(false);
    s.destroy();
    await expect.poll(() => fake.seen.act!.aborted, { timeout: 2000 }).toBe(true);
    expect((await client.version()).pid).toBe(1);
  });

  it("maps error kinds to statuses and back, with the object", async () => {
    await expect(client.get("Container", "nope")).rejects.toMatchObject({ kind: "NotFound", message: "get container nope: not found", object: { kind: "Container", name: "nope" } });
    expect((await raw("GET", "/v1/containers/nope")).status).toBe(404);
    expect((await raw("GET", "/v1/pods")).status).toBe(404);
    expect((await raw("GET", "/nope")).status).toBe(404);
    const badName = await raw("GET", "/v1/containers/..%2Fetc");
    expect(badName.status).toBe(400);
    expect(JSON.parse(badName.body).error.kind).toBe("InvalidArgument");
  });

  it("refuses unknown fields, wrong types, malformed JSON and oversized bodies", async () => {
    const cases: [string, string][] = [
      [JSON.stringify({ stack: "s", files: [], force: true }), 'apply: unknown field "force" (known fields: stack, files, prune, dryRun, allowPrivileged, allowHostBinds, allow)'],
      [JSON.stringify({ stack: "s", files: [{ file: "a", text: "b" }] }), 'apply: body.files[0]: missing required field "baseDir"'],
      [JSON.stringify({ stack: "s", files: [{ file: "a", text: 1, baseDir: "/" }], prune: "yes" }), 'apply: body.files[0].text: expected a string, got 1; body.prune: expected true or false, got "yes"'],
      [JSON.stringify({ files: [] }), 'apply: missing required field "stack"'],
      [
        JSON.stringify({ stack: "../x", files: [] }),
        `apply: body.stack: expected a name of lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters, got "../x" (did you mean "x"?)`,
      ],
      ["{not json", "read request: body is not JSON"],
      [JSON.stringify({ stack: "s", files: [{ file: "a", text: "x".repeat(5000), baseDir: "/" }] }), "is over the limit of 4096"],
      ["[]", "apply: body: expected a mapping, got a list"],
    ];
    for (const [body, message] of cases) {
      const r = await raw("POST", "/v1/apply", body);
      expect(r.status, body.slice(0, 40)).toBe(400);
      expect(JSON.parse(r.body).error.message).toContain(message);
    }
    const exec = async (body: unknown) => {
      const r = await raw("POST", "/v1/containers/a/exec", JSON.stringify(body));
      expect(r.status).toBe(400);
      return JSON.parse(r.body).error.message as string;
    };
    expect(await exec({ argv: [] })).toBe("exec: body.argv: expected at least 1 item, got 0");
    expect(await exec({ argvv: ["sh"] })).toBe('exec: unknown field "argvv" (did you mean "argv"?)');
    expect(await exec({ argv: ["sh"], env: { "A=B": "1", N: 1 }, timeoutMs: -1 })).toBe(
      "exec: body.env: invalid key \"A=B\": expected an environment variable name without '='; body.env.N: expected a string, got 1; body.timeoutMs: expected an integer at least 0, got -1",
    );
    expect(fake.seen.execs).toBe(0);
    // and it still serves
    expect((await client.version()).pid).toBe(1);
  });

  it("survives garbage on the socket", async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(socket, () => s.end("\u0000\u0001GARBAGE\r\n\r\n"));
      s.resume(); // read the server's 400 so that its close reaches us
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
    expect((await client.version()).pid).toBe(1);
  });

  it("streams events until the client aborts, which aborts the server side too", async () => {
    const ac = new AbortController();
    const got: EventRecord[] = [];
    const it = client.watchEvents(ac.signal)[Symbol.asyncIterator]();
    got.push((await it.next()).value as EventRecord);
    fake.push({ seq: 2, time: "t", type: "Warning", reason: "BackOff", object: "container/a", message: "m" });
    got.push((await it.next()).value as EventRecord);
    expect(got.map((e) => e.seq)).toEqual([1, 2]);
    ac.abort();
    await it.return?.();
    await expect.poll(() => fake.seen.events?.aborted, { timeout: 2000 }).toBe(true);
    expect(await client.events()).toHaveLength(1);
  });

  it("streams logs with their options", async () => {
    const lines: LogLine[] = [];
    for await (const l of client.logs("a", { follow: false, tail: 5, since: 1000 })) lines.push(l);
    expect(lines.map((l) => l.text)).toEqual(["hello"]);
    expect(fake.seen.logs).toEqual({ follow: false, tail: 5, since: 1000 });
    const bad = await raw("GET", "/v1/containers/a/logs?tail=-1");
    expect(bad.status).toBe(400);
  });

  it("replaces a stale socket file but refuses a live one", async () => {
    const second = new ApiServer(fake.api, { socketPath: socket, logger: pino({ level: "silent" }) });
    await expect(second.listen()).rejects.toMatchObject({ kind: "Unavailable" });
    const stale = path.join(dir, "stale.sock");
    writeFileSync(stale, "");
    const third = new ApiServer(fake.api, { socketPath: stale, logger: pino({ level: "silent" }) });
    await third.listen();
    expect((await new ApiClient(stale).version()).pid).toBe(1);
    await third.close();
  });

  /** One raw request with `head` (request line and headers, no blank line), then `body`; the whole answer. */
  const request = (head: string, body = "") =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = net.connect(socket, () => s.write(`${head}\r\nConnection: close\r\n\r\n${body}`));
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve({ status: Number(out.split(" ")[1]), body: out.slice(out.indexOf("\r\n\r\n") + 4) }));
      s.on("error", reject);
    });
  const APPLY = JSON.stringify({ stack: "s", files: [] });
  const len = (b: string) => `Content-Length: ${Buffer.byteLength(b)}`;

  it("refuses mutating requests without a JSON content type with 415, and applies nothing", async () => {
    const cases: [string, string, string][] = [
      [`POST /v1/apply HTTP/1.1\r\nHost: localhost\r\n${len(APPLY)}`, APPLY, 'read request: POST needs content type application/json, got none'],
      [`POST /v1/apply HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n${len(APPLY)}`, APPLY, 'got "text/plain"'],
      [`POST /v1/apply HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n${len(APPLY)}`, APPLY, 'got "application/x-www-form-urlencoded"'],
      [`POST /v1/apply HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n${len(APPLY)}`, APPLY, 'got "multipart/form-data"'],
      [`POST /v1/containers/a/stop HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0`, "", "got none"],
      [`POST /v1/containers/a/exec HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n${len('{"argv":["sh"]}')}`, '{"argv":["sh"]}', 'got "text/plain"'],
      [`DELETE /v1/volumes/v HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 2`, "{}", 'read request: DELETE needs content type application/json, got "text/plain"'],
      [`PUT /v1/apply HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked`, `${APPLY.length.toString(16)}\r\n${APPLY}\r\n0\r\n\r\n`, "PUT needs content type application/json, got none"],
    ];
    for (const [head, body, message] of cases) {
      const r = await request(head, body);
      expect(r.status, head).toBe(415);
      expect(JSON.parse(r.body).error, head).toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining(message) });
    }
    expect(fake.seen).toMatchObject({ applies: 0, acts: 0, execs: 0, deletes: 0 });
    // a JSON type with parameters is JSON; a DELETE without a body needs none; the client sends what is needed
    expect((await request(`POST /v1/apply HTTP/1.1\r\nHost: localhost\r\nContent-Type: Application/JSON; charset=utf-8\r\n${len(APPLY)}`, APPLY)).status).toBe(200);
    expect((await request("DELETE /v1/volumes/v HTTP/1.1\r\nHost: localhost")).status).toBe(200);
    await client.apply({ stack: "s", files: [] });
    await client.act("a", "stop");
    await client.delete("Volume", "v");
    expect(fake.seen).toMatchObject({ applies: 2, acts: 1, deletes: 2 });
  });

  it("refuses a foreign Host with 400 (DNS rebinding), on every route; serves localhost, berth and none", async () => {
    for (const host of ["evil.example", "localhost.evil.example", "127.0.0.1:2375", "[::1]", "berth.evil.example", "localhost:x", "berth:80"]) {
      for (const head of [`GET /v1/version HTTP/1.1\r\nHost: ${host}`, `POST /v1/apply HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n${len(APPLY)}`]) {
        const r = await request(head, head.startsWith("POST") ? APPLY : "");
        expect(r.status, head).toBe(400);
        expect(JSON.parse(r.body).error.message).toBe(`read request: Host ${JSON.stringify(host)} is refused: the API serves only local clients (Host localhost or berth)`);
      }
    }
    expect(fake.seen.applies).toBe(0);
    for (const head of ["GET /v1/version HTTP/1.1\r\nHost: localhost", "GET /v1/version HTTP/1.1\r\nHost: LOCALHOST:2375", "GET /v1/version HTTP/1.1\r\nHost: berth", "GET /v1/version HTTP/1.1\r\nHost:", "GET /v1/version HTTP/1.1", "GET /v1/version HTTP/1.0"]) {
      expect((await request(head)).status, head).toBe(200);
    }
  });

  describe("requests that arrive too slowly", () => {
    let slow: ApiServer;
    let slowSocket: string;
    beforeEach(async () => {
      slowSocket = path.join(dir, "slow.sock");
      slow = new ApiServer(fake.api, { socketPath: slowSocket, logger: pino({ level: "silent" }), headersTimeoutMs: 300, bodyTimeoutMs: 300, drainAfterErrorMs: 200 });
      await slow.listen();
    });
    afterEach(() => slow.close());

    /** Writes `head` then `drip` one byte every 100 ms until answered; resolves when the server closes the connection. */
    const dripped = (head: string, drip: string) =>
      new Promise<{ ms: number; answer: string }>((resolve) => {
        const t0 = Date.now();
        let answer = "";
        let timer: NodeJS.Timeout | undefined;
        const s = net.connect(slowSocket, () => {
          s.write(head);
          let i = 0;
          timer = setInterval(() => {
            if (i < drip.length && s.writable) s.write(drip[i++]!);
          }, 100);
        });
        s.on("data", (d) => {
          answer += d;
          clearInterval(timer);
        });
        s.on("error", () => {}); // a write after the cut: EPIPE
        s.on("close", () => {
          clearInterval(timer);
          resolve({ ms: Date.now() - t0, answer });
        });
      });

    it("cuts a JSON body dripped a byte at a time at the body deadline with 408, applying nothing", async () => {
      const { ms, answer } = await dripped(`POST /v1/apply HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${len(APPLY)}\r\n\r\n`, APPLY);
      expect(ms).toBeGreaterThanOrEqual(280);
      expect(ms).toBeLessThan(1_500); // the whole body would take 2.7 s
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).error).toEqual({ kind: "InvalidArgument", message: "read request: the body did not arrive within 300ms" });
      expect(fake.seen.applies).toBe(0);
      expect((await new ApiClient(slowSocket).version()).pid).toBe(1);
    });

    it("closes the connection of a dripped body no route reads, at the deadline", async () => {
      const s = net.connect(slowSocket, () => s.write("POST /v1/containers/a/stop HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"));
      const t0 = Date.now();
      let answer = "";
      const drip = setInterval(() => s.writable && s.write(" "), 100);
      s.on("data", (d) => (answer += d));
      s.on("error", () => {});
      await new Promise((r) => s.once("close", r));
      clearInterval(drip);
      expect(answer).toMatch(/^HTTP\/1\.1 200 /); // answered at once: stop reads no body
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
      expect(Date.now() - t0).toBeLessThan(1_500);
    });

    it("cuts headers dripped a byte at a time at the headers deadline", async () => {
      const { ms, answer } = await dripped("GET /v1/version HTTP/1.1\r\nHost: localhost\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
      expect(ms).toBeGreaterThanOrEqual(280);
      expect(ms).toBeLessThan(1_500);
      expect(answer).not.toMatch(/ 200 /);
      expect((await new ApiClient(slowSocket).version()).pid).toBe(1);
    });

    it("does not time a body that arrived, nor a long answer", async () => {
      const c = new ApiClient(slowSocket);
      const ac = new AbortController();
      const it = c.watchEvents(ac.signal)[Symbol.asyncIterator]();
      await it.next();
      await new Promise((r) => setTimeout(r, 700));
      fake.push({ seq: 2, time: "t", type: "Normal", reason: "Later", object: "container/a", message: "m" });
      expect(((await it.next()).value as EventRecord).seq).toBe(2);
      ac.abort();
      await it.return?.();
      expect((await c.apply({ stack: "s", files: [] })).changes).toHaveLength(1);
    });
  });

  it("says how to start the daemon when none listens", async () => {
    await expect(new ApiClient(path.join(dir, "none.sock")).version()).rejects.toMatchObject({
      kind: "Unavailable",
      message: expect.stringMatching(/no berth daemon is listening; start one with `berth daemon`/),
    });
  });
});
