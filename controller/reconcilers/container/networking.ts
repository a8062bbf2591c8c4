/**
 * A container's networking, as the controller drives it (issue 9):
 *
 * - `networkPlanOf` (pure): host, none, `container:<name>`, or bridge networks — those it
 *   names, else its stack's default network (a Compose project's `default`), which is made
 *   on demand and removed with the stack's last container using it.
 * - `prepare`, before a create: the networks must exist (a declared Network ready; the
 *   default one is created), the container's address on each is reserved — so its
 *   /etc/hosts can name it — and its resolv.conf points at its networks' resolvers. A shared
 *   container must be running. Otherwise FailedPrecondition: a waiting status, retried, and
 *   re-planned when the network or that container changes (indexes.ts).
 * - `attach`, before every start: veths, addresses, routes (idempotent:
 *   repairs what a reboot or a crash took; cheap when nothing is missing).
 * - `syncPorts`: publishes the desired ports when they differ from what is published — in
 *   place, without recreating the container (ports are not in the spec hash).
 * - `release`, when the container goes for good: addresses and ports, then the stack's
 *   default network if nothing uses it any more.
 */
import { failedPrecondition, isBerthError, notImplemented } from "../../../lib/errors.js";
import type { ContainerCreateSpec, ContainerState, PortMappingSpec, PublishedPort } from "../../../runtime/types.js";
import { LABELS } from "../../labels.js";
import { HOST_GATEWAY } from "../../manifests/normalize/extra-hosts.js";
import type { ContainerObject } from "../../manifests/model.js";
import { defaultNetworkName, keyOf } from "../../store/keys.js";
import type { ReconcilerDeps } from "../context.js";

export type NetworkPlan =
  | { mode: "host" | "none" }
  | { mode: "container"; container: string }
  | { mode: "bridge"; networks: { name: string; aliases: string[]; implicit: boolean; ipv4Address?: string }[] };

export function networkPlanOf(obj: ContainerObject, stack: string): NetworkPlan {
  const s = obj.spec;
  if (s.networkMode === "host" || s.networkMode === "none") return { mode: s.networkMode };
  if (s.networkMode?.startsWith("container:")) return { mode: "container", container: s.networkMode.slice("container:".length) };
  if (s.networks.length) return { mode: "bridge", networks: s.networks.map((n) => ({ name: n.name, aliases: [...n.aliases], implicit: false, ...(n.ipv4Address ? { ipv4Address: n.ipv4Address } : {}) })) };
  return { mode: "bridge", networks: [{ name: defaultNetworkName(stack), aliases: [], implicit: true }] };
}

/** Label on a stack's default network (made by berth, removed with its last container). */
export const DEFAULT_NETWORK_LABEL = "berth.dev/default-network";

/**
 * The published-port requests of a spec (ranges are expanded by the manifest loader), then
 * with `publishAll` every port the image EXPOSEs that no entry publishes, on a free host port.
 */
export function portRequestsOf(obj: ContainerObject, exposed: Record<string, unknown> = {}): PortMappingSpec[] {
  const explicit = obj.spec.ports.map((p) => {
    if (p.protocol === "sctp") throw notImplemented(`publish ${p.containerPort}/sctp of container ${obj.metadata.name}: sctp ports are not supported (tcp and udp are)`);
    return portRequestOf(p);
  });
  if (!obj.spec.publishAll) return explicit;
  const out = [...explicit];
  for (const key of Object.keys(exposed).sort()) {
    const m = /^([0-9]{1,5})(?:\/(tcp|udp|sctp))?$/.exec(key);
    const port = Number(m?.[1]);
    const protocol = m?.[2] ?? "tcp";
    if (!m || protocol === "sctp" || !(port >= 1 && port <= 65535)) continue;
    if (out.some((r) => r.containerPort === port && r.protocol === protocol)) continue;
    out.push({ protocol: protocol as "tcp" | "udp", hostPort: 0, containerPort: port });
  }
  return out;
}

function portRequestOf(p: ContainerObject["spec"]["ports"][number]): PortMappingSpec {
  return {
    protocol: p.protocol === "udp" ? "udp" : "tcp",
    ...(p.hostIP && p.hostIP !== "0.0.0.0" ? { hostIP: p.hostIP.toLowerCase() } : {}),
    hostPort: p.hostPort ?? 0,
    containerPort: p.containerPort,
  };
}

export class ContainerNetworking {
  constructor(private readonly deps: ReconcilerDeps) {}

