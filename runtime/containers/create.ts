import { randomBytes } from "node:crypto";
import * as os from "node:os";
import { alreadyExists, failedPrecondition, internal, invalidArgument } from "../../lib/errors.js";
import { isDnsName, isValidName } from "../../lib/names.js";
import { normalizeSignal } from "../../lib/signals.js";
import type { ContainerCreateSpec, ContainerState, ImageRecord, SnapshotStore } from "../types.js";
import { validateMounts } from "../volumes/mounts.js";
import type { RuntimeContext } from "./context.js";
import { checkInitBinary } from "./init-binary.js";
import { loggedPhaseTimer } from "./options.js";
import { ensureNetns, netnsMadeAtCreate, netnsNameOf, removeNetns, sharedContainerId } from "./netns.js";
import { stateOf, type ContainerRecord } from "./records.js";
import { settleAll } from "./settle-all.js";
import { buildOciSpec } from "./spec-builder.js";

/**
 * create: validate everything pure about the spec before allocating anything, resolve the
 * image, unpack its layers, then reserve the name (O_EXCL file: AlreadyExists when taken)
 * and prepare the writable layer, take the volumes, and save the record "created" last.
 *
 * Crash-safe ordering: a container exists iff its record does. A create that dies before
 * the record is saved leaves at worst a reserved name (released by the next create of that
 * name, since no record holds it), and a writable layer and volume references that no
 * record names (nothing reclaims those yet).
 */
/**
 * The checks of a create spec that need nothing but the spec (name, labels, stop signal,
 * mounts): InvalidArgument naming what is wrong. Every ContainerRuntime implementation
 * (the fake in runtime/testing/ too) runs these first.
 */
export function validateCreateSpec(spec: ContainerCreateSpec): void {
  if (!isValidName(spec.name)) {
    throw invalidArgument(`create container ${JSON.stringify(spec.name)}: invalid name`, { object: { kind: "container", name: String(spec.name) } });
  }
  for (const [k, v] of Object.entries(spec.labels ?? {})) {
    if (typeof v !== "string") throw invalidArgument(`create container ${spec.name}: label ${k} must be a string`);
  }
  if (spec.stopSignal !== undefined && !normalizeSignal(spec.stopSignal)) {
    throw invalidArgument(`create container ${spec.name}: invalid stop signal ${JSON.stringify(spec.stopSignal)}`);
  }
  validateMounts(spec.mounts, spec.name);
  validateNetworkSpec(spec);
}

const ADDRESS_RE = /^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;
const RESOLV_OPTION_RE = /^[a-z][a-z0-9_-]*(:[0-9]+)?$/;

/** Network mode, resolvers and hosts entries reach /etc files and namespace paths: checked here. */
function validateNetworkSpec(spec: ContainerCreateSpec): void {
  const bad = (what: string) => invalidArgument(`create container ${spec.name}: ${what}`);
  const mode = spec.networkMode as string;
  if (!(mode === "host" || mode === "none" || mode === "bridge" || /^container:[0-9a-f]{64}$/.test(mode))) {
    throw bad(`invalid network mode ${JSON.stringify(mode)} (expected host, none, bridge or container:<id>)`);
  }
  for (const ns of spec.dns?.nameservers ?? []) if (!ADDRESS_RE.test(ns)) throw bad(`invalid nameserver ${JSON.stringify(ns)}`);
  for (const d of spec.dns?.search ?? []) if (!isDnsName(d)) throw bad(`invalid search domain ${JSON.stringify(d)}`);
  for (const o of spec.dns?.options ?? []) if (!RESOLV_OPTION_RE.test(o)) throw bad(`invalid resolver option ${JSON.stringify(o)}`);
  for (const u of spec.dns?.upstreams ?? []) if (!ADDRESS_RE.test(u)) throw bad(`invalid upstream nameserver ${JSON.stringify(u)}`);
  if (spec.extraHosts?.length && mode.startsWith("container:")) throw bad("extra hosts cannot be set when sharing another container's network (its /etc/hosts is used)");
  for (const h of [...(spec.hosts ?? []), ...(spec.extraHosts ?? [])]) {
    if (!ADDRESS_RE.test(h.address)) throw bad(`invalid hosts address ${JSON.stringify(h.address)}`);
    for (const n of h.names) if (!isDnsName(n)) throw bad(`invalid hosts name ${JSON.stringify(n)}`);
  }
}

/**
 * What building the OCI spec of `spec` over `image` would refuse (no command, bad
 * capabilities, resources, ...), found by building it with placeholder paths: InvalidArgument.
 * Every ContainerRuntime implementation runs this at create, before allocating anything.
 */
