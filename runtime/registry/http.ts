import { invalidArgument, unavailable } from "../../lib/errors.js";

/**
 * HTTP for the registry client, on Node's global fetch (undici) with `redirect: "manual"`:
 *
 * - Redirects of GET and HEAD are followed here, at most `maxRedirects` times. Each target
 *   obeys the scheme rule (https, or plain http only where `allowsHttp` says so), and
 *   `Authorization` is dropped for good once a redirect leaves the first request's origin
 *   (blob storage gets no registry credentials). Other methods get the 3xx back.
 * - Time is bounded: `headersTimeoutMs` until the response headers, then `idleTimeoutMs`
 *   between two chunks of the body; the caller's signal aborts everything.
 * - `guard` sees every URL before it is connected to (tests use it to make sure nothing but
 *   loopback is ever reached) and throws to refuse it.
 * - A connection failure is Unavailable naming the URL; no status is an error here.
 *
 * Every response must be consumed (`bytes`, `text`, `json`, `body`) or `discard`ed so its
 * connection is released.
 */
export interface HttpOptions {
  fetch: typeof fetch;
  allowsHttp: (hostPort: string) => boolean;
  guard?: (url: URL) => void;
  maxRedirects: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  userAgent: string;
}

export function defaultHttpOptions(): Omit<HttpOptions, "allowsHttp"> {
  return {
    fetch: globalThis.fetch.bind(globalThis),
    maxRedirects: 10,
    headersTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
    userAgent: "berth",
  };
}

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  /** A fresh body per call: a request may be sent again (after an auth challenge). */
  body?: () => Uint8Array | ReadableStream<Uint8Array>;
  signal?: AbortSignal;
}

export class HttpResponse {
  private consumed = false;

  constructor(
    readonly status: number,
    readonly headers: Headers,
    /** The URL that answered (after redirects). */
    readonly url: URL,
    private readonly raw: Response,
    private readonly idle: IdleTimer,
    /** True when a redirect dropped the Authorization header. */
    readonly authDropped: boolean,
  ) {}

  /** The body as chunks; a stall longer than the idle timeout aborts it (Unavailable). */
  async *body(): AsyncGenerator<Uint8Array> {
    this.consumed = true;
    if (!this.raw.body) return;
    const reader = this.raw.body.getReader();
    try {
      for (;;) {
        this.idle.arm();
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (err) {
          throw unavailable(`read ${this.url.origin}${this.url.pathname}: ${this.idle.fired ? "no data for too long" : causeText(err)}`, { cause: err });
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      this.idle.stop();
      reader.releaseLock();
      await this.raw.body.cancel().catch(() => {});
    }
  }

  /** The whole body, refused (InvalidArgument) beyond `max` bytes without reading the rest. */
  async bytes(max: number, what: string): Promise<Buffer> {
    const declared = Number(this.headers.get("content-length") ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      await this.discard();
      throw invalidArgument(`${what}: the registry sent ${declared} bytes, more than the cap of ${max}`);
    }
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of this.body()) {
      n += c.byteLength;
      if (n > max) throw invalidArgument(`${what}: the registry sent more than the cap of ${max} bytes`);
      parts.push(c);
    }
    return Buffer.concat(parts);
  }

  async text(max: number, what: string): Promise<string> {
    return (await this.bytes(max, what)).toString("utf8");
  }

  async json(max: number, what: string): Promise<unknown> {
    const t = await this.text(max, what);
    try {
      return JSON.parse(t);
    } catch (err) {
      throw invalidArgument(`${what}: the registry's answer is not JSON`, { cause: err });
    }
  }

  /** Releases the connection without reading the body. Idempotent. */
  async discard(): Promise<void> {
    if (this.consumed) return;
    this.consumed = true;
    this.idle.stop();
    await this.raw.body?.cancel().catch(() => {});
  }
}

/** An AbortController that fires after a stretch of inactivity. */
class IdleTimer {
  readonly controller = new AbortController();
  fired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  arm(): void {
    this.stop();
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(unavailable(`no data for ${this.ms} ms`));
    }, this.ms);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function causeText(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const c = e?.cause;
  return c ? `${c.code ?? ""}${c.code && c.message ? " " : ""}${c.message ?? ""}` || String(e.message) : String(e?.message ?? err);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class RegistryHttp {
  constructor(readonly opts: HttpOptions) {}

  /** Refuses a URL the scheme rule or the guard forbids (InvalidArgument). */
  checkUrl(url: URL): void {
    if (url.protocol !== "https:" && !(url.protocol === "http:" && this.opts.allowsHttp(url.host))) {
      throw invalidArgument(`connect to ${url.origin}: plain ${url.protocol.replace(":", "")} is only used for loopback and insecure registries`);
    }
    if (url.username || url.password) throw invalidArgument(`connect to ${url.host}: credentials in a URL are refused`);
    this.opts.guard?.(url);
  }

  async request(input: URL, req: HttpRequest): Promise<HttpResponse> {
    const origin = input.origin;
    let url = input;
    let headers: Record<string, string> = { "user-agent": this.opts.userAgent, ...(req.headers ?? {}) };
    let authDropped = false;
    const follow = req.method === "GET" || req.method === "HEAD";
    for (let hop = 0; ; hop++) {
      this.checkUrl(url);
      const idle = new IdleTimer(this.opts.idleTimeoutMs);
      const signals = [idle.controller.signal, ...(req.signal ? [req.signal] : [])];
      const signal = AbortSignal.any(signals);
      const headersTimer = setTimeout(() => {
        idle.fired = true;
        idle.controller.abort(unavailable(`no response headers within ${this.opts.headersTimeoutMs} ms`));
      }, this.opts.headersTimeoutMs);
      let raw: Response;
      try {
        const body = req.body?.();
        const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, redirect: "manual", signal };
        if (body !== undefined) {
          init.body = body as NonNullable<RequestInit["body"]>;
          if (!(body instanceof Uint8Array)) init.duplex = "half";
        }
        raw = await this.opts.fetch(url, init);
      } catch (err) {
        req.signal?.throwIfAborted();
        throw unavailable(`${req.method} ${url.origin}${url.pathname}: ${idle.fired ? `no response headers within ${this.opts.headersTimeoutMs} ms` : causeText(err)}`, { cause: err });
      } finally {
        clearTimeout(headersTimer);
      }
      const location = raw.headers.get("location");
      if (!follow || !REDIRECTS.has(raw.status) || !location) {
        return new HttpResponse(raw.status, raw.headers, url, raw, idle, authDropped);
      }
      await raw.body?.cancel().catch(() => {});
      if (hop >= this.opts.maxRedirects) throw unavailable(`${req.method} ${input.origin}${input.pathname}: more than ${this.opts.maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw invalidArgument(`${req.method} ${url.origin}${url.pathname}: redirect to an invalid URL`);
      }
      if (next.origin !== origin && headers.authorization !== undefined) {
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
        authDropped = true;
      }
      url = next;
    }
  }
}
