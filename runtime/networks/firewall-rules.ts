/**
 * The iptables rules of berth's bridge networks and published ports (issue 9), as pure
 * functions: input validation, the rule lines each berth chain must hold, and plans that
 * turn observed `iptables -S` output plus the desired state into `iptables-restore
 * --noflush` input per table. firewall.ts runs the plans; nothing here runs a program.
 *
 * Spec: moby's generated iptables docs (`integration/network/bridge/iptablesdoc/generated`)
 * with Docker 28's raw-table guards (moby#49829, #48724) and these deliberate differences:
 * - No userland proxy: host-local clients of a published port are DNATed in nat OUTPUT,
 *   including 127.0.0.0/8 (Docker excludes it there), which needs `route_localnet` on that
 *   bridge and a loopback MASQUERADE. Remote packets to 127.0.0.0/8 for a loopback-reachable
 *   port are dropped in raw PREROUTING (moby#41872, #45610); containers can neither send to
 *   nor spoof 127.0.0.0/8 through their bridge.
 * - Per-container chains in all three tables (`BERTH-P-<10 hex of sha256(owner)>`: nat
 *   DNATs, filter accepts, raw loopback guards), each reached through one jump, commented
 *   with the owner, from a dispatch chain holding only such jumps (nat `BERTH-DNAT`, filter
 *   and raw `BERTH-PORTS`). So network chains and port chains never need each other's state:
 *   syncNetworks and setPorts can run in any order, also right after a daemon restart.
 * - Isolation in two stages (`BERTH-ISOLATION` → `BERTH-ISOLATION-2`, as Docker does): 2N
 *   rules instead of N² pairs.
 * - The loopback MASQUERADE is present for every non-internal network (it only ever matches
 *   DNATed host-local traffic), so it needs no knowledge of ports.
 *
 * Contract:
 * - Every rule line is written in the form `iptables -S` prints it (option order, `/32`,
 *   `-m tcp`, quoted comments), so observed and desired chains compare as strings and an
 *   unchanged chain is not rewritten.
 * - Plans are deterministic (networks sorted by bridge, mappings by protocol/address/port)
 *   whatever order the caller passes: the same desired state always yields the same rules.
 * - Hooks: berth's jumps are the first rules of their built-in chain, in a fixed order, each
 *   exactly once; other rules of those chains, and every chain policy, are never touched.
 * - Validation throws InvalidArgument (Conflict for a host port another owner publishes)
 *   before any line is produced.
 */
import { createHash } from "node:crypto";
import { conflict, invalidArgument } from "../../lib/errors.js";
import { contains, formatCidr, formatIPv4, overlaps, parseCidr, parseIPv4 } from "./cidr.js";

export type Table = "filter" | "nat" | "raw";
export const TABLES: readonly Table[] = ["filter", "nat", "raw"];

export interface FirewallNetwork {
  /** The network's name (messages only). */
  name: string;
  /** Its Linux bridge, e.g. `berth0`. */
  bridge: string;
  /** Its IPv4 block, e.g. `172.18.0.0/16`. */
  subnet: string;
  /** No traffic in or out of the network beyond its bridge (no published ports). */
  internal: boolean;
}

export interface PortRule {
  protocol: "tcp" | "udp";
  /** The host address to publish on (IPv4); absent or `0.0.0.0`: every host address. */
  hostIP?: string;
  hostPort: number;
  containerIP: string;
  containerPort: number;
}

/**
 * The prefix of every chain berth owns: `BERTH`, or `BERTH_FIREWALL_PREFIX` from the
 * environment (2–8 capitals and digits), read once. It lets two berth daemons on two roots
 * share a host — berth's own test suites run daemons side by side — each converging only
 * its own chains; one daemon per host needs nothing.
 */
export const PREFIX = chainPrefix(process.env.BERTH_FIREWALL_PREFIX);

export function chainPrefix(text: string | undefined): string {
  if (text === undefined || text === "") return "BERTH";
  if (!/^[A-Z][A-Z0-9]{1,7}$/.test(text)) throw invalidArgument(`BERTH_FIREWALL_PREFIX ${JSON.stringify(text)}: expected 2 to 8 capital letters and digits, like BERTH`);
  return text;
}

