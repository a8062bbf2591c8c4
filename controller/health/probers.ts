/**
 * The probers: exec (argv, or a shell command as `/bin/sh -c`), HTTP GET and TCP connect.
 *
 * Every prober keeps the Prober contract (types.ts): it resolves, never rejects; it
 * enforces `check.timeoutMs` on the injected Clock (a timeout is a `failure`, as in Docker:
 * "Health check exceeded timeout"); an abort of the caller's signal resolves `unknown`.
 * Output is capped at `maxOutputBytes`.
 *
 * - exec: through an injected `ExecFn` (the runtime's exec bound by the caller). Exit code 0
 *   is success, anything else failure. An exec that cannot start because the container is
 *   gone or not running (NotFound / FailedPrecondition) is `unknown`; any other exec error
 *   is a failure (Docker records a failed exec as exit -1).
 * - http: GET `scheme://host:port/path` with the check's headers; 200–399 is success.
 *   Redirects are not followed (a 3xx is a success). TLS certificates are not verified
 *   (like kubelet's HTTPS probes: the probe checks liveness, not identity). At most
 *   `maxBodyBytes` of the body are read, then the connection is closed.
 * - tcp: success when a TCP connection to host:port opens; it is closed at once.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { systemClock, type Clock } from "../../lib/clock.js";
import { errorMessage, isBerthError } from "../../lib/errors.js";
import type { ExecResult } from "../../runtime/types.js";
import type { Healthcheck } from "../manifests/model.js";
import { capOutput } from "./health-state.js";
import type { ProbeResult, ProbeTarget, Prober } from "./types.js";

/** The runtime's exec for one container, e.g. `(c, argv, o) => runtime.exec(c, { argv, ...o })`. */
export type ExecFn = (
  container: string,
  argv: string[],
  options: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal },
) => Promise<ExecResult>;

export interface ProberOptions {
  clock: Clock;
  /** Output kept per probe. */
  maxOutputBytes: number;
  /** Body bytes an HTTP probe reads at most. */
  maxBodyBytes: number;
  /** The shell of `shell` probes. */
  shell: string[];
}

export function defaultProberOptions(): ProberOptions {
  return { clock: systemClock, maxOutputBytes: 4096, maxBodyBytes: 4096, shell: ["/bin/sh", "-c"] };
}

/** The argv an exec or shell probe runs. */
export function probeArgv(check: Healthcheck, shell: string[] = defaultProberOptions().shell): string[] {
  const p = check.probe;
  if (p.type === "exec") return [...p.argv];
  if (p.type === "shell") return [...shell, p.command];
  throw new Error(`probe type ${p.type} has no argv`);
}

function timeoutText(check: Healthcheck): string {
  return `Health check exceeded timeout (${check.timeoutMs}ms)`;
}

/**
 * Runs `work` with a signal that aborts when `signal` aborts or when `timeoutMs` elapses on
 * the clock, and maps the outcome: a timeout → failure, an outer abort → unknown.
 */
async function guarded(
  clock: Clock,
  check: Healthcheck,
  signal: AbortSignal,
  maxOutputBytes: number,
  work: (signal: AbortSignal) => Promise<Omit<ProbeResult, "durationMs">>,
): Promise<ProbeResult> {
  const t0 = clock.now();
  const done = (r: Omit<ProbeResult, "durationMs">): ProbeResult => ({
    result: r.result,
    output: capOutput(r.output, maxOutputBytes),
    durationMs: clock.now() - t0,
  });
  if (signal.aborted) return done({ result: "unknown", output: "probe cancelled" });
  const inner = new AbortController();
  let timedOut = false;
  const cancelTimer = clock.setTimer(check.timeoutMs, () => {
    timedOut = true;
    inner.abort(new Error(timeoutText(check)));
  });
  const onAbort = () => inner.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  // Settles at the timeout or outer abort even if `work` ignores its signal.
  let release!: () => void;
  const aborted = new Promise<void>((r) => (release = r));
  inner.signal.addEventListener("abort", () => release(), { once: true });
  try {
    const r = await Promise.race([
      work(inner.signal).catch((err: unknown) => ({ result: "failure" as const, output: errorMessage(err) })),
      aborted.then(() => undefined),
    ]);
    if (timedOut) return done({ result: "failure", output: timeoutText(check) });
    if (signal.aborted) return done({ result: "unknown", output: "probe cancelled" });
    return done(r!);
  } finally {
    cancelTimer();
    signal.removeEventListener("abort", onAbort);
  }
}

