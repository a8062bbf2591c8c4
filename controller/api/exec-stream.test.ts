import { createHash } from "node:crypto";
import * as http from "node:http";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { internal, notFound, notImplemented } from "../../lib/errors.js";
import type { ApiClient } from "./client.js";
import { encodeFrame, EXEC_REQUEST_CONTENT_TYPE, EXEC_STREAM_CONTENT_TYPE, FrameDecoder, framedInput, readRequestFrame, STREAM } from "./exec-stream.js";
import type { ExecRequest } from "./protocol.js";
import { fakeApi as fakeApiOf, serveApi, type ServedApi } from "./testing.js";
import type { ControllerApi, ExecIo } from "./types.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** Every byte value, `n` times over: not UTF-8, NULs included. */
const ramp = (n: number) => Buffer.concat(Array.from({ length: n }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i))));

async function* chunksOf(b: Uint8Array[]) {
  yield* b;
}

describe("exec stream framing", () => {
  it("a frame is id, three zero bytes, the length big-endian, the payload", () => {
    expect(encodeFrame(STREAM.stderr, Buffer.from("hi"))).toEqual(Buffer.from([2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]));
    expect(encodeFrame(STREAM.exit, "")).toEqual(Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]));
    expect(encodeFrame(STREAM.stdout, Buffer.alloc(0x010203)).subarray(0, 8)).toEqual(Buffer.from([1, 0, 0, 0, 0, 1, 2, 3]));
  });

  it("decodes frames split anywhere, and refuses what is not a header", () => {
    const bytes = Buffer.concat([encodeFrame(1, "out"), encodeFrame(2, ramp(1)), encodeFrame(3, "{}")]);
    for (const step of [1, 3, 7, 8, 9, 100, bytes.length]) {
      const d = new FrameDecoder("test");
      const frames = [];
      for (let i = 0; i < bytes.length; i += step) frames.push(...d.push(bytes.subarray(i, i + step)));
      expect(frames.map((f) => [f.id, f.payload.toString("hex")])).toEqual([
        [1, Buffer.from("out").toString("hex")],
        [2, ramp(1).toString("hex")],
        [3, Buffer.from("{}").toString("hex")],
      ]);
      expect(d.pending).toBe(0);
    }
    expect(() => new FrameDecoder("test").push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/not a frame header: 0900000000000000/);
    expect(() => new FrameDecoder("test").push(Buffer.from([1, 0, 1, 0, 0, 0, 0, 0]))).toThrow(/not a frame header/);
    expect(() => new FrameDecoder("test", 10).push(Buffer.from([1, 0, 0, 0, 0, 0, 0, 11]))).toThrow(/11 bytes is over the limit of 10/);
  });

  it("the request frame comes first; the bytes after it, in its chunk or later, are stdin", async () => {
    const req = encodeFrame(STREAM.request, JSON.stringify({ argv: ["cat"] }));
    const body = Buffer.concat([req, Buffer.from("ab")]);
    const { request, stdin } = await readRequestFrame(chunksOf([body.subarray(0, 5), body.subarray(5), Buffer.from("\0c")])[Symbol.asyncIterator](), 1024);
    expect(request).toEqual({ argv: ["cat"] });
    const got: Buffer[] = [];
    for await (const c of stdin) got.push(Buffer.from(c));
    expect(Buffer.concat(got).toString()).toBe("ab\0c");

    const fails = (chunks: Uint8Array[], max = 1024) => readRequestFrame(chunksOf(chunks)[Symbol.asyncIterator](), max);
    await expect(fails([])).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringMatching(/ended before its request frame/) });
    await expect(fails([req.subarray(0, req.length - 1)])).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(fails([encodeFrame(STREAM.stdout, "x")])).rejects.toMatchObject({ message: expect.stringMatching(/must start with a request frame \(stream id 0\)/) });
    await expect(fails([req], 4)).rejects.toMatchObject({ message: expect.stringMatching(/over the limit of 4/) });
    await expect(fails([encodeFrame(STREAM.request, "{nope")])).rejects.toMatchObject({ message: expect.stringMatching(/not JSON/) });
  });
});