const P = `${PREFIX}-`;

export const CHAINS = {
  user: `${P}USER`,
  forward: `${P}FORWARD`,
  isolation: `${P}ISOLATION`,
  isolation2: `${P}ISOLATION-2`,
  ports: `${P}PORTS`,
  dnat: `${P}DNAT`,
  postrouting: `${P}POSTROUTING`,
  raw: `${P}RAW`,
} as const;

/** The chains berth creates in each table besides per-owner ones. */
export const FIXED_CHAINS: Record<Table, readonly string[]> = {
  filter: [CHAINS.user, CHAINS.forward, CHAINS.isolation, CHAINS.isolation2, CHAINS.ports],
  nat: [CHAINS.dnat, CHAINS.postrouting],
  raw: [CHAINS.raw, CHAINS.ports],
};

/** Berth's rules at the top of built-in chains, in order. */
export const HOOKS: Record<Table, Record<string, readonly string[]>> = {
  filter: { FORWARD: [`-A FORWARD -j ${CHAINS.user}`, `-A FORWARD -j ${CHAINS.forward}`] },
  nat: {
    PREROUTING: [`-A PREROUTING -m addrtype --dst-type LOCAL -j ${CHAINS.dnat}`],
    OUTPUT: [`-A OUTPUT -m addrtype --dst-type LOCAL -j ${CHAINS.dnat}`],
    POSTROUTING: [`-A POSTROUTING -j ${CHAINS.postrouting}`],
  },
  raw: { PREROUTING: [`-A PREROUTING -j ${CHAINS.raw}`] },
};

const LOOPBACK = "127.0.0.0/8";
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const OWNER_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@/=+-]{0,199}$/;
const OWNER_CHAIN_RE = new RegExp(`^${P}P-[0-9a-f]{10}$`);
const OWNER_JUMP_RE = new RegExp(`^-A \\S+ -m comment --comment "?([^" ]+)"? -j (${P}P-[0-9a-f]{10})$`);

// ---------------------------------------------------------------------------------------
// Validation

export function checkOwner(owner: unknown): string {
  if (typeof owner !== "string" || !OWNER_RE.test(owner)) throw invalidArgument(`check port owner ${JSON.stringify(owner)}: expected up to 200 characters [A-Za-z0-9_.:@/=+-], like container/web`);
  return owner;
}

function checkBridge(bridge: unknown, what: string): string {
  if (typeof bridge !== "string" || !IFNAME_RE.test(bridge) || bridge === "." || bridge === ".." || bridge === "lo") {
    throw invalidArgument(`check ${what} bridge ${JSON.stringify(bridge)}: expected an interface name of at most 15 characters [A-Za-z0-9_.-]`);
  }
  return bridge;
}

/** A validated copy with the subnet in canonical form. */
export function checkNetwork(n: FirewallNetwork): FirewallNetwork {
  if (typeof n !== "object" || n === null) throw invalidArgument(`check network ${JSON.stringify(n)}: expected {name, bridge, subnet, internal}`);
  if (typeof n.name !== "string" || !NAME_RE.test(n.name)) throw invalidArgument(`check network ${JSON.stringify(n.name)}: expected a name of at most 63 characters [A-Za-z0-9_.-]`);
  const bridge = checkBridge(n.bridge, `network ${n.name}`);
  if (typeof n.subnet !== "string") throw invalidArgument(`check network ${n.name}: subnet must be a CIDR block`);
  const subnet = formatCidr(parseCidr(n.subnet));
  if (typeof n.internal !== "boolean") throw invalidArgument(`check network ${n.name}: internal must be a boolean`);
  return { name: n.name, bridge, subnet, internal: n.internal };
}

/** Validates the whole set: no two networks share a name, bridge or addresses. */
export function checkNetworks(networks: readonly FirewallNetwork[]): FirewallNetwork[] {
  if (!Array.isArray(networks)) throw invalidArgument("check networks: expected an array");
  const out = networks.map(checkNetwork);
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = out[i]!;
      const b = out[j]!;
      if (a.name === b.name) throw invalidArgument(`check network ${a.name}: listed twice`);
      if (a.bridge === b.bridge) throw invalidArgument(`check network ${a.name}: bridge ${a.bridge} is also network ${b.name}'s`);
      if (overlaps(parseCidr(a.subnet), parseCidr(b.subnet))) throw invalidArgument(`check network ${a.name}: subnet ${a.subnet} overlaps network ${b.name}'s ${b.subnet}`);
    }
  }
  return out.sort((a, b) => (a.bridge < b.bridge ? -1 : a.bridge > b.bridge ? 1 : 0));
}

