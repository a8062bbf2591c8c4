import { describe, expect, it } from "vitest";
import type { Question } from "dns-packet";
import { normalizeName, planAnswer, RCODE, reverseAddress } from "./answer.js";
import type { DnsClient } from "./types.js";

const names: Record<string, string[]> = { web: ["172.18.0.2", "172.18.0.3"], db: ["172.18.0.9"], odd: ["not-an-ip", "fd00::1", "172.18.0.2", "172.18.0.2"] };
const base: DnsClient = {
  mayForward: true,
  resolve: (n) => names[n] ?? [],
  reverse: (a) => Object.entries(names).find(([, v]) => v.includes(a))?.[0],
};

interface Row {
  what: string;
  q: Question;
  client?: Partial<DnsClient> | "unknown";
  expect: { kind: "forward" } | { kind: "answer"; rcode: number; aa: boolean; answers: string[] };
}

// Base: a client on a forwarding network that sees web, db and odd.
const rows: Row[] = [
  { what: "A of a container name", q: { type: "A", name: "web" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: ["A web 172.18.0.2", "A web 172.18.0.3"] } },
  { what: "A, mixed case, keeps the asked spelling", q: { type: "A", name: "DB" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: ["A DB 172.18.0.9"] } },
  { what: "A, trailing dot", q: { type: "A", name: "db." }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: ["A db. 172.18.0.9"] } },
  { what: "AAAA of a container name: empty NOERROR", q: { type: "AAAA", name: "web" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: [] } },
  { what: "MX of a container name: empty NOERROR", q: { type: "MX", name: "web" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: [] } },
  { what: "a view's non-IPv4 and duplicate addresses are left out", q: { type: "A", name: "odd" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: ["A odd 172.18.0.2"] } },
  { what: "PTR of a container address", q: { type: "PTR", name: "9.0.18.172.in-addr.arpa" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: ["PTR 9.0.18.172.in-addr.arpa db"] } },
  { what: "PTR, upper case zone", q: { type: "PTR", name: "9.0.18.172.IN-ADDR.ARPA" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: ["PTR 9.0.18.172.IN-ADDR.ARPA db"] } },
  { what: "A of a container's reverse name: empty NOERROR", q: { type: "A", name: "9.0.18.172.in-addr.arpa" }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: [] } },
  { what: "PTR of an address no container has: forward", q: { type: "PTR", name: "8.8.8.8.in-addr.arpa" }, expect: { kind: "forward" } },
  { what: "PTR of a malformed reverse name: forward", q: { type: "PTR", name: "09.0.18.172.in-addr.arpa" }, expect: { kind: "forward" } },
  { what: "PTR without reverse support: forward", q: { type: "PTR", name: "9.0.18.172.in-addr.arpa" }, client: { reverse: undefined }, expect: { kind: "forward" } },
  { what: "unknown name: forward", q: { type: "A", name: "example.org" }, expect: { kind: "forward" } },
  { what: "the root: forward", q: { type: "NS", name: "." }, expect: { kind: "forward" } },
  { what: "class CH (version.bind style): not ours", q: { type: "TXT", name: "web", class: "CH" }, expect: { kind: "forward" } },
  { what: "internal: unknown name is NXDOMAIN", q: { type: "A", name: "example.org" }, client: { mayForward: false }, expect: { kind: "answer", rcode: RCODE.NXDOMAIN, aa: true, answers: [] } },
  { what: "internal: unknown PTR is NXDOMAIN", q: { type: "PTR", name: "8.8.8.8.in-addr.arpa" }, client: { mayForward: false }, expect: { kind: "answer", rcode: RCODE.NXDOMAIN, aa: true, answers: [] } },
  { what: "internal: container names still answer", q: { type: "A", name: "web" }, client: { mayForward: false }, expect: { kind: "answer", rcode: RCODE.NOERROR, aa: true, answers: ["A web 172.18.0.2", "A web 172.18.0.3"] } },
  { what: "unknown client: REFUSED, even for a container name", q: { type: "A", name: "web" }, client: "unknown", expect: { kind: "answer", rcode: RCODE.REFUSED, aa: false, answers: [] } },
  { what: "unknown client: REFUSED, never forward", q: { type: "A", name: "example.org" }, client: "unknown", expect: { kind: "answer", rcode: RCODE.REFUSED, aa: false, answers: [] } },
];

describe("planAnswer", () => {
  it.each(rows)("$what", (row) => {
    const client = row.client === "unknown" ? undefined : { ...base, ...row.client };
    const plan = planAnswer(row.q, client, 0);
    if (row.expect.kind === "forward") return expect(plan.kind).toBe("forward");
    expect(plan.kind).toBe("answer");
    if (plan.kind !== "answer") return;
    expect({ rcode: plan.rcode, aa: plan.authoritative, answers: plan.answers.map((a) => `${a.type} ${a.name} ${(a as { data: string }).data}`) }).toEqual({ rcode: row.expect.rcode, aa: row.expect.aa, answers: row.expect.answers });
  });

  it("passes resolve the lowercased name without its dot, and sets the TTL", () => {
    const asked: string[] = [];
    const plan = planAnswer({ type: "A", name: "Web." }, { mayForward: true, resolve: (n) => (asked.push(n), ["10.0.0.1"]) }, 7);
    expect(asked).toEqual(["web"]);
    expect(plan.kind === "answer" && plan.answers.map((a) => (a as { ttl: number }).ttl)).toEqual([7]);
  });
});

describe("names", () => {
  it.each([
    ["Web.", "web"],
    ["a.B.c", "a.b.c"],
    [".", ""],
  ])("normalizeName(%j) = %j", (input, out) => expect(normalizeName(input)).toBe(out));

  it.each([
    ["4.3.2.1.in-addr.arpa", "1.2.3.4"],
    ["0.0.0.0.in-addr.arpa", "0.0.0.0"],
    ["3.2.1.in-addr.arpa", undefined],
    ["256.0.0.1.in-addr.arpa", undefined],
    ["x.3.2.1.in-addr.arpa", undefined],
    ["4.3.2.1.ip6.arpa", undefined],
    ["in-addr.arpa", undefined],
  ])("reverseAddress(%j) = %j", (input, out) => expect(reverseAddress(input)).toBe(out));
});
