/**
 * The embedded bridge network driver (issue 9): one Linux bridge per network with its own
 * subnet (ipam.ts), veth attachments into the containers' persistent namespaces
 * (bridge.ts), a resolver on each network's gateway (dns/), and published ports as DNAT
 * rules in berth's own iptables chains (firewall.ts) with the host ports held (port-holder.ts).
 *
 * Contract (NetworkDriver in runtime/types.ts), and:
 * - State is persisted before it is acted on (state.ts, ipam.ts); `open` adopts what the
 *   host has: bridges and resolvers of every network again (a reboot removed them), the
 *   firewall regenerated from the full state (never duplicated), published ports held again.
 *   Attachments lost with a reboot are made again by the next `connect` (the controller
 *   connects before every start).
 * - Attachments, addresses and ports belong to a container's name, so a recreated container
 *   gets its address (and its random host ports) back, and an address can be reserved before
 *   the container exists (its /etc/hosts names it).
 * - Names reach interfaces only as hashes: bridge `bb<12 hex>` of (root, network), host veth
 *   end `bv<12 hex>` of (root, container, network); the root is in the hash so that two
 *   daemons on two roots never share an interface.
 * - Every change of the state runs in one queue: concurrent calls see each other's results.
 *   The slow host work of a connect (the veth link) and of a create (the bridge) runs outside
 *   it, in order per host interface and per network name (connect, create), so one network's
 *   containers attach side by side, and while another network is being made.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { isIP } from "node:net";
import * as path from "node:path";
import { conflict, failedPrecondition, invalidArgument, notFound } from "../../lib/errors.js";
import { isDnsName, isValidName } from "../../lib/names.js";
import type { AttachmentState, AttachSpec, NetworkCreateSpec, NetworkDriver, NetworkState, PortMappingSpec, PublishedPort } from "../types.js";
import { AsyncLock, KeyedLock } from "../content/async-lock.js";
import { attach, detach, ensureBridge, gatewayCidr, linkMaster, removeBridge, type Attachment } from "./bridge.js";
import { parseCidr, parseIPv4 } from "./cidr.js";
import type { FirewallNetwork, PortRule } from "./firewall-rules.js";
import { hostBlocks } from "./host-blocks.js";
import { withHostNetworkLock } from "./host-lock.js";
import { Ipam, type AddressPool } from "./ipam.js";
import { holdPublished, type HeldPort } from "./port-holder.js";
import { readDriverDoc, writeDriverDoc, type AttachmentMeta, type DriverDoc } from "./state.js";

/** What the driver needs of the firewall (firewall.ts). */
export interface FirewallPort {
  ensureBase(): Promise<void>;
  syncNetworks(networks: FirewallNetwork[]): Promise<void>;
  setPorts(owner: string, network: FirewallNetwork, rules: PortRule[]): Promise<void>;
}
export type { FirewallNetwork, PortRule };

/** What the driver needs of the resolver (dns/resolver.ts). */
export interface ResolverPort {
  listen(address: string): Promise<void>;
  unlisten(address: string): Promise<void>;
  close(): Promise<void>;
}

/** The resolver's view: who is asking (by source address), and what they may resolve. */
export interface NetworkDnsView {
  clientOf(source: string): { resolve(name: string): string[]; reverse(address: string): string | undefined; mayForward: boolean; upstreams?: string[] } | undefined;
}

export interface NetworkDriverOptions {
  /** State goes under `<root>/networks`. */
  root: string;
  pools?: AddressPool[];
  firewall: FirewallPort;
  /** Made once the driver's view exists; none: no resolver (resolv.conf then has no nameserver of berth's). */
  resolver?: (view: NetworkDnsView) => ResolverPort;
  log?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
  now?: () => string;
  /** Blocks the host uses (default: its routes and addresses, read with ip). */
  hostBlocks?: (ownBridges: ReadonlySet<string>) => Promise<ReturnType<typeof parseCidr>[]>;
}

const hex12 = (...parts: string[]) => createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 12);

