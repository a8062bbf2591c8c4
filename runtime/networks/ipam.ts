/**
 * Address management for berth's bridge networks (issue 9): a subnet per network, taken from
 * address pools berth owns, and an address per attachment, persisted so that no address is
 * handed out twice or leaked across daemon crashes and restarts.
 *
 * Contract:
 * - `allocateNetwork(name, {subnet?, gateway?})`: an explicit subnet must not overlap another
 *   network's nor a block the host uses (`reserved()`: its routes and interface addresses),
 *   else Conflict naming the clash; without one, the first block of the pools (in order) that
 *   overlaps nothing is taken (FailedPrecondition when the pools are exhausted). The gateway
 *   defaults to the first host address. Idempotent: the same name returns its allocation; a
 *   different explicit request for an allocated name is Conflict.
 * - `allocateAddress(network, owner, address?)`: one address per owner (an attachment key
 *   such as `container/web`), idempotent per owner — after a crash the same owner gets the
 *   same address back. Never the network, broadcast or gateway address; an explicit one in
 *   use by another owner is Conflict; the next free one after the last handed out otherwise
 *   (Docker's sequential allocation, wrapping), FailedPrecondition when the subnet is full.
 * - `releaseAddress` and `releaseNetwork` are idempotent; a network with addresses still
 *   allocated is released only with `force`.
 * - Every change is written (write-temp → fsync → rename) before it is visible or returned:
 *   a crash loses at most a change nobody was told of. Changes are serialized. A file that is
 *   unreadable is moved aside (`<file>.corrupt-<time>`) and the state starts empty, said in
 *   `recovery` — the network reconciler re-registers what the host still has.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../../lib/atomic-file.js";
import { conflict, errorMessage, failedPrecondition, invalidArgument, notFound } from "../../lib/errors.js";
import { contains, formatCidr, formatIPv4, lastOf, overlaps, parseCidr, parseIPv4, subnetsOf, type Cidr } from "./cidr.js";

export interface AddressPool {
  /** A block berth may carve networks from, e.g. `172.17.0.0/16`. */
  base: string;
  /** The prefix length of each network carved from it. */
  size: number;
}

/** Docker's default address pools: 172.17–31.0.0/16, then 192.168.0.0/16 in /20s. */
export function defaultAddressPools(): AddressPool[] {
  const pools: AddressPool[] = [];
  for (let b = 17; b <= 31; b++) pools.push({ base: `172.${b}.0.0/16`, size: 16 });
  pools.push({ base: "192.168.0.0/16", size: 20 });
  return pools;
}

export interface NetworkAllocation {
  name: string;
  subnet: string;
  gateway: string;
  /** Address by owner. */
  addresses: Record<string, string>;
}

interface Doc {
  version: 1;
  networks: Record<string, { subnet: string; gateway: string; addresses: Record<string, string>; next?: string }>;
}

export interface IpamOptions {
  pools: AddressPool[];
  /** Blocks the host uses (routes, interface addresses): never allocated. */
  reserved: () => Cidr[] | Promise<Cidr[]>;
}

