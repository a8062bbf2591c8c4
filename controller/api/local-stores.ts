/**
 * Volumes and networks as `docker volume` and `docker network` see them: the desired objects
 * (Volume, Network) joined with what the runtime has, so that what berth made without an
 * object — a container's mount of an undeclared volume name or an anonymous `/path` mount, a
 * stack's default network, the build network — is listed, inspected and removed too.
 *
 * "In use" is a fact of the desired state first: a volume is used while a desired container
 * mounts it, a network while a desired container is on it (DesiredIndexes). The runtime's own
 * refusals (a mounted volume, an attached network) come on top and are never forced.
 *
 * The item builders are pure (tested in local-stores.test.ts); the functions taking
 * `StoreDeps` read the stores and the runtime once each, then build.
 */
import { createHash } from "node:crypto";
import { failedPrecondition, isBerthError, notFound } from "../../lib/errors.js";
import type { AttachmentState, ContainerState, NetworkState, VolumeRecord } from "../../runtime/types.js";
import { LABELS } from "../labels.js";
import type { ContainerObject, NetworkObject, VolumeObject } from "../manifests/model.js";
import { anonymousVolumeName } from "../reconcilers/container/container-spec.js";
import type { ReconcilerDeps } from "../reconcilers/context.js";
import { defaultNetworkName, keyOf } from "../store/keys.js";
import type { StoredObject } from "../store/types.js";
import type { ChangeEntry, NetworkStoreItem, StoreRemoveResponse, VolumeStoreItem } from "./protocol.js";

/** Annotations `berth volume create` and `berth network create` put on the objects they apply. */
export const STORE_ANNOTATIONS = {
  /** `"true"` on a volume created without a name (`docker volume create` with no NAME): what `volume prune` removes without --all. */
  anonymous: "berth.dev/anonymous",
  /** Which command applied the object (`volume create`, `network create`; `berth run` may set `run`). */
  createdBy: "berth.dev/created-by",
} as const;

/** The label the container reconciler puts on a stack's default network (networking.ts). */
const DEFAULT_NETWORK_LABEL = "berth.dev/default-network";
/** The label of the network RUN steps of builds join (runtime/build/executor/run-step.ts). */
const BUILD_NETWORK_LABEL = "berth.dev/build-network";
/** Runtime names of anonymous mounts (container-spec.ts anonymousVolumeName): `<container>-anon-<12 hex>`. */
const ANONYMOUS_RUNTIME_NAME = /-anon-[0-9a-f]{12}$/;

export interface StoreDeps {
  deps: Pick<ReconcilerDeps, "desired" | "indexes" | "runtime" | "status">;
  /** The service's delete of a desired object (events, terminating containers, enqueue). */
  deleteObject(kind: "Volume" | "Network", name: string): Promise<ChangeEntry>;
}

/** What `volumeItems` needs of a Volume object. */
export interface VolumeObjectInput {
  stored: StoredObject;
  /** Its status message, when not ready. */
  message?: string;
}

