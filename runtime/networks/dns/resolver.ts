/**
 * berth's embedded DNS resolver (issue 9), after aardvark-dns: one DnsServer in the host
 * network namespace listens on each bridge network's gateway address, UDP and TCP, and
 * answers containers whose /etc/resolv.conf points at their gateway. What to answer is
 * answer.ts (a pure plan per question); forwarding is forwarder.ts; this file owns sockets.
 *
 * Contract:
 * - `listen(address)` binds UDP and TCP on address:port (one port for both, also with port 0).
 *   Idempotent per address (a second call shares the first's promise). Rejects with a
 *   BerthError naming address and port, the errno in the message and as `cause`:
 *   Conflict for EADDRINUSE, FailedPrecondition for EADDRNOTAVAIL (the address is not on
 *   this host yet, e.g. the bridge is not up) and EACCES, InvalidArgument for a
 *   non-IP address, FailedPrecondition after close(). A failed listen leaves nothing bound.
 * - `unlisten(address)` closes that address's sockets and TCP connections; idempotent.
 *   `close()` unlistens everything and aborts forwards in flight; listen is refused after.
 * - The view is asked at query time, for every query; nothing is cached.
 * - Hostile input never throws out of a handler: packets under 12 bytes and responses
 *   (QR=1) are dropped; opcode other than QUERY → NOTIMP; qdcount ≠ 1 or an undecodable
 *   packet, or a question dns-packet would not echo byte for byte → FORMERR; an internal
 *   failure → SERVFAIL. TCP limits (idle timeout, connections, buffering): listener.ts.
 * - Forwards are bounded by maxInFlight: beyond it a UDP query is dropped (the client
 *   retries) and a TCP one gets SERVFAIL. No upstreams at all: SERVFAIL. A client with
 *   upstreams of its own (a container's dns setting) is forwarded to those instead.
 */
import * as net from "node:net";
import { readFileSync } from "node:fs";
import * as dnsPacket from "dns-packet";
import type { DecodedPacket } from "dns-packet";
import { systemClock } from "../../../lib/clock.js";
import { failedPrecondition, invalidArgument } from "../../../lib/errors.js";
import { planAnswer, RCODE, type AnswerPlan } from "./answer.js";
import { forward } from "./forwarder.js";
import { bindListener, closeListener, type Listener } from "./listener.js";
import { hostUpstreams, parseUpstream } from "./resolv-conf.js";
import type { DnsAnswerView, DnsLog, DnsServerOptions, Upstream } from "./types.js";
import { encodeReply, headerReply, servfail, truncateRelayed, udpLimit, type Header } from "./wire.js";

export type { DnsAnswerView, DnsClient, DnsLog, DnsServerOptions, Upstream } from "./types.js";
export { hostUpstreams, parseUpstream } from "./resolv-conf.js";

export function defaultDnsServerOptions(): Omit<Required<DnsServerOptions>, "view" | "log" | "upstreams"> {
  return { port: 53, forwardTimeoutMs: 2000, maxInFlight: 256, ttlSeconds: 0, tcpIdleTimeoutMs: 10_000, maxTcpConnections: 64, clock: systemClock };
}

const WARN_EVERY_MS = 30_000;

export class DnsServer {
  private readonly view: DnsAnswerView;
  private readonly upstreams: Upstream[];
  private readonly opts: ReturnType<typeof defaultDnsServerOptions>;
  private readonly log: DnsLog;
  private readonly listeners = new Map<string, Promise<Listener>>();
  private readonly ready = new Map<string, Listener>();
  private readonly forwards = new Set<AbortController>();
  private readonly lastWarn = new Map<string, number>();
  private inFlight = 0;
  private closed = false;

  /** Throws InvalidArgument for an upstream that does not parse. Reads /etc/resolv.conf when `upstreams` is not given. */
  constructor(options: DnsServerOptions) {
    const d = defaultDnsServerOptions();
    this.opts = {
      port: options.port ?? d.port,
      forwardTimeoutMs: options.forwardTimeoutMs ?? d.forwardTimeoutMs,
      maxInFlight: options.maxInFlight ?? d.maxInFlight,
      ttlSeconds: options.ttlSeconds ?? d.ttlSeconds,
      tcpIdleTimeoutMs: options.tcpIdleTimeoutMs ?? d.tcpIdleTimeoutMs,
      maxTcpConnections: options.maxTcpConnections ?? d.maxTcpConnections,
      clock: options.clock ?? d.clock,
    };
    this.view = options.view;
    this.log = options.log ?? { warn: () => {} };
    this.upstreams = (options.upstreams ?? hostUpstreams(readResolvConf())).map(parseUpstream);
  }

  listen(address: string): Promise<void> {
    if (this.closed) return Promise.reject(failedPrecondition(`listen dns on ${address}: the resolver is closed`));
    if (net.isIP(address) === 0) return Promise.reject(invalidArgument(`listen dns on ${JSON.stringify(address)}: expected an IP address`));
    let entry = this.listeners.get(address);
    if (!entry) {
      entry = bindListener(address, {
        port: this.opts.port,
        maxTcpConnections: this.opts.maxTcpConnections,
        idleTimeoutMs: this.opts.tcpIdleTimeoutMs,
        clock: this.opts.clock,
        handle: (msg, h, source, transport) => this.handle(msg, h, source, transport),
        dropped: (obj, msg) => this.debug(obj, msg),
        warn: (obj, msg) => this.log.warn(obj, msg),
      });
      this.listeners.set(address, entry);
      entry.then(
        (l) => {
          if (this.listeners.get(address) === entry) this.ready.set(address, l);
        },
        () => {
          if (this.listeners.get(address) === entry) this.listeners.delete(address);
        },
      );
    }
    return entry.then(() => undefined);
  }

