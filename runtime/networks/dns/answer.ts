/**
 * What to do with one question, decided from the client the view names (pure: no sockets,
 * no time). The resolver encodes `answer` plans itself and hands `forward` plans to the
 * upstream forwarder.
 *
 * Rules, in order:
 * 1. Unknown client (the source address is no container's): REFUSED. Never forwarded: the
 *    resolver listens on gateway addresses the host's LAN may reach, and must not be an open
 *    resolver for it.
 * 2. A container name or alias the client sees (class IN): A → every address, authoritative;
 *    any other type (AAAA, MX, …) → NOERROR without answers, so the client's resolver does
 *    not fall through to upstream and leak the name there.
 * 3. `d.c.b.a.in-addr.arpa` of a container address the client sees: PTR → its name; other
 *    types → NOERROR without answers.
 * 4. Anything else: forward when the client may (`mayForward`); otherwise NXDOMAIN, decided
 *    here, without a packet leaving the host — the fix of CVE-2024-29018, where a container on
 *    internal networks only could reach the outside through the resolver.
 */
import { isIP } from "node:net";
import type { Answer, Question } from "dns-packet";
import type { DnsClient } from "./types.js";

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export type AnswerPlan =
  | { kind: "answer"; rcode: number; authoritative: boolean; answers: Answer[]; reason: string }
  | { kind: "forward"; reason: string };

const REVERSE_ZONE = ".in-addr.arpa";
const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** `Web.` → `web`: how names reach DnsClient.resolve. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** `4.3.2.1.in-addr.arpa` → `1.2.3.4`; undefined for any other name (normalized input). */
export function reverseAddress(name: string): string | undefined {
  if (!name.endsWith(REVERSE_ZONE)) return undefined;
  const labels = name.slice(0, -REVERSE_ZONE.length).split(".");
  if (labels.length !== 4 || !labels.every((l) => OCTET.test(l) && Number(l) <= 255)) return undefined;
  return labels.reverse().join(".");
}

function local(answers: Answer[], reason: string): AnswerPlan {
  return { kind: "answer", rcode: RCODE.NOERROR, authoritative: true, answers, reason };
}

export function planAnswer(question: Question, client: DnsClient | undefined, ttlSeconds: number): AnswerPlan {
  if (!client) return { kind: "answer", rcode: RCODE.REFUSED, authoritative: false, answers: [], reason: "unknown client" };
  const name = normalizeName(question.name);
  const classIn = question.class === undefined || question.class === "IN";
  if (classIn && name !== "" && name !== ".") {
    const reversed = reverseAddress(name);
    if (reversed !== undefined) {
      const target = client.reverse?.(reversed);
      if (target) {
        const answers: Answer[] = question.type === "PTR" ? [{ type: "PTR", name: question.name, ttl: ttlSeconds, data: target }] : [];
        return local(answers, "container address");
      }
    } else {
      const addresses = [...new Set(client.resolve(name).filter((a) => isIP(a) === 4))];
      if (addresses.length > 0) {
        const answers: Answer[] = question.type === "A" ? addresses.map((data) => ({ type: "A", name: question.name, ttl: ttlSeconds, data })) : [];
        return local(answers, "container name");
      }
    }
  }
  if (client.mayForward) return { kind: "forward", reason: "not a container name" };
  return { kind: "answer", rcode: RCODE.NXDOMAIN, authoritative: true, answers: [], reason: "internal networks only: not forwarded" };
}
