/**
 * An in-memory NetworkDriver for controller tests: the semantics of the embedded driver
 * (runtime/networks/driver.ts) without bridges, rules or sockets — subnets 127.89.<n>.0/24 (loopback: a probe of a fake address never leaves the host)
 * in order, addresses in order per network and per container name (the same name gets its
 * address back), host ports checked for clashes, random host ports from 32768 up, and a
 * network with attachments refused on remove. `calls` counts operations, so tests can tell
 * that ports were re-published in place (no recreate).
 */
import { conflict, failedPrecondition, invalidArgument, notFound } from "../../lib/errors.js";
import { isValidName } from "../../lib/names.js";
import type { AttachmentState, AttachSpec, NetworkCreateSpec, NetworkDriver, NetworkState, PortMappingSpec, PublishedPort } from "../types.js";

interface FakeNetwork {
  spec: NetworkCreateSpec;
  subnetIndex: number;
  createdAt: string;
  addresses: Map<string, number>;
  attachments: Map<string, AttachSpec>;
}

export class FakeNetworkDriver implements NetworkDriver {
  readonly networks = new Map<string, FakeNetwork>();
  readonly ports = new Map<string, { requested: PortMappingSpec[]; published: PublishedPort[] }>();
  readonly calls = { create: 0, remove: 0, connect: 0, disconnect: 0, publish: 0, release: 0 };
  private nextSubnet = 0;
  private nextRandomPort = 32768;

  constructor(private readonly now: () => string = () => new Date().toISOString()) {}