function checkPort(p: unknown, what: string): number {
  if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`${what} ${JSON.stringify(p)}: expected a port 1-65535`);
  return p;
}

/**
 * Validated, canonical copies (hostIP `0.0.0.0` dropped), sorted. The container address must
 * be in the network's subnet; no two mappings may claim the same protocol and host port on
 * overlapping host addresses; an internal network publishes nothing.
 */
export function checkPortRules(owner: string, network: FirewallNetwork, rules: readonly PortRule[]): PortRule[] {
  if (!Array.isArray(rules)) throw invalidArgument(`publish ports of ${owner}: expected an array of mappings`);
  const subnet = parseCidr(network.subnet);
  if (network.internal && rules.length > 0) throw invalidArgument(`publish ports of ${owner}: network ${network.name} is internal and cannot publish ports`);
  const out = rules.map((r): PortRule => {
    if (typeof r !== "object" || r === null) throw invalidArgument(`publish ports of ${owner}: mapping ${JSON.stringify(r)} is not an object`);
    if (r.protocol !== "tcp" && r.protocol !== "udp") throw invalidArgument(`publish ports of ${owner}: protocol ${JSON.stringify(r.protocol)}: expected tcp or udp`);
    const hostPort = checkPort(r.hostPort, `publish ports of ${owner}: host port`);
    const containerPort = checkPort(r.containerPort, `publish ports of ${owner}: container port`);
    let hostIP: string | undefined;
    if (r.hostIP !== undefined) {
      if (typeof r.hostIP !== "string") throw invalidArgument(`publish ports of ${owner}: host address ${JSON.stringify(r.hostIP)}: expected an IPv4 address`);
      const n = parseIPv4(r.hostIP);
      if (n !== 0) hostIP = formatIPv4(n);
    }
    if (typeof r.containerIP !== "string") throw invalidArgument(`publish ports of ${owner}: container address ${JSON.stringify(r.containerIP)}: expected an IPv4 address`);
    const cip = parseIPv4(r.containerIP);
    if (!contains(subnet, cip)) throw invalidArgument(`publish ports of ${owner}: container address ${r.containerIP} is not in network ${network.name}'s subnet ${network.subnet}`);
    const rule: PortRule = { protocol: r.protocol, hostPort, containerIP: formatIPv4(cip), containerPort };
    if (hostIP !== undefined) rule.hostIP = hostIP;
    return rule;
  });
  out.sort(compareRules);
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < i; j++) {
      if (clash(out[i]!, out[j]!)) throw invalidArgument(`publish ports of ${owner}: ${describe(out[i]!)} is listed twice`);
    }
  }
  return out;
}

function compareRules(a: PortRule, b: PortRule): number {
  const ka = [a.protocol, String(parseIPv4(a.hostIP ?? "0.0.0.0")).padStart(10, "0"), String(a.hostPort).padStart(5, "0"), a.containerIP, String(a.containerPort)].join(" ");
  const kb = [b.protocol, String(parseIPv4(b.hostIP ?? "0.0.0.0")).padStart(10, "0"), String(b.hostPort).padStart(5, "0"), b.containerIP, String(b.containerPort)].join(" ");
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function clash(a: { protocol: string; hostIP?: string; hostPort: number }, b: { protocol: string; hostIP?: string; hostPort: number }): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIP === undefined || b.hostIP === undefined || a.hostIP === b.hostIP);
}

function describe(r: { protocol: string; hostIP?: string; hostPort: number }): string {
  return `${r.protocol} ${r.hostIP ?? "0.0.0.0"}:${r.hostPort}`;
}

/** Reachable at 127.0.0.1 of the host: published on every address or on a loopback one. */
export function loopbackReachable(r: { hostIP?: string }): boolean {
  return r.hostIP === undefined || contains(parseCidr(LOOPBACK), parseIPv4(r.hostIP));
}

