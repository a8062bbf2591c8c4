import { createHash } from "node:crypto";
import type { ContainerCreateSpec, MountSpec } from "../../../runtime/types.js";
import { LABELS } from "../../labels.js";
import { objectKey, type ContainerObject } from "../../manifests/model.js";

/** The runtime name of the anonymous volume a container gets for a target (`-v /data`). */
export function anonymousVolumeName(container: string, target: string): string {
  return `${container.slice(0, 40)}-anon-${createHash("sha256").update(target).digest("hex").slice(0, 12)}`;
}

/**
 * The runtime's create spec of a desired container (pure). `envFiles` holds the parsed
 * variables of each of the spec's env files, by path; variables of `env` win over them,
 * later entries over earlier ones. The labels carry ownership and the spec hash. `network`:
 * the network fields networking.ts prepared (default: none).
 */
export function toCreateSpec(
  obj: ContainerObject,
  ctx: { stack: string; specHash: string; envFiles: Record<string, { name: string; value: string }[]>; network?: Pick<ContainerCreateSpec, "networkMode" | "dns" | "hosts" | "extraHosts"> },
): ContainerCreateSpec {
  const s = obj.spec;
  const name = obj.metadata.name;
  const env: Record<string, string> = {};
  for (const f of s.envFiles) for (const v of ctx.envFiles[f] ?? []) env[v.name] = v.value;
  for (const v of s.env) env[v.name] = v.value;
  const mounts: MountSpec[] = s.mounts.map((m) => {
    switch (m.type) {
      case "volume":
        return { type: "volume", source: m.source ?? anonymousVolumeName(name, m.target), target: m.target, readOnly: m.readOnly };
      case "bind":
        return { type: "bind", source: m.source, target: m.target, readOnly: m.readOnly };
      case "tmpfs":
        return {
          type: "tmpfs",
          target: m.target,
          readOnly: m.readOnly,
          ...(m.sizeBytes !== undefined ? { sizeBytes: m.sizeBytes } : {}),
          ...(m.mode !== undefined ? { mode: m.mode } : {}),
        };
    }
  });
  const spec: ContainerCreateSpec = {
    name,
    image: s.image,
    labels: { ...obj.metadata.labels, [LABELS.stack]: ctx.stack, [LABELS.object]: objectKey(obj), [LABELS.specHash]: ctx.specHash },
    env,
    mounts,
    networkMode: ctx.network?.networkMode ?? "none",
    ...(ctx.network?.dns ? { dns: ctx.network.dns } : {}),
    ...(ctx.network?.hosts ? { hosts: ctx.network.hosts } : {}),
    ...(ctx.network?.extraHosts ? { extraHosts: ctx.network.extraHosts } : {}),
    resources: { ...s.resources },
    stopGracePeriodMs: s.stopGracePeriodMs,
    readOnlyRootfs: s.readOnlyRootfs,
    capAdd: s.capAdd,
    capDrop: s.capDrop,
    privileged: s.privileged,
  };
  if (s.command) spec.command = s.command;
  if (s.args) spec.args = s.args;
  if (s.workingDir) spec.workingDir = s.workingDir;
  if (s.user) spec.user = s.user;
  if (s.hostname) spec.hostname = s.hostname;
  if (s.stopSignal) spec.stopSignal = s.stopSignal;
  if (s.init) spec.init = true;
  if (s.tty) spec.tty = true;
  if (s.stdin) spec.stdin = true;
  if (s.stdinOnce) spec.stdinOnce = true;
  return spec;
}