export class EmbeddedNetworkDriver implements NetworkDriver {
  private queue: Promise<unknown> = Promise.resolve();
  /** Attaches and detaches of one host interface, in order (connect makes the link outside the queue). */
  private readonly linkLocks = new KeyedLock();
  /** Work done outside the queue (links being made, bridges being brought up): close waits for it. */
  private readonly outside = new Set<Promise<unknown>>();
  /** Creates and removes of one network name, in order (a create makes its bridge outside the queue). */
  private readonly netLocks = new KeyedLock();
  /** This process's turns at the host-wide lock (withHostLock). */
  private readonly hostLock = new AsyncLock();
  private readonly held = new Map<string, HeldPort>();
  private resolver: ResolverPort | undefined;
  private closed = false;

  private constructor(
    private readonly opts: NetworkDriverOptions,
    private readonly ipam: Ipam,
    private doc: DriverDoc,
    private readonly file: string,
  ) {}

  static async open(opts: NetworkDriverOptions): Promise<EmbeddedNetworkDriver> {
    const dir = path.join(opts.root, "networks");
    const file = path.join(dir, "state.json");
    const read = await readDriverDoc(file);
    if (read.quarantined) opts.log?.warn({ quarantined: read.quarantined, problem: read.problem }, "network state was unreadable; moved aside, starting empty");
    const blocks = opts.hostBlocks ?? hostBlocks;
    let driver: EmbeddedNetworkDriver | undefined;
    const ipam = await Ipam.open(path.join(dir, "ipam.json"), { ...(opts.pools ? { pools: opts.pools } : {}), reserved: () => blocks(driver?.ownBridges() ?? new Set()) });
    if (ipam.recovery.quarantined) opts.log?.warn({ ...ipam.recovery }, "address state was unreadable; moved aside, starting empty");
    driver = new EmbeddedNetworkDriver(opts, ipam, read.doc, file);
    driver.resolver = opts.resolver?.(driver.dnsView());
    await driver.serial(() => driver.adopt());
    return driver;
  }

  /** Brings the host in line with the persisted state (see the file comment). */
  private async adopt(): Promise<void> {
    // A root without networks touches nothing of the host's (no chains, no iptables needed).
    if (Object.keys(this.doc.networks).length === 0 && Object.keys(this.doc.ports).length === 0) return;
    await this.opts.firewall.ensureBase();
    for (const [name, meta] of Object.entries(this.doc.networks)) {
      const alloc = this.ipam.get(name);
      if (!alloc) {
        // The address file was lost: allocate the network again (its containers reconnect).
        await this.withHostLock(() => this.ipam.allocateNetwork(name));
      }
      await this.bringUp(name, meta.bridge);
    }
    await this.opts.firewall.syncNetworks(this.firewallNetworks());
    for (const [id, p] of Object.entries(this.doc.ports)) {
      for (const port of p.published) {
        await this.hold(id, port).catch((err) =>
          this.opts.log?.warn({ container: id, port, err: String(err) }, "a published host port is taken by another program; its mapping waits for the container's next publish"),
        );
      }
      const net = this.firewallNetworkOf(p.published[0]?.network);
      if (net) await this.opts.firewall.setPorts(id, net, rulesOf(p.published));
    }
  }

  private async bringUp(name: string, bridge: string): Promise<void> {
    const alloc = this.ipam.get(name)!;
    if (!this.doc.networks[name]?.internal) await this.ensureForwarding();
    await ensureBridge(bridge, gatewayCidr(alloc.subnet, alloc.gateway));
    if (this.resolver) {
      await this.resolver.listen(alloc.gateway).catch((err) =>
        this.opts.log?.warn({ network: name, address: alloc.gateway, err: String(err) }, "the network's resolver could not listen; its containers resolve no names"),
      );
    }
  }

  /**
   * A network that reaches out needs the host to forward IPv4 (as Docker turns it on). The
   * FORWARD policy is never touched; berth's own accepts carry its bridges' traffic.
   */
  private async ensureForwarding(): Promise<void> {
    const file = "/proc/sys/net/ipv4/ip_forward";
    const now = await fs.readFile(file, "utf8").catch(() => undefined);
    if (now === undefined || now.trim() !== "0") return;
    await fs.writeFile(file, "1\n");
    this.opts.log?.warn({ sysctl: "net.ipv4.ip_forward" }, "turned IPv4 forwarding on: bridge networks route through the host (the FORWARD policy is left as it is)");
  }

