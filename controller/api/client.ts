import * as http from "node:http";
import { createInterface } from "node:readline";
import { BerthError, unavailable, type ErrorKind } from "../../lib/errors.js";
import type { Kind } from "../../schemas/kinds.js";
import { KIND_NAMES } from "../../schemas/kinds.js";
import type { ExecResult, LogLine } from "../../runtime/types.js";
import type { ApplyRequest, ApplyResponse, ChangeEntry, ErrorBody, EventRecord, ExecRequest, ObjectView, VersionInfo } from "./protocol.js";

const KINDS_OF_ERRORS = new Set<ErrorKind>(["NotFound", "AlreadyExists", "InvalidArgument", "FailedPrecondition", "Conflict", "Unavailable", "NotImplemented", "Internal"]);

/**
 * Client of the daemon's API over its unix socket. Errors come back as BerthErrors of the
 * kind the server sent; a daemon that cannot be reached is Unavailable, saying how to start it.
 */
export class ApiClient {
  constructor(readonly socketPath: string) {}

  private unreachable(err: NodeJS.ErrnoException): BerthError {
    return unavailable(
      `connect ${this.socketPath}: ${err.code === "ENOENT" || err.code === "ECONNREFUSED" ? "no berth daemon is listening" : err.message}; start one with \`berth daemon\` (or \`berth up -f ...\`)`,
    );
  }

  private open(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.on("error", (err: NodeJS.ErrnoException) => reject(err.name === "AbortError" ? err : this.unreachable(err)));
      req.end(payload);
    });
  }

  private async fail(res: http.IncomingMessage): Promise<never> {
    let text = "";
    for await (const chunk of res) text += chunk;
    let body: ErrorBody | undefined;
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      /* not ours */
    }
    const kind = body?.error?.kind && KINDS_OF_ERRORS.has(body.error.kind) ? body.error.kind : "Internal";
    throw new BerthError(kind, body?.error?.message ?? `HTTP ${res.statusCode}: ${text.slice(0, 200)}`, body?.error?.object ? { object: body.error.object } : {});
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.open(method, path, body, signal);
    if ((res.statusCode ?? 500) >= 400) return this.fail(res);
    let text = "";
    for await (const chunk of res) text += chunk;
    return JSON.parse(text) as T;
  }

  /** An NDJSON stream as objects; ends when the server ends it or `signal` aborts. */
  async *stream<T>(path: string, signal?: AbortSignal): AsyncIterable<T> {
    const res = await this.open("GET", path, undefined, signal);
    if ((res.statusCode ?? 500) >= 400) await this.fail(res);
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) if (line) yield JSON.parse(line) as T;
    } catch (err) {
      if ((err as Error).name !== "AbortError" && !signal?.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  version = () => this.request<VersionInfo>("GET", "/v1/version");
  apply = (req: ApplyRequest) => this.request<ApplyResponse>("POST", "/v1/apply", req);
  list = async (kind: Kind, selector: Record<string, string> = {}) => {
    const q = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(",");
    return (await this.request<{ items: ObjectView[] }>("GET", `/v1/${KIND_NAMES[kind].plural}${q ? `?selector=${encodeURIComponent(q)}` : ""}`)).items;
  };
  get = (kind: Kind, name: string) => this.request<ObjectView>("GET", `/v1/${KIND_NAMES[kind].plural}/${encodeURIComponent(name)}`);
  delete = (kind: Kind, name: string) => this.request<ChangeEntry>("DELETE", `/v1/${KIND_NAMES[kind].plural}/${encodeURIComponent(name)}`);
  events = async () => (await this.request<{ items: EventRecord[] }>("GET", "/v1/events")).items;
  watchEvents = (signal?: AbortSignal) => this.stream<EventRecord>("/v1/events?watch=true", signal);
  logs = (name: string, o: { follow?: boolean; tail?: number; since?: number } = {}, signal?: AbortSignal) => {
    const q = new URLSearchParams();
    if (o.follow) q.set("follow", "true");
    if (o.tail !== undefined) q.set("tail", String(o.tail));
    if (o.since !== undefined) q.set("since", String(Math.floor(o.since)));
    return this.stream<LogLine>(`/v1/containers/${encodeURIComponent(name)}/logs?${q}`, signal);
  };
  exec = (name: string, req: ExecRequest) => this.request<ExecResult>("POST", `/v1/containers/${encodeURIComponent(name)}/exec`, req);
  act = (name: string, action: "stop" | "start" | "restart") => this.request<ObjectView>("POST", `/v1/containers/${encodeURIComponent(name)}/${action}`, {});
}