// ---------------------------------------------------------------------------------------
// Desired rule lines

export function ownerChain(owner: string): string {
  return `${P}P-${createHash("sha256").update(owner).digest("hex").slice(0, 10)}`;
}

/** The contents of the network chains, from the full set of networks (validated, sorted). */
export function networkChains(networks: readonly FirewallNetwork[]): Record<Table, Record<string, string[]>> {
  const fwd = [`-A ${CHAINS.forward} -j ${CHAINS.isolation}`, `-A ${CHAINS.forward} -j ${CHAINS.ports}`];
  const iso: string[] = [];
  const iso2: string[] = [];
  const post: string[] = [];
  const raw = [`-A ${CHAINS.raw} -i lo -j RETURN`, `-A ${CHAINS.raw} -j ${CHAINS.ports}`];
  for (const n of networks) {
    const br = n.bridge;
    fwd.push(
      `-A ${CHAINS.forward} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A ${CHAINS.forward} -i ${br} ! -o ${br} -m conntrack --ctstate INVALID -j DROP`,
      `-A ${CHAINS.forward} -i ${br} -o ${br} -j ACCEPT`,
      `-A ${CHAINS.forward} -i ${br} ! -o ${br} -j ${n.internal ? "DROP" : "ACCEPT"}`,
      `-A ${CHAINS.forward} ! -i ${br} -o ${br} -j DROP`,
    );
    iso.push(`-A ${CHAINS.isolation} -i ${br} ! -o ${br} -j ${CHAINS.isolation2}`);
    iso2.push(`-A ${CHAINS.isolation2} -o ${br} -j DROP`);
    if (!n.internal) post.push(`-A ${CHAINS.postrouting} -s ${n.subnet} ! -o ${br} -j MASQUERADE`, `-A ${CHAINS.postrouting} -s ${LOOPBACK} -o ${br} -j MASQUERADE`);
    raw.push(`-A ${CHAINS.raw} -d ${n.subnet} ! -i ${br} -j DROP`, `-A ${CHAINS.raw} -s ${LOOPBACK} -i ${br} -j DROP`, `-A ${CHAINS.raw} -d ${LOOPBACK} -i ${br} -j DROP`);
  }
  return {
    filter: { [CHAINS.forward]: fwd, [CHAINS.isolation]: iso, [CHAINS.isolation2]: iso2 },
    nat: { [CHAINS.postrouting]: post },
    raw: { [CHAINS.raw]: raw },
  };
}

/** The contents of one owner's chains (validated, sorted rules) and its dispatch jumps. */
export function ownerChains(owner: string, network: FirewallNetwork, rules: readonly PortRule[]): { chain: string; rules: Record<Table, string[]>; jumps: Record<Table, string> } {
  const chain = ownerChain(owner);
  const br = network.bridge;
  const nat: string[] = [];
  const filter: string[] = [];
  const raw: string[] = [];
  const add = (list: string[], line: string) => {
    if (!list.includes(line)) list.push(line);
  };
  for (const r of rules) {
    const p = `-p ${r.protocol} -m ${r.protocol}`;
    add(nat, `-A ${chain}${r.hostIP ? ` -d ${r.hostIP}/32` : ""} ! -i ${br} ${p} --dport ${r.hostPort} -j DNAT --to-destination ${r.containerIP}:${r.containerPort}`);
    add(filter, `-A ${chain} -d ${r.containerIP}/32 ! -i ${br} -o ${br} ${p} --dport ${r.containerPort} -j ACCEPT`);
    if (loopbackReachable(r)) add(raw, `-A ${chain} -d ${LOOPBACK} ! -i lo ${p} --dport ${r.hostPort} -j DROP`);
  }
  const comment = `-m comment --comment "${owner}"`;
  return {
    chain,
    rules: { filter, nat, raw },
    jumps: { filter: `-A ${CHAINS.ports} ${comment} -j ${chain}`, nat: `-A ${CHAINS.dnat} ${comment} -j ${chain}`, raw: `-A ${CHAINS.ports} ${comment} -j ${chain}` },
  };
}

// ---------------------------------------------------------------------------------------
// Observed state

