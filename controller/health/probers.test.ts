import * as http from "node:http";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { failedPrecondition, notFound } from "../../lib/errors.js";
import type { ExecResult } from "../../runtime/types.js";
import type { Healthcheck, Probe } from "../manifests/model.js";
import { ExecProber, HttpProber, ProbeDispatcher, TcpProber, probeArgv, type ExecFn } from "./probers.js";

function check(probe: Probe, timeoutMs = 2_000): Healthcheck {
  return { probe, intervalMs: 30_000, timeoutMs, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 };
}
const target = { container: "web", host: "127.0.0.1" };
const live = () => new AbortController().signal;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(handler: http.RequestListener): Promise<number> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))));
  return (s.address() as net.AddressInfo).port;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function fakeExec(result: Partial<ExecResult> | Error | ((signal: AbortSignal) => Promise<ExecResult>)) {
  const calls: { container: string; argv: string[]; timeoutMs: number }[] = [];
  const exec: ExecFn = async (container, argv, o) => {
    calls.push({ container, argv, timeoutMs: o.timeoutMs });
    if (typeof result === "function") return result(o.signal);
    if (result instanceof Error) throw result;
    return { exitCode: 0, stdout: "", stderr: "", timedOut: false, ...result };
  };
  return { exec, calls };
}

describe("probeArgv", () => {
  it("runs exec argv as is and shell commands through /bin/sh -c", () => {
    expect(probeArgv(check({ type: "exec", argv: ["pg_isready", "-U", "x"] }))).toEqual(["pg_isready", "-U", "x"]);
    expect(probeArgv(check({ type: "shell", command: "curl -f localhost || exit 1" }))).toEqual(["/bin/sh", "-c", "curl -f localhost || exit 1"]);
  });
});

