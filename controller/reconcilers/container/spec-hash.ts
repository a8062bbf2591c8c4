/**
 * The spec hash of a container: sha256 of the canonical JSON (canonical-json.ts) of
 * everything that shapes the container the runtime creates — compose's config-hash,
 * kubelet's container hash. A container whose `berth.spec-hash` label differs from the
 * desired hash is recreated; anything left out of the hash is applied without recreating.
 *
 * Included (what `ContainerRuntime.create` and the network setup consume): the image
 * reference and its resolved digest (a moved tag recreates), command, args, env, env files
 * (paths, plus content digests when the caller supplies them), workingDir, user, hostname,
 * mounts, networks, networkMode (and the id of the container whose network it shares: a
 * sharer is recreated with it), resources, stopSignal, stopGracePeriodMs (the runtime
 * records both at create), readOnlyRootfs, capAdd, capDrop, privileged, init, extraHosts,
 * dns, dnsSearch, dnsOptions, tty, stdin (conmon's terminal and stdin are set at start; the init binary and the /etc files are made at create), and
 * the object's user labels (they become container labels). Fields added after version 2
 * (init, extraHosts, dns*, a network's ipv4Address, tty, stdin) are absent from the spec unless set, and
 * canonical JSON drops absent members: an upgrade recreates no container that does not use
 * them.
 *
 * Excluded, applied live by the controller:
 * - restartPolicy (name, maxRetries, backoff): a controller decision after exits (Docker
 *   updates it with `docker update` without recreating).
 * - healthcheck, healthcheckDisabled, onUnhealthy, and attached HealthCheck objects: probes
 *   run in the controller, not in the container; a change restarts the health monitor only
 *   (see `healthcheckHash`). Docker recreates here only because its healthcheck lives in
 *   the container config.
 * - dependsOn (with restart and required): start ordering only (compose drops it from its
 *   hash too).
 * - ports: re-programmed in place by the network driver (DNAT rules and held host ports),
 *   where Docker and Podman must recreate (moby#2045). Version 2 moved them out; it also
 *   made every container without networkMode join its stack's network, so the one
 *   recreate on upgrade is the one that change needs anyway.
 *
 * `SPEC_HASH_FIELDS` lists the choice for every ContainerSpec field; adding a field to
 * ContainerSpec fails to compile until it is classified there.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../../../lib/canonical-json.js";
import type { ImageHealthcheck } from "../../../runtime/types.js";
import type { ContainerSpec, Healthcheck, HealthCheckSpec } from "../../manifests/model.js";

/** Bumped when the hashed representation changes (every container is then recreated once). */
export const SPEC_HASH_VERSION = 2;

export const SPEC_HASH_FIELDS: Record<keyof ContainerSpec, "hash" | "live"> = {
  image: "hash",
  command: "hash",
  args: "hash",
  env: "hash",
  envFiles: "hash",
  workingDir: "hash",
  user: "hash",
  hostname: "hash",
  ports: "live",
  publishAll: "live",
  mounts: "hash",
  networks: "hash",
  networkMode: "hash",
  resources: "hash",
  stopSignal: "hash",
  stopGracePeriodMs: "hash",
  readOnlyRootfs: "hash",
  capAdd: "hash",
  capDrop: "hash",
  privileged: "hash",
  restartPolicy: "live",
  healthcheck: "live",
  healthcheckDisabled: "live",
  onUnhealthy: "live",
  dependsOn: "live",
  init: "hash",
  extraHosts: "hash",
  dns: "hash",
  dnsSearch: "hash",
  dnsOptions: "hash",
  tty: "hash",
  stdin: "hash",
  stdinOnce: "hash",
};

export interface SpecHashInput {
  spec: ContainerSpec;
  /** The image digest `spec.image` resolved to (ImageRecord.digest). */
  imageDigest: string;
  /** The container object's metadata.labels. */
  labels?: Record<string, string>;
  /** sha256 of each env file's content, by path, when the reconciler has read them. */
  envFileDigests?: Record<string, string>;
  /** `networkMode: container:<name>`: the id of that container. */
  sharedNetworkOf?: string;
}

/** 64 hex characters; equal inputs (whatever their key order) give equal hashes. */
export function specHash(input: SpecHashInput): string {
  const hashed: Record<string, unknown> = {};
  for (const [field, how] of Object.entries(SPEC_HASH_FIELDS)) {
    if (how === "hash") hashed[field] = input.spec[field as keyof ContainerSpec];
  }
  return sha256(
    canonicalJson({
      v: SPEC_HASH_VERSION,
      spec: hashed,
      imageDigest: input.imageDigest,
      labels: input.labels ?? {},
      envFileDigests: input.envFileDigests ?? {},
      ...(input.sharedNetworkOf ? { sharedNetworkOf: input.sharedNetworkOf } : {}),
    }),
  );
}

/**
 * The healthcheck that applies to a container: none when disabled, else its own, else the
 * one attached by a HealthCheck object (an inline check is more specific, as a container's
 * HEALTHCHECK overrides its image's in Docker). `onUnhealthy` of the attached object
 * overrides the container's only when the attached check is the one used.
 */
export function effectiveHealthcheck(
  spec: Pick<ContainerSpec, "healthcheck" | "healthcheckDisabled" | "onUnhealthy">,
  attached?: Pick<HealthCheckSpec, "check" | "onUnhealthy">,
  image?: ImageHealthcheck,
): { check?: Healthcheck; onUnhealthy: ContainerSpec["onUnhealthy"] } {
  if (spec.healthcheckDisabled) return { onUnhealthy: spec.onUnhealthy };
  if (spec.healthcheck) return { check: spec.healthcheck, onUnhealthy: spec.onUnhealthy };
  if (attached) return { check: attached.check, onUnhealthy: attached.onUnhealthy ?? spec.onUnhealthy };
  const fromImage = imageHealthcheck(image);
  if (fromImage) return { check: fromImage, onUnhealthy: spec.onUnhealthy };
  return { onUnhealthy: spec.onUnhealthy };
}

const NS_PER_MS = 1_000_000;

/**
 * The image's HEALTHCHECK (its config's Healthcheck, Docker's form) as berth's check, with
 * Docker's defaults (interval and timeout 30s, start period 0, start interval 5s, retries
 * 3); undefined for none, `NONE`, or an empty test (which inherits nothing here: the image
 * is the last place a check comes from).
 */
export function imageHealthcheck(h: ImageHealthcheck | undefined): Healthcheck | undefined {
  const test = h?.Test;
  if (!test || test.length === 0 || test[0] === "NONE") return undefined;
  const probe: Healthcheck["probe"] | undefined =
    test[0] === "CMD" && test.length > 1 ? { type: "exec", argv: test.slice(1) } : test[0] === "CMD-SHELL" && test.length === 2 ? { type: "shell", command: test[1]! } : undefined;
  if (!probe) return undefined;
  const ms = (ns: number | undefined, dflt: number) => (ns && ns > 0 ? Math.max(1, Math.round(ns / NS_PER_MS)) : dflt);
  return {
    probe,
    intervalMs: ms(h!.Interval, 30_000),
    timeoutMs: ms(h!.Timeout, 30_000),
    retries: h!.Retries && h!.Retries > 0 ? h!.Retries : 3,
    startPeriodMs: ms(h!.StartPeriod, 0),
    startIntervalMs: ms(h!.StartInterval, 5_000),
  };
}

/** Hash of the effective check: the health monitor is restarted when it changes. "" for none. */
export function healthcheckHash(check: Healthcheck | undefined): string {
  return check ? sha256(canonicalJson(check)) : "";
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