  /**
   * Allocates the network's subnet and records it in the driver's queue, then puts it on its
   * bridge outside the queue (under the host-wide lock, held across both: another daemon sees
   * the bridge's address before it chooses), so the containers of a network already up
   * reserve and attach while the next network's bridge is made. One create or remove of a
   * name at a time.
   */
  create(spec: NetworkCreateSpec): Promise<NetworkState> {
    if (!isValidName(spec.name)) return Promise.reject(invalidArgument(`create network ${JSON.stringify(spec.name)}: invalid name`));
    if (this.closed) return Promise.reject(failedPrecondition("the network driver is closed"));
    return this.tracked(this.netLocks.run(spec.name, () => this.createNamed(spec)));
  }

  /** create, its name's turn taken. */
  private async createNamed(spec: NetworkCreateSpec): Promise<NetworkState> {
    const existing = this.doc.networks[spec.name];
    if (existing && existing.internal !== spec.internal) {
      throw conflict(`create network ${spec.name}: it exists as ${existing.internal ? "internal" : "not internal"}; remove it to change that`);
    }
    try {
      // The subnet is chosen and put on the bridge under the host-wide lock (host-lock.ts).
      await this.withHostLock(async () => {
        await this.serial(async () => {
          await this.ipam.allocateNetwork(spec.name, { ...(spec.subnet ? { subnet: spec.subnet } : {}), ...(spec.gateway ? { gateway: spec.gateway } : {}) });
          if (!this.doc.networks[spec.name]) {
            this.doc = { ...this.doc, networks: { ...this.doc.networks, [spec.name]: { bridge: `bb${hex12(path.resolve(this.opts.root), spec.name)}`, internal: spec.internal, labels: { ...spec.labels }, createdAt: this.now() } } };
            await this.save();
          }
        });
        await this.bringUp(spec.name, this.doc.networks[spec.name]!.bridge);
      });
      await this.serial(() => this.opts.firewall.syncNetworks(this.firewallNetworks()));
    } catch (err) {
      // A network this call made is not left half-made (a failed allocation made nothing).
      if (!existing && this.doc.networks[spec.name]) await this.serial(() => this.dropNetwork(spec.name)).catch(() => {});
      throw err;
    }
    return this.stateOf(spec.name);
  }