describe("ExecProber", () => {
  it("exit 0 is success, passing argv, container and timeout to exec", async () => {
    const f = fakeExec({ exitCode: 0, stdout: "ok\n" });
    const r = await new ExecProber(f.exec).probe(check({ type: "shell", command: "true" }, 3_000), target, live());
    expect(r).toMatchObject({ result: "success", output: "ok\n" });
    expect(f.calls).toEqual([{ container: "web", argv: ["/bin/sh", "-c", "true"], timeoutMs: 3_000 }]);
  });

  it("a non-zero exit is a failure with stdout and stderr as output", async () => {
    const f = fakeExec({ exitCode: 1, stdout: "out ", stderr: "err" });
    expect(await new ExecProber(f.exec).probe(check({ type: "exec", argv: ["false"] }), target, live())).toMatchObject({
      result: "failure",
      output: "out err",
    });
  });

  it("an exec that timed out is a failure", async () => {
    const f = fakeExec({ exitCode: 137, timedOut: true, stdout: "partial" });
    const r = await new ExecProber(f.exec).probe(check({ type: "exec", argv: ["sleep", "9"] }, 1_000), target, live());
    expect(r).toMatchObject({ result: "failure", output: "Health check exceeded timeout (1000ms): partial" });
  });

  it("enforces the timeout on its clock when exec does not return", async () => {
    const clock = new ManualClock();
    let sawAbort = false;
    const f = fakeExec((signal) => new Promise((_, reject) => signal.addEventListener("abort", () => ((sawAbort = true), reject(new Error("killed"))))));
    const p = new ExecProber(f.exec, { clock }).probe(check({ type: "exec", argv: ["hang"] }, 500), target, live());
    await clock.advance(499);
    expect(sawAbort).toBe(false);
    await clock.advance(1);
    expect(await p).toEqual({ result: "failure", output: "Health check exceeded timeout (500ms)", durationMs: 500 });
    expect(sawAbort).toBe(true);
  });

  it("settles at the timeout even when exec ignores its signal", async () => {
    const clock = new ManualClock();
    const f = fakeExec(() => new Promise(() => {}));
    const p = new ExecProber(f.exec, { clock }).probe(check({ type: "exec", argv: ["hang"] }, 100), target, live());
    await clock.advance(100);
    expect(await p).toMatchObject({ result: "failure" });
  });

  it("the container gone or not running is unknown; other exec errors are failures", async () => {
    const c = check({ type: "exec", argv: ["x"] });
    expect((await new ExecProber(fakeExec(failedPrecondition("exec in web: container is not running")).exec).probe(c, target, live())).result).toBe("unknown");
    expect((await new ExecProber(fakeExec(notFound("container web not found")).exec).probe(c, target, live())).result).toBe("unknown");
    expect(await new ExecProber(fakeExec(new Error("runc exec: no such file")).exec).probe(c, target, live())).toMatchObject({
      result: "failure",
      output: "runc exec: no such file",
    });
  });

  it("an abort resolves unknown", async () => {
    const ac = new AbortController();
    const f = fakeExec((signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")))));
    const p = new ExecProber(f.exec, { clock: new ManualClock() }).probe(check({ type: "exec", argv: ["x"] }), target, ac.signal);
    ac.abort();
    expect(await p).toMatchObject({ result: "unknown", output: "probe cancelled" });
    const pre = new AbortController();
    pre.abort();
    expect((await new ExecProber(f.exec).probe(check({ type: "exec", argv: ["x"] }), target, pre.signal)).result).toBe("unknown");
  });

  it("caps output", async () => {
    const f = fakeExec({ exitCode: 1, stdout: "y".repeat(10_000) });
    const r = await new ExecProber(f.exec, { maxOutputBytes: 100 }).probe(check({ type: "exec", argv: ["x"] }), target, live());
    expect(r.output).toBe("y".repeat(100) + "...");
  });
});

describe("HttpProber (real server on 127.0.0.1)", () => {
  const get = (port: number, path = "/health", headers: Record<string, string> = {}, timeoutMs = 2_000) =>
    check({ type: "http", path, port, scheme: "http", headers }, timeoutMs);

  it.each([
    [200, "success"],
    [204, "success"],
    [302, "success"],
    [399, "success"],
    [400, "failure"],
    [404, "failure"],
    [500, "failure"],
    [503, "failure"],
  ] as const)("status %i is %s", async (status, expected) => {
    const port = await server((_req, res) => {
      res.statusCode = status;
      if (status === 302) res.setHeader("location", "http://127.0.0.1:1/elsewhere");
      res.end(status === 204 ? undefined : "body");
    });
    const r = await new HttpProber().probe(get(port), target, live());
    expect(r.result).toBe(expected);
    expect(r.output).toMatch(new RegExp(`^HTTP ${status}`));
  });

  it("sends GET to the path with the check's headers, and reports the body", async () => {
    let seen: { method?: string; url?: string; header?: string } = {};
    const port = await server((req, res) => {
      seen = { method: req.method, url: req.url, header: req.headers["x-probe"] as string };
      res.end("all good");
    });
    const r = await new HttpProber().probe(get(port, "/ready?full=1", { "X-Probe": "yes" }), target, live());
    expect(seen).toEqual({ method: "GET", url: "/ready?full=1", header: "yes" });
    expect(r).toMatchObject({ result: "success", output: "HTTP 200 OK: all good" });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("reads at most maxBodyBytes of a large body and does not wait for the rest", async () => {
    const port = await server((_req, res) => {
      res.write("z".repeat(64 * 1024));
      // Never ends: the prober must stop reading by itself.
    });
    const t0 = Date.now();
    const r = await new HttpProber({ maxBodyBytes: 1000 }).probe(get(port), target, live());
    expect(r.result).toBe("success");
    expect(r.output).toBe("HTTP 200 OK: " + "z".repeat(1000));
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it("a server that does not answer in time is a failure at the timeout", async () => {
    const port = await server(() => {
      /* never responds */
    });
    const t0 = Date.now();
    const r = await new HttpProber().probe(get(port, "/", {}, 150), target, live());
    const took = Date.now() - t0;
    expect(r).toMatchObject({ result: "failure", output: "Health check exceeded timeout (150ms)" });
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1_500);
  });

  it("a closed port is a failure naming the error", async () => {
    const port = await closedPort();
    const r = await new HttpProber().probe(get(port), target, live());
    expect(r.result).toBe("failure");
    expect(r.output).toContain("ECONNREFUSED");
  });

  it("an abort resolves unknown", async () => {
    const port = await server(() => {});
    const ac = new AbortController();
    const p = new HttpProber().probe(get(port), target, ac.signal);
    setTimeout(() => ac.abort(), 20);
    expect(await p).toMatchObject({ result: "unknown" });
  });
});

describe("TcpProber (real sockets on 127.0.0.1)", () => {
  it("a listening port is a success; the connection is closed", async () => {
    const s = net.createServer();
    let closed = false;
    s.on("connection", (sock) => sock.on("close", () => (closed = true)));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
    const port = (s.address() as net.AddressInfo).port;
    const r = await new TcpProber().probe(check({ type: "tcp", port }), target, live());
    expect(r).toMatchObject({ result: "success", output: `connected to 127.0.0.1:${port}` });
    for (let i = 0; i < 100 && !closed; i++) await new Promise((res) => setTimeout(res, 5));
    expect(closed).toBe(true);
  });

  it("a closed port is a failure", async () => {
    const port = await closedPort();
    const r = await new TcpProber().probe(check({ type: "tcp", port }), target, live());
    expect(r.result).toBe("failure");
    expect(r.output).toMatch(new RegExp(`^connect 127.0.0.1:${port}: .*ECONNREFUSED`));
  });

  it("an aborted probe is unknown", async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await new TcpProber().probe(check({ type: "tcp", port: 1 }), target, ac.signal)).result).toBe("unknown");
  });
});

describe("ProbeDispatcher", () => {
  it("routes each probe type to its prober", async () => {
    const f = fakeExec({ exitCode: 0 });
    const d = new ProbeDispatcher(f.exec);
    const port = await closedPort();
    expect((await d.probe(check({ type: "exec", argv: ["a"] }), target, live())).result).toBe("success");
    expect((await d.probe(check({ type: "shell", command: "b" }), target, live())).result).toBe("success");
    expect(f.calls.map((c) => c.argv)).toEqual([["a"], ["/bin/sh", "-c", "b"]]);
    expect((await d.probe(check({ type: "tcp", port }), target, live())).output).toMatch(/^connect /);
    expect((await d.probe(check({ type: "http", port, path: "/", scheme: "http", headers: {} }), target, live())).output).toMatch(/^GET http:/);
  });
});
