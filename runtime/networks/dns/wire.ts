/**
 * The resolver's own wire handling around dns-packet: the 12-byte header read before any
 * full decode (so a response or a multi-question packet is judged without trusting the
 * rest), replies built from a plan, and truncation to the client's UDP size (512 bytes, or
 * the EDNS size of the query's OPT record, capped at 4096; RFC 1035 4.2.1, RFC 6891 6.2.5).
 */
import * as dnsPacket from "dns-packet";
import type { Answer, DecodedPacket } from "dns-packet";
import { RCODE } from "./answer.js";

export interface Header {
  id: number;
  /** The 16 flag bits as sent (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode). */
  flags: number;
  qr: boolean;
  opcode: number;
  qdcount: number;
}

const QR = 1 << 15;
const RD = 1 << 8;
const CD = 1 << 4;
const OPCODE_MASK = 0xf << 11;

export const NO_EDNS_UDP_SIZE = 512;
export const MAX_EDNS_UDP_SIZE = 4096;
/** The EDNS size berth announces in its own replies. */
const OWN_EDNS_UDP_SIZE = 4096;

/** The header of any buffer of 12 bytes or more; undefined for anything shorter. */
export function readHeader(buf: Buffer): Header | undefined {
  if (buf.length < 12) return undefined;
  const flags = buf.readUInt16BE(2);
  return { id: buf.readUInt16BE(0), flags, qr: (flags & QR) !== 0, opcode: (flags >> 11) & 0xf, qdcount: buf.readUInt16BE(4) };
}

/** Flags of a reply to a query with these flags: opcode, RD and CD kept, RA set. */
function replyFlags(queryFlags: number, rcode: number, authoritative: boolean): number {
  return (queryFlags & (OPCODE_MASK | RD | CD)) | dnsPacket.RECURSION_AVAILABLE | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (rcode & 0xf);
}

/** A header-only reply (FORMERR, NOTIMP): for queries whose question cannot be trusted. */
export function headerReply(h: Header, rcode: number): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(h.id, 0);
  buf.writeUInt16BE(QR | replyFlags(h.flags, rcode, false), 2);
  return buf;
}

function optOf(query: DecodedPacket): Extract<Answer, { type: "OPT" }> | undefined {
  for (const a of query.additionals ?? []) if (a.type === "OPT") return a;
  return undefined;
}

/** Largest UDP reply this query's sender takes. */
export function udpLimit(query: DecodedPacket): number {
  const opt = optOf(query);
  if (!opt) return NO_EDNS_UDP_SIZE;
  return Math.min(Math.max(opt.udpPayloadSize, NO_EDNS_UDP_SIZE), MAX_EDNS_UDP_SIZE);
}

/**
 * The reply to `query` with these answers, at most `limit` bytes: answers that do not fit
 * are left off (whole records, from the end) and TC is set, so the client retries over TCP
 * while one that does not still gets the first addresses. An OPT record is echoed when the
 * query had one. Throws only when dns-packet cannot encode a record (e.g. a view's name with
 * a label over 63 bytes); the caller answers SERVFAIL then.
 */
export function encodeReply(query: DecodedPacket, rcode: number, authoritative: boolean, answers: Answer[], limit: number): Buffer {
  const additionals: Answer[] = optOf(query) ? [{ type: "OPT", name: ".", udpPayloadSize: OWN_EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
  const flags = replyFlags(query.flags ?? 0, rcode, authoritative);
  const build = (n: number, tc: boolean) =>
    dnsPacket.encode({ type: "response", id: query.id ?? 0, flags: flags | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0), questions: query.questions ?? [], answers: answers.slice(0, n), additionals });
  const full = build(answers.length, false);
  if (full.length <= limit) return full;
  // A records are the same size each: one division finds how many fit, the loop settles the rest.
  let n = Math.max(0, Math.floor((answers.length * (limit - build(0, true).length)) / Math.max(1, full.length - build(0, true).length)));
  let out = build(n, true);
  while (n > 0 && out.length > limit) out = build(--n, true);
  return out;
}

/** SERVFAIL for a query that parsed: the question echoed, nothing else. */
export function servfail(query: DecodedPacket): Buffer {
  return encodeReply(query, RCODE.SERVFAIL, false, [], Number.MAX_SAFE_INTEGER);
}

/**
 * An upstream's reply that exceeds what the client takes over UDP (an upstream ignoring the
 * query's size): its header with TC set and the question only, so the client retries on TCP.
 */
export function truncateRelayed(reply: Buffer, query: DecodedPacket): Buffer {
  const flags = reply.readUInt16BE(2) & 0x7fff;
  return dnsPacket.encode({ type: "response", id: reply.readUInt16BE(0), flags: flags | dnsPacket.TRUNCATED_RESPONSE, questions: query.questions ?? [] });
}