  async unlisten(address: string): Promise<void> {
    const entry = this.listeners.get(address);
    if (!entry) return;
    this.listeners.delete(address);
    this.ready.delete(address);
    const l = await entry.catch(() => undefined);
    if (l) await closeListener(l);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ac of this.forwards) ac.abort();
    await Promise.all([...this.listeners.keys()].map((a) => this.unlisten(a)));
  }

  /** Addresses with bound listeners. */
  addresses(): string[] {
    return [...this.ready.keys()];
  }

  /** The port UDP and TCP listen on at `address` (the picked one when options.port is 0). */
  port(address: string): number | undefined {
    return this.ready.get(address)?.port;
  }

  /** The reply to one message whose header parsed as a query; undefined: send nothing. Never throws. */
  private async handle(msg: Buffer, h: Header, source: string, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    try {
      return await this.reply(msg, h, source, transport);
    } catch (err) {
      this.warnSometimes("internal", { source, err }, "dns: failed to handle a query; SERVFAIL");
      return headerReply(h, RCODE.SERVFAIL);
    }
  }

  private async reply(msg: Buffer, h: Header, source: string, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    if (h.opcode !== 0) return headerReply(h, RCODE.NOTIMP);
    if (h.qdcount !== 1) return headerReply(h, RCODE.FORMERR);
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch (err) {
      this.debug({ source, err: String(err) }, "dns: undecodable query");
      return headerReply(h, RCODE.FORMERR);
    }
    if (!questionRoundTrips(msg, query)) {
      this.debug({ source }, "dns: question does not re-encode byte for byte");
      return headerReply(h, RCODE.FORMERR);
    }
    const question = query.questions![0]!;
    const limit = transport === "udp" ? udpLimit(query) : 65535;
    let plan: AnswerPlan;
    const client = this.clientOf(source);
    try {
      plan = planAnswer(question, client, this.opts.ttlSeconds);
    } catch (err) {
      this.warnSometimes("view", { source, name: question.name, err }, "dns: the view failed to resolve; SERVFAIL");
      return servfail(query);
    }
    this.debug({ source, name: question.name, type: question.type, transport, plan: plan.kind, reason: plan.reason }, "dns query");
    if (plan.kind === "answer") {
      try {
        return encodeReply(query, plan.rcode, plan.authoritative, plan.answers, limit);
      } catch (err) {
        this.warnSometimes("encode", { source, name: question.name, err }, "dns: cannot encode the answer; SERVFAIL");
        return servfail(query);
      }
    }
    let upstreams = this.upstreams;
    if (client?.upstreams?.length) {
      try {
        upstreams = client.upstreams.map(parseUpstream);
      } catch (err) {
        this.warnSometimes("view", { source, err }, "dns: a client's upstream does not parse; SERVFAIL");
        return servfail(query);
      }
    }
    if (upstreams.length === 0) return servfail(query);
    if (this.inFlight >= this.opts.maxInFlight) {
      this.warnSometimes("inflight", { source, maxInFlight: this.opts.maxInFlight }, "dns: too many forwards in flight; query dropped");
      return transport === "tcp" ? servfail(query) : undefined;
    }
    const ac = new AbortController();
    this.inFlight++;
    this.forwards.add(ac);
    try {
      const { reply, failures } = await forward({ query: msg, transport, upstreams, timeoutMs: this.opts.forwardTimeoutMs, clock: this.opts.clock, signal: ac.signal });
      if (!reply) {
        if (!ac.signal.aborted) this.warnSometimes("upstreams", { name: question.name, failures }, "dns: every upstream failed; SERVFAIL");
        return servfail(query);
      }
      return reply.length > limit ? truncateRelayed(reply, query) : reply;
    } finally {
      this.inFlight--;
      this.forwards.delete(ac);
    }
  }

  private clientOf(source: string) {
    try {
      return this.view.clientOf(source);
    } catch (err) {
      this.warnSometimes("view", { source, err }, "dns: the view failed to name the client; REFUSED");
      return undefined;
    }
  }

  private debug(obj: object, msg: string): void {
    this.log.debug?.(obj, msg);
  }

  /** A warning at most once per 30s per kind: a looping client must not flood the log. */
  private warnSometimes(kind: string, obj: object, msg: string): void {
    const now = this.opts.clock.now();
    const last = this.lastWarn.get(kind);
    if (last !== undefined && now - last < WARN_EVERY_MS) return this.debug(obj, msg);
    this.lastWarn.set(kind, now);
    this.log.warn(obj, msg);
  }
}

/**
 * Whether dns-packet re-encodes the question exactly as sent. Replies echo the question
 * re-encoded, so one that does not (non-UTF-8 bytes, a '.' inside a label, a compression
 * pointer) would be echoed wrong — no hostname looks like that: FORMERR.
 */
function questionRoundTrips(msg: Buffer, query: DecodedPacket): boolean {
  const encoded = dnsPacket.encode({ type: "query", id: 0, questions: query.questions ?? [] }).subarray(12);
  return msg.length >= 12 + encoded.length && msg.subarray(12, 12 + encoded.length).equals(encoded);
}

function readResolvConf(): string {
  try {
    return readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    return "";
  }
}