  /** The host-wide lock (host-lock.ts), this process's callers taking turns at it instead of each polling for it. */
  private withHostLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.hostLock.run(() => withHostNetworkLock(fn));
  }

  remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.netLocks.run(name, () => this.serial(async () => {
      if (!this.doc.networks[name]) return;
      const users = Object.keys(this.doc.attachments[name] ?? {});
      if (users.length && !options.force) {
        throw failedPrecondition(`remove network ${name}: containers are attached: ${users.join(", ")}`);
      }
      for (const id of users) await this.disconnectLocked(name, id);
      await this.dropNetwork(name);
    }));
  }

  private async dropNetwork(name: string): Promise<void> {
    const meta = this.doc.networks[name];
    const alloc = this.ipam.get(name);
    if (alloc && this.resolver) await this.resolver.unlisten(alloc.gateway);
    const { [name]: _gone, ...networks } = this.doc.networks;
    const { [name]: _a, ...attachments } = this.doc.attachments;
    this.doc = { ...this.doc, networks, attachments };
    await this.opts.firewall.syncNetworks(this.firewallNetworks());
    if (meta) await removeBridge(meta.bridge);
    await this.ipam.releaseNetwork(name, { force: true });
    await this.save();
  }

  async inspect(name: string): Promise<NetworkState> {
    if (!this.doc.networks[name]) throw notFound(`network ${name}: no such network`, { object: { kind: "network", name } });
    return this.stateOf(name);
  }

  async list(labels?: Record<string, string>): Promise<NetworkState[]> {
    return Object.keys(this.doc.networks)
      .sort()
      .map((n) => this.stateOf(n))
      .filter((n) => !labels || Object.entries(labels).every(([k, v]) => n.labels[k] === v));
  }

  reserve(network: string, container: string, options: { address?: string } = {}): Promise<{ address: string; prefixLength: number; gateway: string }> {
    return this.serial(async () => {
      if (!this.doc.networks[network]) throw notFound(`reserve an address on network ${network}: no such network`, { object: { kind: "network", name: network } });
      if (!isValidName(container)) throw invalidArgument(`reserve an address on network ${network}: invalid container name ${JSON.stringify(container)}`);
      if (options.address !== undefined && isIP(options.address) !== 4) throw invalidArgument(`reserve ${JSON.stringify(options.address)} on network ${network}: expected an IPv4 address`);
      // A static address moves the container's reservation to it (ipam.ts: in the subnet, not
      // the network, broadcast or gateway address, no other owner's): Conflict or InvalidArgument.
      const address = await this.ipam.allocateAddress(network, container, options.address);
      const alloc = this.ipam.get(network)!;
      return { address, prefixLength: parseCidr(alloc.subnet).prefix, gateway: alloc.gateway };
    });
  }

  /**
   * Records the attachment (address, names) in the driver's state, then makes the link. The
   * record is made in the driver's one queue; the link — two `ip` runs — outside it, under a
   * lock of its own host interface, so containers attach side by side instead of one after
   * another (a stack's start waited on that queue). A disconnect of the same interface waits
   * for the attach in flight (it takes the same lock inside the queue; an attach never waits
   * for the queue while it holds that lock).
   */
  async connect(spec: AttachSpec): Promise<AttachmentState> {
    const todo = await this.serial(() => this.connectLocked(spec));
    const done = this.linkLocks.run(todo.link.hostIfname, async () => {
      if (todo.unchanged && (await linkMaster(todo.link.hostIfname)) === todo.bridge) return;
      await attach(todo.bridge, spec.netns, todo.link);
    });
    await this.tracked(done);
    return this.attachmentOf(spec.network, spec.container)!;
  }

  /**
   * connect's part in the queue: checks, the address, the record; the link to make, and
   * whether it was there already as recorded (then it is made again only when it is not on
   * the bridge any more: a reboot, a crash mid-attach).
   */
  private async connectLocked(spec: AttachSpec): Promise<{ bridge: string; link: Attachment; unchanged: boolean }> {
    const meta = this.doc.networks[spec.network];
    if (!meta) throw notFound(`connect to network ${spec.network}: no such network`, { object: { kind: "network", name: spec.network } });
    if (!isValidName(spec.container)) throw invalidArgument(`connect to network ${spec.network}: invalid container name ${JSON.stringify(spec.container)}`);
    for (const n of spec.names) if (!isDnsName(n)) throw invalidArgument(`connect to network ${spec.network}: invalid DNS name ${JSON.stringify(n)}`);
    if (spec.address !== undefined && isIP(spec.address) !== 4) throw invalidArgument(`connect to network ${spec.network}: invalid address ${JSON.stringify(spec.address)}`);
    for (const u of spec.upstreams ?? []) if (isIP(u) === 0) throw invalidArgument(`connect to network ${spec.network}: invalid upstream resolver ${JSON.stringify(u)}`);
    const alloc = this.ipam.get(spec.network)!;
    const had = alloc.addresses[spec.container];
    // A static address is the one reserved; asked for again here so that an address file lost meanwhile gets it back.
    const address = await this.ipam.allocateAddress(spec.network, spec.container, spec.address);
    const hostIfname = `bv${hex12(path.resolve(this.opts.root), spec.container, spec.network)}`;
    const prev = this.doc.attachments[spec.network]?.[spec.container];
    const next: AttachmentMeta = { ifname: spec.ifname, hostIfname, netns: spec.netns, names: [...spec.names], ...(spec.upstreams?.length ? { upstreams: [...spec.upstreams] } : {}) };
    if (JSON.stringify(prev) !== JSON.stringify(next)) {
      this.doc = { ...this.doc, attachments: { ...this.doc.attachments, [spec.network]: { ...this.doc.attachments[spec.network], [spec.container]: next } } };
      await this.save();
    }
    const unchanged = !!prev && prev.netns === spec.netns && prev.ifname === spec.ifname && had === address;
    const gateway = spec.defaultRoute && !meta.internal ? alloc.gateway : undefined;
    const link: Attachment = { ifname: spec.ifname, hostIfname, address: `${address}/${parseCidr(alloc.subnet).prefix}`, ...(gateway ? { gateway } : {}) };
    return { bridge: meta.bridge, link, unchanged };
  }

  disconnect(network: string, container: string): Promise<void> {
    return this.serial(() => this.disconnectLocked(network, container));
  }

  private async disconnectLocked(network: string, container: string): Promise<void> {
    const a = this.doc.attachments[network]?.[container];
    if (a) await this.linkLocks.run(a.hostIfname, () => detach(a.hostIfname));
    if (this.doc.ports[container]?.published.some((p) => p.network === network)) await this.unpublishLocked(container);
    if (a) {
      const { [container]: _gone, ...rest } = this.doc.attachments[network]!;
      this.doc = { ...this.doc, attachments: { ...this.doc.attachments, [network]: rest } };
      await this.save();
    }
    if (this.ipam.get(network)) await this.ipam.releaseAddress(network, container);
  }

  async attachments(container?: string): Promise<AttachmentState[]> {
    const out: AttachmentState[] = [];
    for (const [net, byId] of Object.entries(this.doc.attachments)) {
      for (const id of Object.keys(byId)) if (!container || id === container) out.push(this.attachmentOf(net, id)!);
    }
    return out.sort((a, b) => a.container.localeCompare(b.container) || a.ifname.localeCompare(b.ifname));
  }

  publish(container: string, ports: PortMappingSpec[], network?: string): Promise<PublishedPort[]> {
    return this.serial(async () => {
      for (const p of ports) checkMapping(p);
      if (ports.length === 0) {
        await this.unpublishLocked(container);
        return [];
      }
      const target = network !== undefined ? this.reservedOn(network, container) : this.publishTarget(container);
      if (!target) throw failedPrecondition(`publish ports of container ${container}: it is not on a network that reaches the host (bridge, not internal)`);
      const before = this.doc.ports[container];
      const published: PublishedPort[] = [];
      const fresh: HeldPort[] = [];
      try {
        for (const req of ports) {
          const hostIP = req.hostIP ?? "0.0.0.0";
          // A mapping asked for again keeps its host port (a random one too).
          const i = before?.requested.findIndex((r) => sameRequest(r, req)) ?? -1;
          const kept = i >= 0 ? before!.published[i] : undefined;
          const v6 = hostIP.includes(":");
          let hostPort = kept && this.held.has(holdKey(container, req.protocol, hostIP, kept.hostPort)) ? kept.hostPort : undefined;
          if (hostPort !== undefined && v6 && kept!.containerIP !== target.address) {
            // an IPv6 proxy forwards to the old address: made again (its port is freed first)
            const k = holdKey(container, req.protocol, hostIP, hostPort);
            await this.held.get(k)!.release();
            this.held.delete(k);
            hostPort = undefined;
          }
          if (hostPort === undefined) {
            // a proxy made again (above) comes back on its port
            const h = await holdPublished(req.protocol, hostIP, v6 ? req.hostPort || (kept?.hostPort ?? 0) : req.hostPort, { address: target.address, port: req.containerPort });
            fresh.push(h);
            this.held.set(holdKey(container, req.protocol, hostIP, h.port), h);
            hostPort = h.port;
          }
          published.push({ protocol: req.protocol, hostIP, hostPort, containerPort: req.containerPort, network: target.network, containerIP: target.address });
        }
        await this.opts.firewall.setPorts(container, this.firewallNetworkOf(target.network)!, rulesOf(published));
      } catch (err) {
        for (const h of fresh) {
          this.held.delete(holdKey(container, h.protocol, h.hostIP, h.port));
          await h.release();
        }
        throw err;
      }
      // Holds of mappings no longer asked for go.
      const keep = new Set(published.map((p) => holdKey(container, p.protocol, p.hostIP, p.hostPort)));
      await this.releaseHolds(container, keep);
      this.doc = { ...this.doc, ports: { ...this.doc.ports, [container]: { requested: ports.map((p) => ({ ...p })), published } } };
      await this.save();
      return published;
    });
  }

  async published(container: string): Promise<{ requested: PortMappingSpec[]; published: PublishedPort[] }> {
    const p = this.doc.ports[container];
    return { requested: (p?.requested ?? []).map((r) => ({ ...r })), published: (p?.published ?? []).map((x) => ({ ...x })) };
  }

  private async unpublishLocked(container: string): Promise<void> {
    const had = this.doc.ports[container];
    if (!had) return;
    const net = this.firewallNetworkOf(had.published[0]?.network) ?? { name: "-", bridge: "lo", subnet: "0.0.0.0/32", internal: true };
    await this.opts.firewall.setPorts(container, net, []);
    await this.releaseHolds(container, new Set());
    const { [container]: _gone, ...ports } = this.doc.ports;
    this.doc = { ...this.doc, ports };
    await this.save();
  }

  private async releaseHolds(container: string, keep: Set<string>): Promise<void> {
    for (const [k, h] of [...this.held]) {
      if (k.startsWith(`${container}|`) && !keep.has(k)) {
        this.held.delete(k);
        await h.release();
      }
    }
  }

  private async hold(container: string, p: PublishedPort): Promise<void> {
    const k = holdKey(container, p.protocol, p.hostIP, p.hostPort);
    if (this.held.has(k)) return;
    this.held.set(k, await holdPublished(p.protocol, p.hostIP, p.hostPort, { address: p.containerIP, port: p.containerPort }));
  }

  release(container: string): Promise<void> {
    return this.serial(() => this.releaseLocked(container));
  }

  private async releaseLocked(container: string): Promise<void> {
    await this.unpublishLocked(container);
    for (const net of Object.keys(this.doc.networks)) await this.disconnectLocked(net, container);
  }

  releaseExcept(live: string[]): Promise<string[]> {
    const keep = new Set(live);
    return this.serial(async () => {
      const gone = new Set<string>();
      for (const byId of Object.values(this.doc.attachments)) for (const id of Object.keys(byId)) if (!keep.has(id)) gone.add(id);
      // Addresses reserved for a create that never happened (or a crash before its attachment).
      for (const alloc of this.ipam.list()) for (const owner of Object.keys(alloc.addresses)) if (!keep.has(owner)) gone.add(owner);
      for (const id of Object.keys(this.doc.ports)) if (!keep.has(id)) gone.add(id);
      for (const id of gone) await this.releaseLocked(id);
      return [...gone].sort();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    await Promise.allSettled([...this.outside]);
    for (const h of this.held.values()) await h.release();
    this.held.clear();
    await this.resolver?.close();
  }

  // ------------------------------------------------------------------------ views

  /** What the resolver answers, read at query time (so names follow attachments at once). */
  private dnsView(): NetworkDnsView {
    return {
      clientOf: (source) => {
        // The container that owns the source address, on whichever network it asks: it sees
        // the names of every network it is on (as Docker's resolver answers a container),
        // since a stub resolver stops at the first nameserver's NXDOMAIN.
        const owners = new Set<string>();
        for (const alloc of this.ipam.list()) {
          for (const [owner, address] of Object.entries(alloc.addresses)) {
            if (address === source && this.doc.attachments[alloc.name]?.[owner]) owners.add(owner);
          }
        }
        const networks = Object.keys(this.doc.attachments).filter((net) => [...owners].some((o) => this.doc.attachments[net]?.[o]));
        if (networks.length === 0) return undefined;
        const entries = () =>
          networks.flatMap((net) => {
            const alloc = this.ipam.get(net);
            return Object.entries(this.doc.attachments[net] ?? {}).flatMap(([id, a]) => (alloc?.addresses[id] ? [{ address: alloc.addresses[id]!, names: a.names }] : []));
          });
        // The container's own upstreams (its dns setting), from its first attachment that has them.
        const upstreams = networks.map((net) => Object.entries(this.doc.attachments[net] ?? {}).find(([owner]) => owners.has(owner))?.[1].upstreams).find((u) => u?.length);
        return {
          ...(upstreams ? { upstreams: [...upstreams] } : {}),
          resolve: (name) => {
            const want = name.toLowerCase().replace(/\.$/, "");
            return [...new Set(entries().filter((e) => e.names.some((n) => n.toLowerCase() === want)).map((e) => e.address))];
          },
          reverse: (address) => entries().find((e) => e.address === address)?.names[0],
          mayForward: networks.some((n) => !this.doc.networks[n]?.internal),
        };
      },
    };
  }

  private stateOf(name: string): NetworkState {
    const meta = this.doc.networks[name]!;
    const alloc = this.ipam.get(name);
    return {
      name,
      bridge: meta.bridge,
      subnet: alloc?.subnet ?? "",
      gateway: alloc?.gateway ?? "",
      internal: meta.internal,
      labels: { ...meta.labels },
      createdAt: meta.createdAt,
      containers: Object.keys(this.doc.attachments[name] ?? {}).sort(),
    };
  }

  private attachmentOf(network: string, id: string): AttachmentState | undefined {
    const a = this.doc.attachments[network]?.[id];
    const alloc = this.ipam.get(network);
    if (!a || !alloc) return undefined;
    return {
      network,
      container: id,
      ifname: a.ifname,
      hostIfname: a.hostIfname,
      address: alloc.addresses[id] ?? "",
      prefixLength: parseCidr(alloc.subnet).prefix,
      gateway: alloc.gateway,
      names: [...a.names],
    };
  }

  /** The container's address on `network` (reserved or attached), unless the network is internal. */
  private reservedOn(network: string, container: string): { network: string; address: string } | undefined {
    const address = this.ipam.get(network)?.addresses[container];
    return address && this.doc.networks[network] && !this.doc.networks[network]!.internal ? { network, address } : undefined;
  }

  /** The attachment published ports forward to: the first (by interface) on a network that is not internal. */
  private publishTarget(container: string): AttachmentState | undefined {
    return Object.keys(this.doc.attachments)
      .map((net) => this.attachmentOf(net, container))
      .filter((a): a is AttachmentState => !!a && !this.doc.networks[a.network]?.internal)
      .sort((a, b) => a.ifname.localeCompare(b.ifname, undefined, { numeric: true }))[0];
  }

  private firewallNetworks(): FirewallNetwork[] {
    return Object.keys(this.doc.networks)
      .sort()
      .flatMap((n) => {
        const f = this.firewallNetworkOf(n);
        return f ? [f] : [];
      });
  }

  private firewallNetworkOf(name: string | undefined): FirewallNetwork | undefined {
    const meta = name ? this.doc.networks[name] : undefined;
    const alloc = name ? this.ipam.get(name) : undefined;
    return meta && alloc ? { name: name!, bridge: meta.bridge, subnet: alloc.subnet, internal: meta.internal } : undefined;
  }

  private ownBridges(): Set<string> {
    return new Set(Object.values(this.doc.networks).map((n) => n.bridge));
  }

  private now(): string {
    return this.opts.now?.() ?? new Date().toISOString();
  }

  private save(): Promise<void> {
    return writeDriverDoc(this.file, this.doc);
  }

  /** `p`, waited for by close. */
  private async tracked<T>(p: Promise<T>): Promise<T> {
    this.outside.add(p);
    try {
      return await p;
    } finally {
      this.outside.delete(p);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(failedPrecondition("the network driver is closed"));
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

const holdKey = (id: string, protocol: string, hostIP: string, port: number) => `${id}|${protocol}|${hostIP}|${port}`;

function sameRequest(a: PortMappingSpec, b: PortMappingSpec): boolean {
  return a.protocol === b.protocol && (a.hostIP ?? "0.0.0.0") === (b.hostIP ?? "0.0.0.0") && a.hostPort === b.hostPort && a.containerPort === b.containerPort;
}

/** The DNAT rules of the IPv4 ports (IPv6 host addresses are proxied: port-holder.ts). */
function rulesOf(published: PublishedPort[]): PortRule[] {
  return published.filter((p) => !p.hostIP.includes(":")).map(ruleOf);
}

function ruleOf(p: PublishedPort): PortRule {
  return { protocol: p.protocol, ...(p.hostIP !== "0.0.0.0" ? { hostIP: p.hostIP } : {}), hostPort: p.hostPort, containerIP: p.containerIP, containerPort: p.containerPort };
}

function checkMapping(p: PortMappingSpec): void {
  const where = `publish ${p.hostIP ? `${p.hostIP}:` : ""}${p.hostPort}:${p.containerPort}/${p.protocol}`;
  if (p.protocol !== "tcp" && p.protocol !== "udp") throw invalidArgument(`${where}: protocol must be tcp or udp`);
  if (!Number.isInteger(p.hostPort) || p.hostPort < 0 || p.hostPort > 65535) throw invalidArgument(`${where}: host port must be 0 to 65535`);
  if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) throw invalidArgument(`${where}: container port must be 1 to 65535`);
  if (p.hostIP !== undefined && !p.hostIP.includes(":")) parseIPv4(p.hostIP);
  if (p.hostIP !== undefined && p.hostIP.includes(":") && isIP(p.hostIP) !== 6) throw invalidArgument(`${where}: invalid IPv6 host address`);
}