export interface TableState {
  /** Every chain, built-in or not. */
  chains: Set<string>;
  /** Rule lines (`-A CHAIN ...`) per chain, in order. */
  rules: Map<string, string[]>;
}
export type Observed = Record<Table, TableState>;

/** Parses `iptables -S` output of one table. */
export function parseRules(output: string): TableState {
  const state: TableState = { chains: new Set(), rules: new Map() };
  for (const line of output.split("\n")) {
    const m = /^-([PNA]) (\S+)/.exec(line.trim());
    if (!m) continue;
    const chain = m[2]!;
    state.chains.add(chain);
    if (!state.rules.has(chain)) state.rules.set(chain, []);
    if (m[1] === "A") state.rules.get(chain)!.push(line.trim());
  }
  return state;
}

const rulesOf = (t: TableState, chain: string) => t.rules.get(chain) ?? [];
const targetOf = (line: string) => / -j (\S+)(?: |$)/.exec(line)?.[1];

/** Owner chain → owner, from the comments of the dispatch jumps of every table. */
export function ownersOf(observed: Observed): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of TABLES) {
    const dispatch = t === "nat" ? CHAINS.dnat : CHAINS.ports;
    for (const line of rulesOf(observed[t], dispatch)) {
      const m = OWNER_JUMP_RE.exec(line);
      if (m && !out.has(m[2]!)) out.set(m[2]!, m[1]!);
    }
  }
  return out;
}

export interface Mapping {
  chain: string;
  bridge: string;
  protocol: "tcp" | "udp";
  hostIP?: string;
  hostPort: number;
  target: string;
}

