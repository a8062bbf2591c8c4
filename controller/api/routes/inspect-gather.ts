/**
 * What the service facade does for `top`, `inspect` and `stats`: the desired object is
 * required (a container no manifest has is NotFound, as for logs and exec), then the
 * runtime's facts are read. The runtime names a container as its object (ContainerState.name).
 */
import { failedPrecondition, errorMessage, isBerthError, notFound, notImplemented } from "../../../lib/errors.js";
import { resolveCommand } from "../../../runtime/containers/spec-builder.js";
import { readHostCounters } from "../../../runtime/containers/stats.js";
import type { ContainerRuntime, ContainerStatsReading } from "../../../runtime/types.js";
import type { ContainerObject } from "../../manifests/model.js";
import type { ReconcilerDeps } from "../../reconcilers/context.js";
import type { ContainerReconciler } from "../../reconcilers/container/reconciler.js";
import { effectiveCheckOf } from "../../reconcilers/container/observe.js";
import { keyOf } from "../../store/keys.js";
import type { StoredObject } from "../../store/types.js";
import type { ContainerInspect, ContainerTop } from "../protocol.js";
import { dockerInspectOf } from "./inspect-view.js";

function required(deps: ReconcilerDeps, name: string, verb: string): StoredObject {
  const s = deps.desired.get(keyOf("Container", name));
  if (!s) throw notFound(`${verb} container ${name}: not found`, { object: { kind: "Container", name } });
  return s;
}

function runtimeWith<K extends "top" | "stats" | "detail">(deps: ReconcilerDeps, method: K, what: string): Required<Pick<ContainerRuntime, K>> {
  const rt = deps.runtime.containers;
  if (!rt[method]) throw notImplemented(`${what}: this runtime cannot read it`);
  return rt as unknown as Required<Pick<ContainerRuntime, K>>;
}

/** A container that has no runtime container yet (pending its image, say) is FailedPrecondition, not NotFound. */
async function notYet<T>(name: string, verb: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw failedPrecondition(`${verb} container ${name}: it has no runtime container yet (see berth describe ctr ${name})`, { cause: err, object: { kind: "Container", name } });
    throw err;
  }
}

export async function topOfContainer(deps: ReconcilerDeps, name: string, psArgs: string[] | undefined): Promise<ContainerTop> {
  required(deps, name, "top");
  const rt = runtimeWith(deps, "top", `top container ${name}`);
  return notYet(name, "top", rt.top(name, psArgs));
}

export async function inspectContainer(deps: ReconcilerDeps, containers: ContainerReconciler, name: string): Promise<ContainerInspect> {
  const stored = required(deps, name, "inspect");
  const rt = runtimeWith(deps, "detail", `inspect container ${name}`);
  const detail = await notYet(name, "inspect", rt.detail(name));
  const obj = stored.object as ContainerObject;
  const status = containers.statusView(stored);
  const { check } = effectiveCheckOf(obj, deps.indexes, detail.imageConfig.Healthcheck);
  const health = containers.monitors.health(stored.key, detail.state);
  const volumeMountpoints: Record<string, string> = {};
  for (const m of detail.spec.mounts) {
    if (m.type !== "volume") continue;
    const v = await deps.runtime.volumes.inspect(m.source).catch(() => undefined);
    if (v) volumeMountpoints[m.source] = v.mountpoint;
  }
  const interfaces: Record<string, string> = {};
  for (const a of await deps.runtime.networks.attachments(name).catch(() => [])) interfaces[a.network] = a.ifname;
  let argv: string[] | undefined;
  try {
    argv = resolveCommand(detail.imageConfig, detail.spec);
  } catch {
    argv = undefined;
  }
  const view = dockerInspectOf({
    detail,
    object: { image: obj.spec.image, restartPolicy: obj.spec.restartPolicy, ports: obj.spec.ports },
    status,
    ...(check ? { check } : {}),
    ...(health ? { health } : {}),
    volumeMountpoints,
    interfaces,
    ...(argv ? { argv } : {}),
  });
  return view as unknown as ContainerInspect;
}

/** Names given must be declared containers; without names, the declared ones running now (all: every declared one). */
export async function statsTargets(deps: ReconcilerDeps, containers: ContainerReconciler, names: string[], all: boolean): Promise<string[]> {
  if (names.length) {
    for (const n of names) required(deps, n, "stats");
    return [...new Set(names)];
  }
  return deps.indexes
    .keysOfKind("Container")
    .map((k) => deps.desired.get(k)!)
    .filter((s) => all || containers.statusView(s).phase === "Running")
    .map((s) => s.name)
    .sort();
}

export async function statsReadings(deps: ReconcilerDeps, names: string[]): Promise<{ name: string; reading?: ContainerStatsReading; error?: string }[]> {
  const rt = runtimeWith(deps, "stats", "stats");
  const host = await readHostCounters();
  return Promise.all(
    names.map(async (name) => {
      try {
        return { name, reading: await rt.stats(name, { host }) };
      } catch (err) {
        return { name, error: errorMessage(err) };
      }
    }),
  );
}