  /** The running container whose network `obj` shares, or FailedPrecondition (a waiting status). */
  async sharedTarget(obj: ContainerObject, stack: string): Promise<ContainerState | undefined> {
    const plan = networkPlanOf(obj, stack);
    if (plan.mode !== "container") return undefined;
    const target = await this.deps.runtime.containers.inspect(plan.container).catch((err) => (isBerthError(err, "NotFound") ? undefined : Promise.reject(err)));
    if (!target || target.status !== "running") {
      throw failedPrecondition(`waiting for container ${plan.container} to run: container ${obj.metadata.name} shares its network`);
    }
    return target;
  }

  /**
   * The network fields of the create spec (see the file comment), with the user's
   * extraHosts (`host-gateway`: the gateway of its first network; 127.0.0.1 with networkMode
   * host; FailedPrecondition without a network) and dns settings: on bridge networks the
   * nameservers stay its networks' resolvers, which forward other names to `dns` (Docker's
   * embedded DNS); search and options are resolv.conf's.
   */
  async prepare(obj: ContainerObject, stack: string): Promise<Pick<ContainerCreateSpec, "networkMode" | "dns" | "hosts" | "extraHosts">> {
    const plan = networkPlanOf(obj, stack);
    const name = obj.metadata.name;
    const s = obj.spec;
    const extra = (gateway: string | undefined) => {
      if (!s.extraHosts?.length) return {};
      return {
        extraHosts: s.extraHosts.map((h) => {
          if (h.address !== HOST_GATEWAY) return { address: h.address, names: [h.name] };
          if (!gateway) throw failedPrecondition(`create container ${name}: extraHosts ${h.name}:${HOST_GATEWAY} needs a network (networkMode ${s.networkMode} has no gateway)`);
          return { address: gateway, names: [h.name] };
        }),
      };
    };
    if (plan.mode === "host") {
      const dns = s.dns || s.dnsSearch || s.dnsOptions ? { dns: { nameservers: s.dns ?? [], search: s.dnsSearch ?? [], options: s.dnsOptions ?? [] } } : {};
      return { networkMode: "host", ...dns, ...extra("127.0.0.1") };
    }
    if (plan.mode === "none") return { networkMode: "none", ...extra(undefined) };
    if (plan.mode !== "bridge") return { networkMode: `container:${(await this.sharedTarget(obj, stack))!.id}` };
    const nameservers: string[] = [];
    const hosts: { address: string; names: string[] }[] = [];
    const hostname = obj.spec.hostname;
    let gateway: string | undefined;
    for (const n of plan.networks) {
      await this.ensureNetwork(n, name, stack);
      const r = await this.deps.runtime.networks.reserve(n.name, name, n.ipv4Address ? { address: n.ipv4Address } : {}).catch((err) => {
        // A static address refused (outside the subnet, the gateway, taken): a waiting status naming it, retried.
        if (n.ipv4Address && (isBerthError(err, "Conflict") || isBerthError(err, "InvalidArgument"))) throw failedPrecondition(`create container ${name}: ipv4Address ${n.ipv4Address} on network ${n.name}: ${(err as Error).message}`, { cause: err });
        throw err;
      });
      if (gateway === undefined) gateway = r.gateway;
      if (!nameservers.includes(r.gateway)) nameservers.push(r.gateway);
      hosts.push({ address: r.address, names: hosts.length === 0 ? [...new Set([...(hostname ? [hostname] : []), name, ...n.aliases])] : [name, ...n.aliases] });
    }
    const dns = { nameservers: nameservers.slice(0, 3), search: s.dnsSearch ?? [], options: s.dnsOptions ?? ["ndots:0"], ...(s.dns ? { upstreams: [...s.dns] } : {}) };
    return { networkMode: "bridge", dns, hosts, ...extra(gateway) };
  }

  private async ensureNetwork(n: { name: string; implicit: boolean }, container: string, stack: string): Promise<void> {
    const d = this.deps;
    if (n.implicit && !d.desired.get(keyOf("Network", n.name))) {
      await d.runtime.networks.create({ name: n.name, internal: false, labels: { [LABELS.stack]: stack, [DEFAULT_NETWORK_LABEL]: "true" } });
      return;
    }
    const declared = d.desired.get(keyOf("Network", n.name));
    if (!declared) throw failedPrecondition(`create container ${container}: network ${n.name} is not declared (add a Network object named ${n.name})`);
    const st = d.status.get(declared.key, "Network");
    if (!st.ready) throw failedPrecondition(`create container ${container}: network ${n.name} is not ready${st.message ? `: ${st.message}` : ""}`);
  }