/** The DNAT mappings of every owner chain in the nat table. */
export function mappingsOf(nat: TableState): Mapping[] {
  const out: Mapping[] = [];
  for (const [chain, lines] of nat.rules) {
    if (!OWNER_CHAIN_RE.test(chain)) continue;
    for (const line of lines) {
      const m = /^-A \S+(?: -d ([0-9.]+)\/32)? ! -i (\S+) -p (tcp|udp) -m (?:tcp|udp) --dport ([0-9]+) -j DNAT --to-destination ([0-9.]+:[0-9]+)$/.exec(line);
      if (!m) continue;
      const mapping: Mapping = { chain, bridge: m[2]!, protocol: m[3] as "tcp" | "udp", hostPort: Number(m[4]), target: m[5]! };
      if (m[1] !== undefined) mapping.hostIP = m[1];
      out.push(mapping);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Plans

export interface Plan {
  /** `iptables-restore --noflush` input per table, only for tables that change. */
  restore: Partial<Record<Table, string>>;
  /** `sysctl -w` arguments, e.g. `net/ipv4/conf/berth0/route_localnet=1`. */
  sysctl: string[];
  /** `sysctl -w` arguments whose failure is fine (a bridge that is gone). */
  sysctlBestEffort: string[];
  /** `conntrack` argument lists (deleting stale UDP flows). */
  conntrack: string[][];
}

/** Restore commands per table, tracking the chains they create. */
class Edits {
  readonly lines: Record<Table, string[]> = { filter: [], nat: [], raw: [] };
  private readonly created: Record<Table, Set<string>> = { filter: new Set(), nat: new Set(), raw: new Set() };
  constructor(readonly observed: Observed) {}

  exists(t: Table, chain: string): boolean {
    return this.observed[t].chains.has(chain) || this.created[t].has(chain);
  }

  create(t: Table, chain: string): void {
    if (this.exists(t, chain)) return;
    this.lines[t].push(`-N ${chain}`);
    this.created[t].add(chain);
  }

  /** The chain holds exactly `desired` afterwards; nothing is written when it already does. */
  replace(t: Table, chain: string, desired: readonly string[]): void {
    if (!this.exists(t, chain)) {
      this.create(t, chain);
    } else {
      const now = rulesOf(this.observed[t], chain);
      if (!this.created[t].has(chain) && now.length === desired.length && now.every((l, i) => l === desired[i])) return;
      if (now.length > 0) this.lines[t].push(`-F ${chain}`);
    }
    this.lines[t].push(...desired);
  }

  /** `line` is in the chain exactly once (appended when missing). */
  ensureOnce(t: Table, chain: string, line: string): void {
    const n = rulesOf(this.observed[t], chain).filter((l) => l === line).length;
    if (n === 0) this.lines[t].push(line);
    for (let i = 1; i < n; i++) this.lines[t].push(toDelete(line));
  }

  /** Deletes every occurrence of `line`. */
  removeAll(t: Table, chain: string, line: string): void {
    for (const l of rulesOf(this.observed[t], chain)) if (l === line) this.lines[t].push(toDelete(l));
  }

  plan(extra: Partial<Omit<Plan, "restore">> = {}): Plan {
    const restore: Partial<Record<Table, string>> = {};
    for (const t of TABLES) if (this.lines[t].length > 0) restore[t] = `*${t}\n${this.lines[t].join("\n")}\nCOMMIT\n`;
    return { restore, sysctl: extra.sysctl ?? [], sysctlBestEffort: extra.sysctlBestEffort ?? [], conntrack: extra.conntrack ?? [] };
  }
}

const toDelete = (line: string) => line.replace(/^-A /, "-D ");

/** Fixed chains and hooks: every chain berth references exists, each hook once, on top. */
function base(e: Edits): void {
  for (const t of TABLES) {
    for (const chain of FIXED_CHAINS[t]) e.create(t, chain);
    for (const [builtin, hooks] of Object.entries(HOOKS[t])) {
      const now = rulesOf(e.observed[t], builtin);
      const ours = now.filter((l) => targetOf(l)?.startsWith(P));
      const inPlace = ours.length === hooks.length && hooks.every((h, i) => now[i] === h);
      if (inPlace) continue;
      for (const l of ours) e.lines[t].push(toDelete(l));
      for (const h of [...hooks].reverse()) e.lines[t].push(h.replace(/^-A (\S+) /, "-I $1 1 "));
    }
  }
}

export function planBase(observed: Observed): Plan {
  const e = new Edits(observed);
  base(e);
  return e.plan();
}

/** Networks must be validated and sorted (checkNetworks). */
export function planNetworks(observed: Observed, networks: readonly FirewallNetwork[]): Plan {
  const e = new Edits(observed);
  base(e);
  const desired = networkChains(networks);
  for (const t of TABLES) for (const [chain, lines] of Object.entries(desired[t])) e.replace(t, chain, lines);
  return e.plan();
}

/**
 * Replaces one owner's chains (rules validated by checkPortRules); `[]` removes them and
 * their jumps. Conflict when another owner publishes a clashing host port. UDP flows of
 * every added, changed or removed UDP mapping are deleted (a flow created before a mapping
 * existed would bypass it; one of a removed mapping would keep reaching the old target).
 * `route_localnet` of each bridge the owner used or uses follows whether any owner still has
 * a loopback-reachable mapping on it.
 */
export function planPorts(observed: Observed, owner: string, network: FirewallNetwork, rules: readonly PortRule[]): Plan {
  const e = new Edits(observed);
  base(e);
  const desired = ownerChains(owner, network, rules);
  const chain = desired.chain;
  const owners = ownersOf(observed);
  const holder = owners.get(chain);
  if (holder !== undefined && holder !== owner) throw conflict(`publish ports of ${owner}: chain ${chain} belongs to ${holder} (hash collision)`);
  const all = mappingsOf(observed.nat);
  const others = all.filter((m) => m.chain !== chain);
  for (const r of rules) {
    const other = others.find((m) => clash(m, r));
    if (other) throw conflict(`publish ${describe(r)} for ${owner}: already published by ${owners.get(other.chain) ?? other.chain}`);
  }
  for (const t of TABLES) {
    const dispatch = t === "nat" ? CHAINS.dnat : CHAINS.ports;
    const jumps = rulesOf(observed[t], dispatch).filter((l) => targetOf(l) === chain);
    if (rules.length === 0) {
      for (const l of jumps) e.lines[t].push(toDelete(l));
      if (e.exists(t, chain)) {
        if (rulesOf(observed[t], chain).length > 0) e.lines[t].push(`-F ${chain}`);
        e.lines[t].push(`-X ${chain}`);
      }
    } else {
      e.replace(t, chain, desired.rules[t]);
      for (const l of jumps) if (l !== desired.jumps[t]) e.lines[t].push(toDelete(l));
      e.ensureOnce(t, dispatch, desired.jumps[t]);
    }
  }
  // UDP flows to delete: the symmetric difference of old and new UDP mappings.
  const before = all.filter((m) => m.chain === chain);
  const after: Mapping[] = rules.map((r) => ({ chain, bridge: network.bridge, protocol: r.protocol, hostPort: r.hostPort, target: `${r.containerIP}:${r.containerPort}`, ...(r.hostIP ? { hostIP: r.hostIP } : {}) }));
  const key = (m: Mapping) => `${m.protocol} ${m.hostIP ?? ""} ${m.hostPort} ${m.bridge} ${m.target}`;
  const beforeKeys = new Set(before.map(key));
  const afterKeys = new Set(after.map(key));
  const conntrack: string[][] = [];
  for (const m of [...before.filter((m) => !afterKeys.has(key(m))), ...after.filter((m) => !beforeKeys.has(key(m)))]) {
    if (m.protocol !== "udp") continue;
    const args = ["-D", "-p", "udp", ...(m.hostIP ? ["--orig-dst", m.hostIP] : []), "--orig-port-dst", String(m.hostPort)];
    if (!conntrack.some((a) => a.join(" ") === args.join(" "))) conntrack.push(args);
  }
  // route_localnet per touched bridge, from every owner's mappings after this change.
  const remaining = [...others, ...after];
  const sysctl: string[] = [];
  const sysctlBestEffort: string[] = [];
  for (const br of [...new Set([network.bridge, ...before.map((m) => m.bridge)])].sort()) {
    const on = remaining.some((m) => m.bridge === br && loopbackReachable(m));
    if (on) sysctl.push(routeLocalnet(br, true));
    else if (before.some((m) => m.bridge === br && loopbackReachable(m))) sysctlBestEffort.push(routeLocalnet(br, false));
  }
  return e.plan({ conntrack, sysctl, sysctlBestEffort });
}

export function routeLocalnet(bridge: string, on: boolean): string {
  // Slashes: a bridge name may contain dots, which sysctl would read as separators.
  return `net/ipv4/conf/${bridge}/route_localnet=${on ? 1 : 0}`;
}

/**
 * Removes berth's chains from every table, and every rule of other chains that jumps to one
 * (its hooks); `BERTH-USER` and its hook stay unless `all`. route_localnet goes back to 0 on every bridge berth's forward chain names.
 */
export function planTeardown(observed: Observed, all: boolean): Plan {
  const e = new Edits(observed);
  const keep = (chain: string) => !all && chain === CHAINS.user;
  for (const t of TABLES) {
    for (const other of [...observed[t].chains].filter((c) => !c.startsWith(P))) {
      for (const l of rulesOf(observed[t], other)) {
        const target = targetOf(l);
        if (target?.startsWith(P) && !keep(target)) e.lines[t].push(toDelete(l));
      }
    }
    const ours = [...observed[t].chains].filter((c) => c.startsWith(P) && !keep(c)).sort();
    for (const c of ours) if (rulesOf(observed[t], c).length > 0) e.lines[t].push(`-F ${c}`);
    for (const c of ours) e.lines[t].push(`-X ${c}`);
  }
  const bridges = new Set<string>();
  for (const l of rulesOf(observed.filter, CHAINS.forward)) {
    const m = /^-A \S+ -i (\S+) -o (\S+) -j ACCEPT$/.exec(l);
    if (m && m[1] === m[2]) bridges.add(m[1]!);
  }
  return e.plan({ sysctlBestEffort: [...bridges].sort().map((b) => routeLocalnet(b, false)) });
}

/** Berth's lines of one table's `-S` output: its chains, their rules, and its hooks. */
export function berthLines(t: TableState): string[] {
  const out: string[] = [];
  for (const chain of t.chains) if (!chain.startsWith(P)) for (const l of rulesOf(t, chain)) if (targetOf(l)?.startsWith(P)) out.push(l);
  const ours = [...t.chains].filter((c) => c.startsWith(P)).sort();
  for (const c of ours) out.push(`-N ${c}`);
  for (const c of ours) out.push(...rulesOf(t, c));
  return out;
}

