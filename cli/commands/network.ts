/**
 * `berth network create|ls|inspect|rm|prune` with Docker's conventions and output. `create`
 * applies a Network object through `POST /v1/apply` (stack `cli` unless --stack), so a
 * network made by hand is an object like any other: a manifest's container joins it by name
 * (`networks: [{name: N}]`). `ls`, `inspect`, `rm` and `prune` also see the networks berth
 * made itself (`/v1/network-store`): each stack's default network and the build network.
 *
 * "In use" is berth's: a desired Container is on it (named in its `networks`, or — for a
 * stack's default network — a container of that stack with no network named).
 */
import { stringify } from "yaml";
import { STORE_ANNOTATIONS } from "../../controller/api/local-stores.js";
import type { NetworkStoreItem } from "../../controller/api/protocol.js";
import { alreadyExists, notFound, notImplemented } from "../../lib/errors.js";
import { assertValidName } from "../../lib/names.js";
import type { CommandContext } from "../client.js";
import { checkStackName } from "../manifest-args.js";
import { formatTable } from "../table.js";
import { booleanFilter, confirm, labelMatches, listOutput, matchesAll, parseFilters, parseKeyValues, parseUntil, removeEach, removeForPrune, type Filter } from "./store-args.js";
import { applyError, CLI_STACK } from "./volume.js";

export interface NetworkCreateOptions {
  driver?: string;
  subnet?: string;
  gateway?: string;
  internal: boolean;
  label: string[];
  stack?: string;
}

/** The Network object `network create` applies. */
export function networkObject(name: string, o: Pick<NetworkCreateOptions, "subnet" | "gateway" | "internal">, labels: Record<string, string>) {
  return {
    apiVersion: "berth/v1",
    kind: "Network",
    metadata: { name, ...(Object.keys(labels).length ? { labels } : {}), annotations: { [STORE_ANNOTATIONS.createdBy]: "network-create" } },
    spec: { driver: "bridge", ...(o.subnet ? { subnet: o.subnet } : {}), ...(o.gateway ? { gateway: o.gateway } : {}), ...(o.internal ? { internal: true } : {}) },
  };
}

/** `network create NAME`: prints the network's ID, as Docker. A name that exists is AlreadyExists (exit 4), as Docker's. */
export async function networkCreate(ctx: CommandContext, name: string, o: NetworkCreateOptions): Promise<number> {
  if ((o.driver ?? "bridge") !== "bridge") throw notImplemented(`create network ${name}: driver ${JSON.stringify(o.driver)} is not supported (only bridge)`);
  assertValidName(name, "network name");
  const stack = checkStackName(o.stack ?? CLI_STACK);
  const labels = parseKeyValues(o.label, "--label", { bareAllowed: true });
  const items = await ctx.client.listNetworkStore();
  const existing = items.find((n) => n.name === name);
  if (existing) throw alreadyExists(`create network ${name}: network with name ${name} already exists${existing.stack ? ` (stack ${existing.stack})` : ""}`, { object: { kind: "Network", name } });
  const res = await ctx.client.apply({ stack, files: [{ file: `<berth network create ${name}>`, text: stringify(networkObject(name, o, labels)), baseDir: process.cwd() }] });
  const err = applyError(`create network ${name}`, res);
  if (err) throw err;
  const created = (await ctx.client.listNetworkStore()).find((n) => n.name === name);
  ctx.stdout.write(`${created?.id ?? name}\n`);
  return 0;
}

export const NETWORK_LS_FILTERS = ["dangling", "driver", "id", "label", "name", "scope", "type"] as const;

/** `type=builtin` in berth: the networks berth makes itself (stacks' default networks, the build network); `custom`: the others. */
const isBuiltin = (n: NetworkStoreItem) => n.role === "default" || n.role === "build";

/** Docker's dangling for a network: nothing uses it, desired or attached. */
export const networkUnused = (n: NetworkStoreItem) => n.usedBy.length === 0 && n.containers.length === 0;

export function filterNetworks(items: NetworkStoreItem[], filters: Filter[]): NetworkStoreItem[] {
  return items.filter((n) =>
    matchesAll(filters, (f) => {
      switch (f.key) {
        case "dangling":
          return networkUnused(n) === booleanFilter(f);
        case "driver":
          return n.driver === f.value;
        case "id":
          return n.id.startsWith(f.value);
        case "label":
          return labelMatches(n.labels, f);
        case "name":
          return n.name.includes(f.value);
        case "scope":
          return f.value === "local";
        case "type":
          return f.value === "builtin" ? isBuiltin(n) : f.value === "custom" ? !isBuiltin(n) : false;
        default:
          return false;
      }
    }),
  );
}

/**
 * What `network prune` removes (pure): networks no desired container is on and no container
 * is attached to, matching the filters (label, until: created before). Never the build
 * network; a stack's default network only once no desired container of the stack is on it
 * (then it is an unused network as any other: berth makes it again for the stack's next container).
 */
