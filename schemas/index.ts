import type { Static, TSchema } from "@sinclair/typebox";
import { ContainerObject, ContainerSpec } from "./container.js";
import { HealthCheckObject, HealthCheckObjectSpec, HealthcheckSpec } from "./healthcheck.js";
import { ImageObject, ImageSpec } from "./image.js";
import { NetworkObject, NetworkSpec } from "./network.js";
import { VolumeObject, VolumeSpec } from "./volume.js";

import { KIND_NAMES, KINDS, type Kind, type KindNames } from "./kinds.js";

export { API_VERSION, KIND_NAMES, KINDS, kindWords, resolveKind, type Kind, type KindNames } from "./kinds.js";

export interface KindInfo extends KindNames {
  /** Schema of the whole object (apiVersion, kind, metadata, spec). */
  schema: TSchema;
  /** Schema of the spec alone. */
  specSchema: TSchema;
}

const SCHEMAS: Record<Kind, { schema: TSchema; specSchema: TSchema }> = {
  Image: { schema: ImageObject, specSchema: ImageSpec },
  Volume: { schema: VolumeObject, specSchema: VolumeSpec },
  Network: { schema: NetworkObject, specSchema: NetworkSpec },
  Container: { schema: ContainerObject, specSchema: ContainerSpec },
  HealthCheck: { schema: HealthCheckObject, specSchema: HealthCheckObjectSpec },
};

export const KIND_INFO = Object.fromEntries(KINDS.map((k) => [k, { ...KIND_NAMES[k], ...SCHEMAS[k] }])) as Record<Kind, KindInfo>;

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