  async create(spec: NetworkCreateSpec): Promise<NetworkState> {
    this.calls.create++;
    if (!isValidName(spec.name)) throw invalidArgument(`create network ${JSON.stringify(spec.name)}: invalid name`);
    const had = this.networks.get(spec.name);
    if (had) {
      if ((spec.subnet && spec.subnet !== this.subnetOf(had)) || had.spec.internal !== spec.internal) throw conflict(`create network ${spec.name}: it exists with other settings`);
      return this.stateOf(spec.name);
    }
    this.networks.set(spec.name, { spec: structuredClone(spec), subnetIndex: this.nextSubnet++, createdAt: this.now(), addresses: new Map(), attachments: new Map() });
    return this.stateOf(spec.name);
  }

  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    this.calls.remove++;
    const n = this.networks.get(name);
    if (!n) return;
    if (n.attachments.size && !options.force) throw failedPrecondition(`remove network ${name}: containers are attached: ${[...n.attachments.keys()].sort().join(", ")}`);
    for (const c of n.attachments.keys()) this.unpublishIfOn(c, name);
    this.networks.delete(name);
  }

  async inspect(name: string): Promise<NetworkState> {
    if (!this.networks.has(name)) throw notFound(`network ${name}: no such network`, { object: { kind: "network", name } });
    return this.stateOf(name);
  }

  async list(labels?: Record<string, string>): Promise<NetworkState[]> {
    return [...this.networks.keys()]
      .sort()
      .map((n) => this.stateOf(n))
      .filter((n) => !labels || Object.entries(labels).every(([k, v]) => n.labels[k] === v));
  }

  async reserve(network: string, container: string): Promise<{ address: string; prefixLength: number; gateway: string }> {
    const n = this.mustFind(network);
    return { address: this.addressOf(n, container), prefixLength: 24, gateway: this.gatewayOf(n) };
  }

  async connect(spec: AttachSpec): Promise<AttachmentState> {
    this.calls.connect++;
    const n = this.mustFind(spec.network);
    this.addressOf(n, spec.container);
    n.attachments.set(spec.container, structuredClone(spec));
    return this.attachmentOf(spec.network, spec.container)!;
  }

  async disconnect(network: string, container: string): Promise<void> {
    this.calls.disconnect++;
    const n = this.networks.get(network);
    if (!n) return;
    this.unpublishIfOn(container, network);
    n.attachments.delete(container);
    n.addresses.delete(container);
  }

  async attachments(container?: string): Promise<AttachmentState[]> {
    const out: AttachmentState[] = [];
    for (const [net, n] of this.networks) for (const c of n.attachments.keys()) if (!container || c === container) out.push(this.attachmentOf(net, c)!);
    return out.sort((a, b) => a.container.localeCompare(b.container) || a.ifname.localeCompare(b.ifname));
  }

  async publish(container: string, ports: PortMappingSpec[], network?: string): Promise<PublishedPort[]> {
    this.calls.publish++;
    if (ports.length === 0) {
      this.ports.delete(container);
      return [];
    }
    const target = [...this.networks]
      .filter(([net, n]) => (network !== undefined ? net === network && n.addresses.has(container) : n.attachments.has(container)) && !n.spec.internal)
      .map(([net, n]) => ({ net, ifname: n.attachments.get(container)?.ifname ?? "" }))
      .sort((a, b) => a.ifname.localeCompare(b.ifname))[0];
    if (!target) throw failedPrecondition(`publish ports of container ${container}: it is not on a network that reaches the host (bridge, not internal)`);
    const before = this.ports.get(container);
    const published: PublishedPort[] = ports.map((req) => {
      const hostIP = req.hostIP ?? "0.0.0.0";
      const i = before?.requested.findIndex((r) => JSON.stringify(r) === JSON.stringify(req)) ?? -1;
      const hostPort = i >= 0 ? before!.published[i]!.hostPort : req.hostPort || this.nextRandomPort++;
      return { protocol: req.protocol, hostIP, hostPort, containerPort: req.containerPort, network: target.net, containerIP: this.addressOf(this.networks.get(target.net)!, container) };
    });
    for (const [other, p] of this.ports) {
      if (other === container) continue;
      for (const a of p.published) {
        const clash = published.find((b) => b.protocol === a.protocol && b.hostPort === a.hostPort && (b.hostIP === a.hostIP || b.hostIP === "0.0.0.0" || a.hostIP === "0.0.0.0"));
        if (clash) throw conflict(`publish ${clash.hostPort}/${clash.protocol}: the port is already in use on the host`);
      }
    }
    this.ports.set(container, { requested: structuredClone(ports), published });
    return structuredClone(published);
  }

  async published(container: string): Promise<{ requested: PortMappingSpec[]; published: PublishedPort[] }> {
    return structuredClone(this.ports.get(container) ?? { requested: [], published: [] });
  }

  async release(container: string): Promise<void> {
    this.calls.release++;
    this.ports.delete(container);
    for (const n of this.networks.values()) {
      n.attachments.delete(container);
      n.addresses.delete(container);
    }
  }

  async releaseExcept(live: string[]): Promise<string[]> {
    const keep = new Set(live);
    const gone = new Set<string>();
    for (const n of this.networks.values()) for (const c of n.addresses.keys()) if (!keep.has(c)) gone.add(c);
    for (const c of this.ports.keys()) if (!keep.has(c)) gone.add(c);
    for (const c of gone) await this.release(c);
    return [...gone].sort();
  }

  async close(): Promise<void> {}

  private unpublishIfOn(container: string, network: string): void {
    if (this.ports.get(container)?.published.some((p) => p.network === network)) this.ports.delete(container);
  }

  private mustFind(network: string): FakeNetwork {
    const n = this.networks.get(network);
    if (!n) throw notFound(`network ${network}: no such network`, { object: { kind: "network", name: network } });
    return n;
  }

  private subnetOf(n: FakeNetwork): string {
    return n.spec.subnet ?? `127.89.${n.subnetIndex}.0/24`;
  }

  private gatewayOf(n: FakeNetwork): string {
    return n.spec.gateway ?? `${this.subnetOf(n).split(".").slice(0, 3).join(".")}.1`;
  }

  private addressOf(n: FakeNetwork, container: string): string {
    if (!n.addresses.has(container)) {
      const used = new Set(n.addresses.values());
      let host = 2;
      while (used.has(host)) host++;
      n.addresses.set(container, host);
    }
    return `${this.subnetOf(n).split(".").slice(0, 3).join(".")}.${n.addresses.get(container)}`;
  }

  private stateOf(name: string): NetworkState {
    const n = this.networks.get(name)!;
    return {
      name,
      bridge: `fake-${name}`.slice(0, 15),
      subnet: this.subnetOf(n),
      gateway: this.gatewayOf(n),
      internal: n.spec.internal,
      labels: { ...n.spec.labels },
      createdAt: n.createdAt,
      containers: [...n.attachments.keys()].sort(),
    };
  }

  private attachmentOf(network: string, container: string): AttachmentState | undefined {
    const n = this.networks.get(network);
    const a = n?.attachments.get(container);
    if (!n || !a) return undefined;
    return {
      network,
      container,
      ifname: a.ifname,
      hostIfname: `fv-${container}`.slice(0, 15),
      address: this.addressOf(n, container),
      prefixLength: 24,
      gateway: this.gatewayOf(n),
      names: [...a.names],
    };
  }
}