export class Ipam {
  private doc: Doc;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly options: IpamOptions,
    doc: Doc,
    /** Set when the file was unreadable and moved aside. */
    readonly recovery: { quarantined?: string; problem?: string },
  ) {
    this.doc = doc;
  }

  static async open(file: string, options: Partial<IpamOptions> = {}): Promise<Ipam> {
    const o: IpamOptions = { pools: defaultAddressPools(), reserved: () => [], ...options };
    for (const p of o.pools) {
      const c = parseCidr(p.base);
      if (!(p.size >= c.prefix && p.size <= 30)) throw invalidArgument(`address pool ${p.base}: size ${p.size} must be between ${c.prefix} and 30`);
    }
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    let text: string | undefined;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (text === undefined) return new Ipam(file, o, { version: 1, networks: {} }, {});
    try {
      const doc = JSON.parse(text) as Doc;
      if (doc?.version !== 1 || typeof doc.networks !== "object" || doc.networks === null) throw new Error(`unsupported format version ${JSON.stringify(doc?.version)}`);
      for (const [name, n] of Object.entries(doc.networks)) {
        const c = parseCidr(n.subnet);
        if (!contains(c, parseIPv4(n.gateway))) throw new Error(`network ${name}: gateway outside its subnet`);
        for (const a of Object.values(n.addresses)) if (!contains(c, parseIPv4(a))) throw new Error(`network ${name}: address ${a} outside its subnet`);
      }
      return new Ipam(file, o, doc, {});
    } catch (err) {
      const quarantined = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      await fs.rename(file, quarantined);
      return new Ipam(file, o, { version: 1, networks: {} }, { quarantined, problem: errorMessage(err) });
    }
  }

  get(name: string): NetworkAllocation | undefined {
    const n = this.doc.networks[name];
    return n ? { name, subnet: n.subnet, gateway: n.gateway, addresses: { ...n.addresses } } : undefined;
  }

  list(): NetworkAllocation[] {
    return Object.keys(this.doc.networks)
      .sort()
      .map((n) => this.get(n)!);
  }

  allocateNetwork(name: string, request: { subnet?: string; gateway?: string } = {}): Promise<NetworkAllocation> {
    return this.change(async (doc) => {
      const existing = doc.networks[name];
      if (existing) {
        if ((request.subnet && request.subnet !== existing.subnet) || (request.gateway && request.gateway !== existing.gateway)) {
          throw conflict(`allocate network ${name}: it has subnet ${existing.subnet} and gateway ${existing.gateway} already; remove it to change them`);
        }
        return false;
      }
      const taken = Object.entries(doc.networks).map(([n, v]) => ({ what: `network ${n}`, cidr: parseCidr(v.subnet) }));
      const reserved = (await this.options.reserved()).map((c) => ({ what: `the host's ${formatCidr(c)}`, cidr: c }));
      let subnet: Cidr | undefined;
      if (request.subnet) {
        subnet = parseCidr(request.subnet);
        if (subnet.prefix > 30) throw invalidArgument(`allocate network ${name}: subnet ${request.subnet} is too small (at most /30)`);
        const clash = [...taken, ...reserved].find((t) => overlaps(t.cidr, subnet!));
        if (clash) throw conflict(`allocate network ${name}: subnet ${request.subnet} overlaps ${clash.what}${clash.what.startsWith("network") ? ` (${formatCidr(clash.cidr)})` : ""}`);
      } else {
        outer: for (const p of this.options.pools) {
          for (const c of subnetsOf(parseCidr(p.base), p.size)) {
            if ([...taken, ...reserved].some((t) => overlaps(t.cidr, c))) continue;
            subnet = c;
            break outer;
          }
        }
        if (!subnet) throw failedPrecondition(`allocate network ${name}: every address pool is used up (${this.options.pools.map((p) => p.base).join(", ")})`);
      }
      const gateway = request.gateway ? this.hostAddress(name, subnet, request.gateway, "gateway") : subnet.base + 1;
      doc.networks[name] = { subnet: formatCidr(subnet), gateway: formatIPv4(gateway), addresses: {} };
      return true;
    }).then(() => this.get(name)!);
  }

  releaseNetwork(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.change(async (doc) => {
      const n = doc.networks[name];
      if (!n) return false;
      const users = Object.keys(n.addresses);
      if (users.length && !options.force) throw failedPrecondition(`release network ${name}: addresses are still allocated to ${users.sort().join(", ")}`);
      delete doc.networks[name];
      return true;
    });
  }

  allocateAddress(network: string, owner: string, address?: string): Promise<string> {
    return this.change(async (doc) => {
      const n = doc.networks[network];
      if (!n) throw notFound(`allocate an address on network ${network}: no such network`);
      const had = n.addresses[owner];
      if (had && (!address || address === had)) return false;
      const subnet = parseCidr(n.subnet);
      const gateway = parseIPv4(n.gateway);
      const used = new Map(Object.entries(n.addresses).filter(([o]) => o !== owner).map(([o, a]) => [parseIPv4(a), o] as const));
      let pick: number | undefined;
      if (address) {
        pick = this.hostAddress(network, subnet, address, "address");
        if (pick === gateway) throw conflict(`allocate ${address} on network ${network}: it is the network's gateway`);
        const other = used.get(pick);
        if (other) throw conflict(`allocate ${address} on network ${network}: it is in use by ${other}`);
      } else {
        const first = subnet.base + 1;
        const last = lastOf(subnet) - 1;
        const start = n.next ? parseIPv4(n.next) : first;
        const span = last - first + 1;
        for (let i = 0; i < span; i++) {
          const a = first + ((start - first + i) % span);
          if (a !== gateway && !used.has(a)) {
            pick = a;
            break;
          }
        }
        if (pick === undefined) throw failedPrecondition(`allocate an address on network ${network}: its subnet ${n.subnet} is full`);
        n.next = formatIPv4(pick === last ? first : pick + 1);
      }
      n.addresses[owner] = formatIPv4(pick);
      return true;
    }).then(() => this.doc.networks[network]!.addresses[owner]!);
  }

  releaseAddress(network: string, owner: string): Promise<void> {
    return this.change(async (doc) => {
      const n = doc.networks[network];
      if (!n || !(owner in n.addresses)) return false;
      delete n.addresses[owner];
      return true;
    });
  }

  /** A host address of `subnet` given as text: inside it, and not its network or broadcast address. */
  private hostAddress(network: string, subnet: Cidr, text: string, what: string): number {
    const a = parseIPv4(text);
    if (!contains(subnet, a)) throw invalidArgument(`network ${network}: ${what} ${text} is not in its subnet ${formatCidr(subnet)}`);
    if (a === subnet.base || a === lastOf(subnet)) throw invalidArgument(`network ${network}: ${what} ${text} is the subnet's ${a === subnet.base ? "network" : "broadcast"} address`);
    return a;
  }

  /** Runs `fn` on a copy of the state; when it reports a change, persists it, then makes it current. */
  private change(fn: (doc: Doc) => Promise<boolean>): Promise<void> {
    const run = this.queue.then(async () => {
      const next = structuredClone(this.doc);
      if (!(await fn(next))) return;
      await writeJsonAtomic(this.file, next, { mode: 0o600 });
      this.doc = next;
    });
    this.queue = run.catch(() => {});
    return run;
  }
}