/** Volume objects and runtime volumes joined by name, in name order (pure). */
export function volumeItems(objects: VolumeObjectInput[], runtime: VolumeRecord[], usersOf: (name: string) => string[]): VolumeStoreItem[] {
  const byName = new Map(runtime.map((v) => [v.name, v]));
  const out: VolumeStoreItem[] = [];
  const declared = new Set<string>();
  for (const { stored, message } of objects) {
    declared.add(stored.name);
    const obj = stored.object as VolumeObject;
    const rec = byName.get(stored.name);
    out.push({
      name: stored.name,
      driver: "local",
      declared: true,
      stack: stored.stack,
      anonymous: obj.metadata.annotations[STORE_ANNOTATIONS.anonymous] === "true",
      labels: { ...obj.metadata.labels },
      options: rec ? { ...rec.options } : specOptions(obj),
      ...(rec ? { mountpoint: rec.mountpoint } : {}),
      createdAt: rec?.createdAt ?? stored.createdAt,
      exists: rec !== undefined,
      usedBy: usersOf(stored.name),
      ...(message ? { message } : {}),
    });
  }
  for (const rec of runtime) {
    if (declared.has(rec.name)) continue;
    const stack = rec.labels[LABELS.stack];
    out.push({
      name: rec.name,
      driver: "local",
      declared: false,
      ...(stack ? { stack } : {}),
      anonymous: ANONYMOUS_RUNTIME_NAME.test(rec.name),
      labels: withoutBerthLabels(rec.labels),
      options: { ...rec.options },
      mountpoint: rec.mountpoint,
      createdAt: rec.createdAt,
      exists: true,
      usedBy: usersOf(rec.name),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The runtime options a Volume object's reconcile creates its volume with (volume/reconciler.ts). */
function specOptions(obj: VolumeObject): Record<string, string> {
  const o = obj.spec.options;
  const out: Record<string, string> = {};
  if (o.type) out.type = o.type;
  if (o.sizeBytes !== undefined) out.size = String(o.sizeBytes);
  if (o.mode !== undefined) out.mode = o.mode.toString(8).padStart(4, "0");
  return out;
}

function withoutBerthLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k !== LABELS.stack && k !== LABELS.object && k !== LABELS.specHash));
}

export interface NetworkItemsInput {
  objects: StoredObject[];
  runtime: NetworkState[];
  attachments: AttachmentState[];
  containers: Pick<ContainerState, "id" | "name">[];
  /** Desired containers on a network, by name. */
  usersOf: (name: string) => string[];
}

/** Network objects and runtime networks joined by name, in name order (pure). */
export function networkItems(input: NetworkItemsInput): NetworkStoreItem[] {
  const byName = new Map(input.runtime.map((n) => [n.name, n]));
  const ids = new Map(input.containers.map((c) => [c.name, c.id]));
  const attachedTo = (name: string, net: NetworkState | undefined) => {
    const found = input.attachments.filter((a) => a.network === name);
    const names = new Set([...found.map((a) => a.container), ...(net?.containers ?? [])]);
    return [...names].sort().map((c) => {
      const a = found.find((x) => x.container === c);
      const id = ids.get(c);
      return { name: c, ...(id ? { id } : {}), address: a ? `${a.address}/${a.prefixLength}` : "" };
    });
  };
  const out: NetworkStoreItem[] = [];
  const declared = new Set<string>();
  for (const stored of input.objects) {
    declared.add(stored.name);
    const obj = stored.object as NetworkObject;
    const net = byName.get(stored.name);
    const subnet = net?.subnet ?? obj.spec.subnet;
    const gateway = net?.gateway ?? obj.spec.gateway;
    out.push({
      name: stored.name,
      id: networkId(stored.name, stored.createdAt),
      driver: "bridge",
      declared: true,
      role: "object",
      stack: stored.stack,
      exists: net !== undefined,
      ...(subnet ? { subnet } : {}),
      ...(gateway ? { gateway } : {}),
      internal: net?.internal ?? obj.spec.internal,
      ...(net ? { bridge: net.bridge } : {}),
      labels: { ...obj.metadata.labels },
      createdAt: net?.createdAt ?? stored.createdAt,
      usedBy: input.usersOf(stored.name),
      containers: attachedTo(stored.name, net),
    });
  }
  for (const net of input.runtime) {
    if (declared.has(net.name)) continue;
    const stack = net.labels[LABELS.stack];
    const role: NetworkStoreItem["role"] = net.labels[BUILD_NETWORK_LABEL] === "true" ? "build" : net.labels[DEFAULT_NETWORK_LABEL] === "true" ? "default" : "other";
    out.push({
      name: net.name,
      id: networkId(net.name, net.createdAt),
      driver: "bridge",
      declared: false,
      role,
      ...(stack ? { stack } : {}),
      exists: true,
      subnet: net.subnet,
      gateway: net.gateway,
      internal: net.internal,
      bridge: net.bridge,
      labels: withoutBerthLabels(net.labels),
      createdAt: net.createdAt,
      usedBy: input.usersOf(net.name),
      containers: attachedTo(net.name, net),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A network's ID as `docker network ls` shows one: 64 hex digits, stable for its name and creation time. */
export function networkId(name: string, createdAt: string): string {
  return createHash("sha256").update(`network\0${name}\0${createdAt}`).digest("hex");
}

const namesOf = (keys: string[]) => keys.map((k) => k.slice(k.indexOf("/") + 1));

/**
 * The desired containers mounting each volume, by name: named mounts from the index, and each
 * anonymous `/path` mount under the runtime name its container gets for it.
 */
function volumeUsers(d: StoreDeps["deps"]): (name: string) => string[] {
  const anonymous = new Map<string, string[]>();
  for (const s of d.desired.list({ kind: "Container" })) {
    for (const m of (s.object as ContainerObject).spec.mounts) {
      if (m.type !== "volume" || m.source) continue;
      const n = anonymousVolumeName(s.name, m.target);
      anonymous.set(n, [...(anonymous.get(n) ?? []), s.name]);
    }
  }
  return (name) => [...new Set([...namesOf(d.indexes.containersUsingVolume(name)), ...(anonymous.get(name) ?? [])])].sort();
}

export async function listVolumeStore(s: StoreDeps): Promise<VolumeStoreItem[]> {
  const d = s.deps;
  const objects = d.desired.list({ kind: "Volume" }).map((stored) => {
    const st = d.status.get(stored.key, "Volume");
    return { stored, ...(!st.ready && st.message ? { message: st.message } : {}) };
  });
  return volumeItems(objects, await d.runtime.volumes.list(), volumeUsers(d));
}

export async function listNetworkStore(s: StoreDeps): Promise<NetworkStoreItem[]> {
  const d = s.deps;
  const [runtime, attachments, containers] = await Promise.all([d.runtime.networks.list(), d.runtime.networks.attachments(), d.runtime.containers.list()]);
  return networkItems({ objects: d.desired.list({ kind: "Network" }), runtime, attachments, containers, usersOf: (name) => namesOf(d.indexes.containersOnNetwork(name)) });
}

const users = (names: string[]) => `${names.length === 1 ? "container" : "containers"} ${names.join(", ")}`;

/**
 * `berth volume rm`: a Volume object is deleted from the desired state (its reconcile removes
 * the volume once no container has it mounted); a volume no object declares is removed from
 * the runtime now. FailedPrecondition, naming them, while desired containers mount it —
 * unless `force`; the runtime's refusal of a volume a container has mounted is never forced.
 */
export async function removeVolume(s: StoreDeps, name: string, options: { force: boolean }): Promise<StoreRemoveResponse> {
  const d = s.deps;
  const object = { kind: "Volume", name };
  const usedBy = volumeUsers(d)(name);
  const declared = d.desired.get(keyOf("Volume", name));
  if (usedBy.length && !options.force) {
    throw failedPrecondition(`remove volume ${name}: it is in use by ${users(usedBy)} (desired: a manifest mounts it); remove ${usedBy.length === 1 ? "that container" : "those containers"} first, or -f to delete the volume object anyway`, { object });
  }
  if (declared) {
    await s.deleteObject("Volume", name);
    return { name, declared: true };
  }
  try {
    await d.runtime.volumes.remove(name);
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw notFound(`remove volume ${name}: no such volume`, { object, cause: err });
    throw err;
  }
  return { name, declared: false };
}

/**
 * `berth network rm`: a Network object is deleted from the desired state (the service refuses
 * while containers are on it); a network no object declares is removed from the runtime now —
 * never the build network, nor a stack's default network while a desired container is on it.
 */
export async function removeNetwork(s: StoreDeps, name: string): Promise<StoreRemoveResponse> {
  const d = s.deps;
  const object = { kind: "Network", name };
  if (d.desired.get(keyOf("Network", name))) {
    await s.deleteObject("Network", name);
    return { name, declared: true };
  }
  const net = await d.runtime.networks.inspect(name).catch((err: unknown) => {
    if (isBerthError(err, "NotFound")) throw notFound(`remove network ${name}: no such network`, { object, cause: err });
    throw err;
  });
  if (net.labels[BUILD_NETWORK_LABEL] === "true") throw failedPrecondition(`remove network ${name}: it is berth's build network (RUN steps of image builds join it); berth makes it again for the next build`, { object });
  const usedBy = namesOf(d.indexes.containersOnNetwork(name));
  if (usedBy.length) {
    const stack = net.labels[LABELS.stack];
    const what = net.labels[DEFAULT_NETWORK_LABEL] === "true" && stack && defaultNetworkName(stack) === name ? `the default network of stack ${stack}, ` : "";
    throw failedPrecondition(`remove network ${name}: ${what}in use by ${users(usedBy)}; remove ${usedBy.length === 1 ? "that container" : "those containers"} first`, { object });
  }
  await d.runtime.networks.remove(name);
  return { name, declared: false };
}
