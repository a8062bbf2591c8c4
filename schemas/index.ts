import type { Static, TSchema } from "@sinclair/typebox";
import { ContainerObject, ContainerSpec } from "./container.js";
import { HealthCheckObject, HealthCheckObjectSpec, HealthcheckSpec } from "./healthcheck.js";
import { ImageObject, ImageSpec } from "./image.js";
import { NetworkObject, NetworkSpec } from "./network.js";
import { VolumeObject, VolumeSpec } from "./volume.js";

export { API_VERSION } from "./common.js";

/** The manifest kinds, in the order they are reconciled (dependencies first). */
export const KINDS = ["Image", "Volume", "Network", "Container", "HealthCheck"] as const;
export type Kind = (typeof KINDS)[number];

export interface KindInfo {
  kind: Kind;
  /** Lowercase singular, as in `berth get container`. */
  singular: string;
  plural: string;
  shortNames: string[];
  /** Schema of the whole object (apiVersion, kind, metadata, spec). */
  schema: TSchema;
  /** Schema of the spec alone. */
  specSchema: TSchema;
  /** A missing or empty spec means all defaults. */
  specOptional: boolean;
}

export const KIND_INFO: Record<Kind, KindInfo> = {
  Image: { kind: "Image", singular: "image", plural: "images", shortNames: ["img"], schema: ImageObject, specSchema: ImageSpec, specOptional: false },
  Volume: { kind: "Volume", singular: "volume", plural: "volumes", shortNames: ["vol"], schema: VolumeObject, specSchema: VolumeSpec, specOptional: true },
  Network: { kind: "Network", singular: "network", plural: "networks", shortNames: ["net"], schema: NetworkObject, specSchema: NetworkSpec, specOptional: true },
  Container: { kind: "Container", singular: "container", plural: "containers", shortNames: ["ctr"], schema: ContainerObject, specSchema: ContainerSpec, specOptional: false },
  HealthCheck: { kind: "HealthCheck", singular: "healthcheck", plural: "healthchecks", shortNames: ["hc"], schema: HealthCheckObject, specSchema: HealthCheckObjectSpec, specOptional: false },
};

/** Resolves `container`, `containers`, `ctr`, `Container` to the kind; undefined if unknown. */
export function resolveKind(word: string): Kind | undefined {
  const w = word.toLowerCase();
  for (const info of Object.values(KIND_INFO)) {
    if (info.singular === w || info.plural === w || info.shortNames.includes(w)) return info.kind;
  }
  return undefined;
}

/** Every word `resolveKind` accepts, for suggestions and help. */
export function kindWords(): string[] {
  return Object.values(KIND_INFO).flatMap((i) => [i.singular, i.plural, ...i.shortNames]);
}

// Types of manifests as written (before normalization), derived from the schemas.
export type ImageSpecInput = Static<typeof ImageSpec>;
export type ContainerSpecInput = Static<typeof ContainerSpec>;
export type VolumeSpecInput = Static<typeof VolumeSpec>;
export type NetworkSpecInput = Static<typeof NetworkSpec>;
export type HealthcheckInput = Static<typeof HealthcheckSpec>;
export type HealthCheckSpecInput = Static<typeof HealthCheckObjectSpec>;
export type ImageInput = Static<typeof ImageObject>;
export type ContainerInput = Static<typeof ContainerObject>;
export type VolumeInput = Static<typeof VolumeObject>;
export type NetworkInput = Static<typeof NetworkObject>;
export type HealthCheckInput = Static<typeof HealthCheckObject>;