  /** Joins the created container's namespace to its networks (bridge mode only). */
  async attach(obj: ContainerObject, stack: string, c: ContainerState): Promise<void> {
    const plan = networkPlanOf(obj, stack);
    if (plan.mode !== "bridge") return;
    if (!c.netns) throw failedPrecondition(`start container ${obj.metadata.name}: it has no network namespace of its own (created before networks were supported: it is recreated)`);
    let routed = false;
    for (const [i, n] of plan.networks.entries()) {
      const internal = (await this.deps.runtime.networks.inspect(n.name)).internal;
      const defaultRoute = !internal && !routed;
      if (defaultRoute) routed = true;
      await this.deps.runtime.networks.connect({
        network: n.name,
        container: obj.metadata.name,
        netns: c.netns,
        ifname: `eth${i}`,
        names: [obj.metadata.name, ...n.aliases],
        defaultRoute,
        ...(n.ipv4Address ? { address: n.ipv4Address } : {}),
        ...(obj.spec.dns ? { upstreams: [...obj.spec.dns] } : {}),
      });
    }
  }

  /** Publishes the desired ports if they differ from what is published; returns what is. */
  async syncPorts(obj: ContainerObject, stack: string, exposed?: Record<string, unknown>): Promise<PublishedPort[]> {
    const plan = networkPlanOf(obj, stack);
    const want = plan.mode === "bridge" ? portRequestsOf(obj, exposed) : [];
    const have = await this.deps.runtime.networks.published(obj.metadata.name);
    if (JSON.stringify(have.requested) === JSON.stringify(want)) return have.published;
    let target: string | undefined;
    if (plan.mode === "bridge" && want.length) {
      for (const n of plan.networks) {
        if (!(await this.deps.runtime.networks.inspect(n.name)).internal) {
          target = n.name;
          break;
        }
      }
      if (!target) throw failedPrecondition(`publish ports of container ${obj.metadata.name}: every network it joins is internal (no route from the host)`);
    }
    const published = await this.deps.runtime.networks.publish(obj.metadata.name, want, target);
    if (have.requested.length || want.length) {
      const text = published.map((p) => `${p.hostIP === "0.0.0.0" ? "" : `${p.hostIP}:`}${p.hostPort}->${p.containerPort}/${p.protocol}`).join(", ");
      this.deps.events.record("Normal", "Published", keyOf("Container", obj.metadata.name), want.length ? `published ${text}` : "unpublished every port");
    }
    return published;
  }

  /** Records the container's networking on its status (what `get -o wide`, `describe` and `port` show). */
  async record(key: string, obj: ContainerObject, stack: string, published: PublishedPort[]): Promise<void> {
    const plan = networkPlanOf(obj, stack);
    const attachments = plan.mode === "bridge" ? await this.deps.runtime.networks.attachments(obj.metadata.name) : [];
    const aliases = new Map(plan.mode === "bridge" ? plan.networks.map((n) => [n.name, n.aliases] as const) : []);
    const net = {
      mode: plan.mode === "container" ? `container:${plan.container}` : plan.mode,
      attachments: attachments.map((a) => ({ network: a.network, address: `${a.address}/${a.prefixLength}`, gateway: a.gateway, aliases: [...(aliases.get(a.network) ?? [])] })),
      ports: published.map((p) => ({ protocol: p.protocol, hostIP: p.hostIP, hostPort: p.hostPort, containerPort: p.containerPort })),
    };
    if (JSON.stringify(this.deps.status.get(key, "Container").net) !== JSON.stringify(net)) this.deps.status.update(key, "Container", (s) => void (s.net = net));
  }

  /** The container is gone for good: its addresses and ports, and an unused default network. */
  async release(name: string, stack: string | undefined): Promise<void> {
    const d = this.deps;
    await d.runtime.networks.release(name);
    if (!stack) return;
    const def = defaultNetworkName(stack);
    if (d.desired.get(keyOf("Network", def))) return;
    if (d.indexes.containersOnNetwork(def).some((k) => k !== keyOf("Container", name))) return;
    const net = await d.runtime.networks.inspect(def).catch(() => undefined);
    if (net && net.labels[DEFAULT_NETWORK_LABEL] === "true" && net.containers.length === 0) await d.runtime.networks.remove(def);
  }
}