describe("framed input", () => {
  const stdinFrame = (s: string) => encodeFrame(STREAM.request, s);
  const resize = (cols: number, rows: number) => encodeFrame(STREAM.resize, JSON.stringify({ cols, rows }));
  const signal = (sig: string) => encodeFrame(STREAM.signal, JSON.stringify({ signal: sig }));

  it("yields stdin frames, hands resizes and signals to control, in the order sent", async () => {
    const seen: string[] = [];
    const body = Buffer.concat([stdinFrame("ab"), resize(80, 24), stdinFrame("c"), signal("SIGINT")]);
    const got: string[] = [];
    for await (const c of framedInput(chunksOf([body.subarray(0, 3), body.subarray(3)]), { resize: (s) => seen.push(`${s.cols}x${s.rows}`), signal: (s) => seen.push(s) })) {
      got.push(Buffer.from(c).toString());
      seen.push(`stdin ${Buffer.from(c).toString()}`);
    }
    expect(got.join("")).toBe("abc");
    expect(seen).toEqual(["stdin ab", "80x24", "stdin c", "SIGINT"]);
  });

  it("an empty stdin frame ends stdin at once; the frames after it are still read as control (a signal, a resize)", async () => {
    const seen: string[] = [];
    const rest = new PassThrough();
    rest.write(Buffer.concat([stdinFrame("in"), stdinFrame(""), resize(100, 30)]));
    const got: string[] = [];
    // The body is still open: stdin ended anyway.
    for await (const c of framedInput(rest, { resize: (s) => seen.push(`${s.cols}x${s.rows}`), signal: (s) => seen.push(s) })) got.push(Buffer.from(c).toString());
    expect(got).toEqual(["in"]);
    rest.end(signal("SIGTERM"));
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(["100x30", "SIGTERM"]);
  });

  it("stdin after its end, or a bad frame then, goes to control.error (the stream has ended)", async () => {
    const errors: string[] = [];
    const body = Buffer.concat([stdinFrame(""), stdinFrame("late")]);
    for await (const _ of framedInput(chunksOf([body]), { resize: () => {}, error: (e) => errors.push((e as Error).message) })) void _;
    await new Promise((r) => setTimeout(r, 10));
    expect(errors).toEqual([expect.stringMatching(/stdin after its end/)]);
  });
});

type ExecFn = (name: string, req: ExecRequest, signal: AbortSignal, io?: ExecIo) => ReturnType<ControllerApi["exec"]>;

function fakeApi(exec: { fn: ExecFn }): ControllerApi {
  const no = () => Promise.reject(notImplemented("fake"));
  return fakeApiOf({
    version: () => ({ version: "0.1.0", pid: 1, root: "/r", runRoot: "/rr", startedAt: "t" }),
    events: () => ({ [Symbol.asyncIterator]: () => ({ next: no }) }),
    logs: () => ({ [Symbol.asyncIterator]: () => ({ next: no }) }),
    exec: (name, req, signal, io) => exec.fn(name, req, signal, io),
  });
}