export function networksToPrune(items: NetworkStoreItem[], filters: Filter[], now: number): NetworkStoreItem[] {
  return items.filter(
    (n) =>
      n.role !== "build" &&
      networkUnused(n) &&
      matchesAll(filters, (f) => (f.key === "label" ? labelMatches(n.labels, f) : f.key === "until" ? n.createdAt !== undefined && Date.parse(n.createdAt) < parseUntil(f.value, now) : false)),
  );
}

/** `docker network inspect`'s shape, with berth's own facts under `Berth`. */
export function dockerNetwork(n: NetworkStoreItem) {
  const containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> = {};
  for (const c of n.containers) containers[c.id ?? c.name] = { Name: c.name, EndpointID: "", MacAddress: "", IPv4Address: c.address, IPv6Address: "" };
  return {
    Name: n.name,
    Id: n.id,
    Created: n.createdAt ?? "",
    Scope: "local",
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: n.subnet ? [{ Subnet: n.subnet, ...(n.gateway ? { Gateway: n.gateway } : {}) }] : [] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: n.bridge ? { "com.docker.network.bridge.name": n.bridge } : {},
    Labels: n.labels,
    Berth: { Stack: n.stack ?? "", Object: n.declared, Role: n.role, Exists: n.exists, UsedBy: n.usedBy },
  };
}

export interface NetworkLsOptions {
  quiet: boolean;
  filter: string[];
  noTrunc: boolean;
  output?: string;
  format?: string;
}

export async function networkLs(ctx: CommandContext, o: NetworkLsOptions): Promise<number> {
  const out = listOutput(o);
  const items = filterNetworks(await ctx.client.listNetworkStore(), parseFilters(o.filter, NETWORK_LS_FILTERS));
  const id = (n: NetworkStoreItem) => (o.noTrunc ? n.id : n.id.slice(0, 12));
  if (o.quiet) ctx.stdout.write(items.map((n) => `${id(n)}\n`).join(""));
  else if (out === "docker-json") {
    ctx.stdout.write(items.map((n) => `${JSON.stringify({ CreatedAt: n.createdAt ?? "", Driver: n.driver, ID: id(n), Internal: String(n.internal), Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(","), Name: n.name, Scope: "local", Stack: n.stack ?? "" })}\n`).join(""));
  } else if (out === "json") ctx.stdout.write(`${JSON.stringify({ items }, null, 2)}\n`);
  else if (out === "yaml") ctx.stdout.write(stringify({ items }, { lineWidth: 0 }));
  else if (out === "name") ctx.stdout.write(items.map((n) => `network/${n.name}\n`).join(""));
  else {
    const rows = items.map((n) => [id(n), n.name, n.driver, "local", n.subnet ?? "", n.stack ?? "", n.usedBy.join(",")]);
    ctx.stdout.write(formatTable(["NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET", "STACK", "USED BY"], rows));
  }
  return 0;
}

/** `network inspect NAME|ID...`: by name, else by a unique ID prefix; NotFound (exit 3) for the first that is none, after printing the others. */
export async function networkInspect(ctx: CommandContext, refs: string[]): Promise<number> {
  const items = await ctx.client.listNetworkStore();
  const found: ReturnType<typeof dockerNetwork>[] = [];
  const missing: string[] = [];
  for (const ref of refs) {
    const n = resolveNetwork(items, ref);
    if (n) found.push(dockerNetwork(n));
    else missing.push(ref);
  }
  ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  if (missing.length) throw notFound(`inspect network ${missing.join(", ")}: no such network`, { object: { kind: "Network", name: missing[0]! } });
  return 0;
}

/** A network by its name, else by an ID prefix that only it has. */
export function resolveNetwork(items: NetworkStoreItem[], ref: string): NetworkStoreItem | undefined {
  const byName = items.find((n) => n.name === ref);
  if (byName) return byName;
  const byId = /^[0-9a-f]+$/.test(ref) ? items.filter((n) => n.id.startsWith(ref)) : [];
  return byId.length === 1 ? byId[0] : undefined;
}

/** `network rm NAME|ID...`: each in turn (printed as removed); the first failure's exit code after trying them all. */
export async function networkRm(ctx: CommandContext, refs: string[], o: { force: boolean }): Promise<number> {
  const items = await ctx.client.listNetworkStore();
  return removeEach(
    ctx,
    refs,
    async (ref) => {
      const n = resolveNetwork(items, ref);
      if (!n) throw notFound(`remove network ${ref}: no such network`, { object: { kind: "Network", name: ref } });
      await ctx.client.removeNetwork(n.name);
    },
    o,
  );
}

export async function networkPrune(ctx: CommandContext, o: { force: boolean; filter: string[] }): Promise<number> {
  const filters = parseFilters(o.filter, ["label", "until"], ["label"]);
  if (!o.force && !(await confirm(ctx, "berth network prune", "WARNING! This will remove all custom networks not used by at least one desired container."))) return 0;
  const chosen = networksToPrune(await ctx.client.listNetworkStore(), filters, ctx.clock.now());
  return removeForPrune(ctx, chosen.map((n) => n.name), (name) => ctx.client.removeNetwork(name), "Networks");
}