export class ExecProber implements Prober {
  private readonly options: ProberOptions;
  constructor(
    private readonly exec: ExecFn,
    options: Partial<ProberOptions> = {},
  ) {
    this.options = { ...defaultProberOptions(), ...options };
  }

  probe(check: Healthcheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    const o = this.options;
    return guarded(o.clock, check, signal, o.maxOutputBytes, async (s) => {
      let r: ExecResult;
      try {
        r = await this.exec(target.container, probeArgv(check, o.shell), {
          timeoutMs: check.timeoutMs,
          maxOutputBytes: o.maxOutputBytes,
          signal: s,
        });
      } catch (err) {
        if (isBerthError(err, "NotFound") || isBerthError(err, "FailedPrecondition")) {
          return { result: "unknown", output: errorMessage(err) };
        }
        throw err;
      }
      const output = r.stdout + r.stderr;
      if (r.timedOut) return { result: "failure", output: output ? `${timeoutText(check)}: ${output}` : timeoutText(check) };
      return { result: r.exitCode === 0 ? "success" : "failure", output };
    });
  }
}

export class HttpProber implements Prober {
  private readonly options: ProberOptions;
  constructor(options: Partial<ProberOptions> = {}) {
    this.options = { ...defaultProberOptions(), ...options };
  }

  probe(check: Healthcheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    const p = check.probe;
    if (p.type !== "http") throw new Error(`http prober given a ${p.type} probe`);
    const o = this.options;
    return guarded(o.clock, check, signal, o.maxOutputBytes, (s) =>
      new Promise((resolve) => {
        const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
        const path = p.path.startsWith("/") ? p.path : `/${p.path}`;
        const url = `${p.scheme}://${host}:${p.port}${path}`;
        const options: https.RequestOptions = {
          method: "GET",
          headers: { "user-agent": "berth-healthcheck", ...p.headers },
          signal: s,
          agent: false,
          rejectUnauthorized: false,
        };
        const req = (p.scheme === "https" ? https : http).request(url, options, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let finished = false;
          const finish = () => {
            if (finished) return;
            finished = true;
            const status = res.statusCode ?? 0;
            const body = Buffer.concat(chunks).subarray(0, o.maxBodyBytes).toString("utf8");
            const line = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`;
            resolve({ result: status >= 200 && status < 400 ? "success" : "failure", output: body ? `${line}: ${body}` : line });
            res.destroy();
          };
          res.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= o.maxBodyBytes) finish();
          });
          res.on("end", finish);
          res.on("close", finish);
          res.on("error", finish);
        });
        req.on("error", (err) => resolve({ result: "failure", output: `GET ${url}: ${errorMessage(err)}` }));
        req.end();
      }),
    );
  }
}

export class TcpProber implements Prober {
  private readonly options: ProberOptions;
  constructor(options: Partial<ProberOptions> = {}) {
    this.options = { ...defaultProberOptions(), ...options };
  }

  probe(check: Healthcheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    const p = check.probe;
    if (p.type !== "tcp") throw new Error(`tcp prober given a ${p.type} probe`);
    const o = this.options;
    return guarded(o.clock, check, signal, o.maxOutputBytes, (s) =>
      new Promise((resolve) => {
        const where = `${target.host}:${p.port}`;
        const socket = net.connect({ host: target.host, port: p.port });
        const onAbort = () => socket.destroy();
        s.addEventListener("abort", onAbort, { once: true });
        const settle = (r: Omit<ProbeResult, "durationMs">) => {
          s.removeEventListener("abort", onAbort);
          socket.destroy();
          resolve(r);
        };
        socket.once("connect", () => settle({ result: "success", output: `connected to ${where}` }));
        socket.once("error", (err) => settle({ result: "failure", output: `connect ${where}: ${errorMessage(err)}` }));
      }),
    );
  }
}

/** Dispatches on `check.probe.type`: exec and shell → exec, http, tcp. */
export class ProbeDispatcher implements Prober {
  private readonly exec: ExecProber;
  private readonly http: HttpProber;
  private readonly tcp: TcpProber;

  constructor(exec: ExecFn, options: Partial<ProberOptions> = {}) {
    this.exec = new ExecProber(exec, options);
    this.http = new HttpProber(options);
    this.tcp = new TcpProber(options);
  }

  probe(check: Healthcheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    switch (check.probe.type) {
      case "exec":
      case "shell":
        return this.exec.probe(check, target, signal);
      case "http":
        return this.http.probe(check, target, signal);
      case "tcp":
        return this.tcp.probe(check, target, signal);
    }
  }
}