describe("exec stream over the API socket", () => {
  let served: ServedApi;
  let client: ApiClient;
  let socketPath: string;
  const exec: { fn: ExecFn } = { fn: async () => ({ exitCode: 0, stdout: "", stderr: "", timedOut: false }) };

  beforeEach(async () => {
    served = await serveApi(fakeApi(exec), "berth-exec-stream-");
    ({ socketPath, client } = served);
  });
  afterEach(() => served.close());

  const collect = () => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    return { out, err, io: { stdout: (c: Buffer) => void out.push(Buffer.from(c)), stderr: (c: Buffer) => void err.push(Buffer.from(c)) } };
  };

  it("carries binary output over 1 MiB byte for byte, stdout and stderr apart, then the exit status", async () => {
    const big = ramp(6000); // 1.5 MiB
    exec.fn = async (_name, req, _signal, io) => {
      expect(req).toEqual({ argv: ["cat", "/bin/busybox"], env: { A: "1" }, timeoutMs: 5000 });
      for (let i = 0; i < big.length; i += 100_000) {
        await io!.stdout(big.subarray(i, i + 100_000));
        if (i === 0) await io!.stderr(Buffer.from("warn\0\xff", "latin1"));
      }
      return { exitCode: 7, stdout: "", stderr: "", timedOut: false };
    };
    const c = collect();
    const exit = await client.execStream("web", { argv: ["cat", "/bin/busybox"], env: { A: "1" }, timeoutMs: 5000 }, c.io);
    expect(exit).toEqual({ exitCode: 7, timedOut: false });
    expect(sha256(Buffer.concat(c.out))).toBe(sha256(big));
    expect(Buffer.concat(c.err)).toEqual(Buffer.from("warn\0\xff", "latin1"));
  });

  it("the answer on the wire: 200 application/vnd.berth.stream, frames as documented, the exit frame last", async () => {
    exec.fn = async (_name, _req, _signal, io) => {
      await io!.stdout(Buffer.from("o"));
      await io!.stderr(Buffer.from("e"));
      return { exitCode: 127, stdout: "", stderr: "", timedOut: false, startError: 'exec: "x": executable file not found in $PATH' };
    };
    const { status, type, body } = await new Promise<{ status: number; type: string; body: Buffer }>((resolve, reject) => {
      const req = http.request({ socketPath, method: "POST", path: "/v1/containers/web/exec?stream=true", headers: { "content-type": EXEC_REQUEST_CONTENT_TYPE } }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body: Buffer.concat(parts) }));
      });
      req.on("error", reject);
      req.end(encodeFrame(STREAM.request, JSON.stringify({ argv: ["x"] })));
    });
    expect(status).toBe(200);
    expect(type).toBe(EXEC_STREAM_CONTENT_TYPE);
    const exitJson = JSON.stringify({ exitCode: 127, timedOut: false, startError: 'exec: "x": executable file not found in $PATH' });
    expect(body).toEqual(Buffer.concat([encodeFrame(1, "o"), encodeFrame(2, "e"), encodeFrame(3, exitJson)]));
  });

  it("streams stdin: each chunk reaches the exec (and its echo the client) before the next is sent; the end closes it", async () => {
    exec.fn = async (_name, _req, _signal, io) => {
      for await (const chunk of io!.stdin!) await io!.stdout(chunk);
      return { exitCode: 0, stdout: "", stderr: "", timedOut: false };
    };
    const stdin = new PassThrough();
    const seen: Buffer[] = [];
    const echoed = (n: number) =>
      new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (Buffer.concat(seen).length >= n) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
    const done = client.execStream("web", { argv: ["cat"] }, { stdin, stdout: (c) => void seen.push(Buffer.from(c)), stderr: () => {} });
    stdin.write("a\0b");
    await echoed(3);
    stdin.write(ramp(1));
    await echoed(3 + 256);
    stdin.end();
    expect(await done).toEqual({ exitCode: 0, timedOut: false });
    expect(Buffer.concat(seen)).toEqual(Buffer.concat([Buffer.from("a\0b"), ramp(1)]));
  });

  it("a client that goes away aborts the exec's signal", async () => {
    let aborted: (() => void) | undefined;
    const gone = new Promise<void>((r) => (aborted = r));
    exec.fn = async (_name, _req, signal, io) => {
      await io!.stdout(Buffer.from("started"));
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      aborted!();
      return { exitCode: 137, stdout: "", stderr: "", timedOut: false };
    };
    const ac = new AbortController();
    const running = client.execStream("web", { argv: ["sleep", "100"] }, { stdout: () => ac.abort(), stderr: () => {} }, ac.signal);
    await expect(running).rejects.toMatchObject({ name: "AbortError" });
    await gone;
  });

  it("an error before any output is an ordinary error answer; after output, an error frame", async () => {
    exec.fn = async (name) => {
      throw notFound(`exec in container ${name}: not found`, { object: { kind: "Container", name } });
    };
    await expect(client.execStream("nope", { argv: ["true"] }, collect().io)).rejects.toMatchObject({ kind: "NotFound", message: "exec in container nope: not found", object: { kind: "Container", name: "nope" } });
    exec.fn = async (_name, _req, _signal, io) => {
      await io!.stdout(Buffer.from("partial"));
      throw internal("exec in container web: runc went away");
    };
    const c = collect();
    await expect(client.execStream("web", { argv: ["true"] }, c.io)).rejects.toMatchObject({ kind: "Internal", message: "exec in container web: runc went away" });
    expect(Buffer.concat(c.out).toString()).toBe("partial");
  });

  it("output an implementation returns buffered is sent before the exit", async () => {
    exec.fn = async () => ({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: true });
    const c = collect();
    expect(await client.execStream("web", { argv: ["x"] }, c.io)).toEqual({ exitCode: 3, timedOut: true });
    expect(Buffer.concat(c.out).toString()).toBe("out\n");
    expect(Buffer.concat(c.err).toString()).toBe("err\n");
  });

  it("refuses a request that is not a stream: another content type (415), a body without a request frame or a bad ExecRequest (400)", async () => {
    const raw = (type: string, body: Buffer) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request({ socketPath, method: "POST", path: "/v1/containers/web/exec?stream=true", headers: { "content-type": type } }, (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode!, text }));
        });
        req.on("error", reject);
        req.end(body);
      });
    expect((await raw("text/plain", encodeFrame(0, "{}"))).status).toBe(415);
    expect(await raw(EXEC_REQUEST_CONTENT_TYPE, Buffer.from("{}"))).toEqual({ status: 400, text: expect.stringMatching(/ended before its request frame/) });
    expect(await raw(EXEC_REQUEST_CONTENT_TYPE, encodeFrame(0, JSON.stringify({ argv: [] })))).toMatchObject({ status: 400, text: expect.stringMatching(/argv/) });
    // The buffered exec stays JSON, and never carries startError.
    exec.fn = async () => ({ exitCode: 127, stdout: "", stderr: "x\n", timedOut: false, startError: "x" });
    expect(await client.exec("web", { argv: ["x"] })).toEqual({ exitCode: 127, stdout: "", stderr: "x\n", timedOut: false });
  });
});