export function checkSpecWithImage(spec: ContainerCreateSpec, image: ImageRecord["config"], id: string, cgroupsPath: string, knownCapabilities?: Parameters<typeof buildOciSpec>[0]["knownCapabilities"]): void {
  buildOciSpec({
    id,
    spec,
    image,
    rootfs: "/",
    user: { uid: 0, gid: 0, additionalGids: [], home: "/" },
    mounts: [],
    etcFiles: { hosts: "/", resolvConf: "/", hostname: "/" },
    rlimits: [],
    cgroupsPath,
    hostHostname: os.hostname(),
    ...(knownCapabilities ? { knownCapabilities } : {}),
    ...(spec.init ? { initBinary: "/" } : {}),
  });
}

export async function createContainer(ctx: RuntimeContext, spec: ContainerCreateSpec): Promise<ContainerState> {
  validateCreateSpec(spec);
  const t = loggedPhaseTimer(ctx, "create", spec.name);
  const { images, snapshots, volumes: volumeStore } = ctx.opts;
  if (!images || !snapshots) {
    throw failedPrecondition(`create container ${spec.name}: the runtime has no image or snapshot store`);
  }
  const holder = await ctx.records.idOfName(spec.name);
  if (holder && !(await ctx.records.load(holder))) {
    // A create that crashed between reserving the name and saving the record.
    await ctx.records.releaseName(spec.name, holder);
  } else if (holder) {
    throw alreadyExists(`create container ${spec.name}: the name is in use`, { object: { kind: "container", name: spec.name } });
  }
  const shared = sharedContainerId(spec);
  if (shared !== undefined && !(await ctx.records.load(shared))) {
    throw failedPrecondition(`create container ${spec.name}: the container whose network it shares (${shared.slice(0, 12)}) does not exist`);
  }
  if (spec.init) await checkInitBinary(ctx.opts.initPath, spec.name, "create");
  const image = await images.get(spec.image);
  const id = randomBytes(32).toString("hex");
  const cgroupsPath = `/${ctx.opts.cgroupParent}/${id}`;
  // Everything pure about the spec is checked now, before anything is allocated.
  checkSpecWithImage(spec, image.config, id, cgroupsPath, ctx.knownCaps);
  t.mark("image+checks");
  await unpackImage(snapshots, image);
  t.mark("unpack");
  const volumes = [...new Set(spec.mounts.flatMap((m) => (m.type === "volume" ? [m.source] : [])))];
  try {
    // The name and the writable layer are independent; on failure (e.g. the name was taken
    // meanwhile: AlreadyExists) both are undone below, the name only if it is ours.
    await settleAll([ctx.records.reserveName(spec.name, id), snapshots.prepare(id, image.chainIds)]);
    t.mark("name+layer");
    for (const v of volumes) {
      if (!volumeStore) throw failedPrecondition(`create container ${spec.name}: volume ${v} needs a volume store`);
      await volumeStore.acquire(v, id);
    }
    const rec: ContainerRecord = {
      version: 1,
      id,
      name: spec.name,
      spec: structuredClone(spec),
      imageDigest: image.digest,
      imageConfig: image.config,
      chainIds: image.chainIds,
      cgroupsPath,
      createdAt: ctx.nowIso(),
      status: "created",
      oomKilled: false,
      volumes,
    };
    await ctx.records.save(rec);
    t.mark("record");
    // After the record, so that no namespace outlives a record naming it (remove deletes it).
    // Bridge only: the network driver attaches it before the first run; none's is made by
    // that run (netns.ts).
    if (netnsMadeAtCreate(spec)) await ensureNetns(netnsNameOf(id));
    t.mark("netns");
    t.done();
    return stateOf(rec);
  } catch (err) {
    await snapshots.removeContainerLayer(id).catch(() => {});
    for (const v of volumes) await volumeStore?.release(v, id).catch(() => {});
    await removeNetns(netnsNameOf(id)).catch(() => {});
    await ctx.records.remove(id).catch(() => {});
    await ctx.records.releaseName(spec.name, id).catch(() => {});
    throw err;
  }
}

/** The image's layers not yet unpacked, unpacked at once (snapshots.unpackChain); their chain must be the record's. */
async function unpackImage(snapshots: SnapshotStore, image: ImageRecord): Promise<void> {
  const ids = await snapshots.unpackChain(image.layers.map((desc, i) => ({ desc, diffId: image.diffIds[i]! })));
  const i = ids.findIndex((id, n) => id !== image.chainIds[n]);
  if (i >= 0) throw internal(`unpack image ${image.digest}: layer ${i} has chain ID ${ids[i]}, the record says ${image.chainIds[i]}`);
}
