/**
 * The kinds and their names, without their schemas: cheap to import (no TypeBox), for the
 * CLI and the controller.
 */
export const API_VERSION = "berth/v1";

/** The manifest kinds, in the order they are reconciled (dependencies first). */
export const KINDS = ["Image", "Volume", "Network", "Container", "HealthCheck"] as const;
export type Kind = (typeof KINDS)[number];

export interface KindNames {
  kind: Kind;
  /** Lowercase singular, as in `berth get container`. */
  singular: string;
  plural: string;
  shortNames: string[];
  /** A missing or empty spec means all defaults. */
  specOptional: boolean;
}

export const KIND_NAMES: Record<Kind, KindNames> = {
  Image: { kind: "Image", singular: "image", plural: "images", shortNames: ["img"], specOptional: false },
  Volume: { kind: "Volume", singular: "volume", plural: "volumes", shortNames: ["vol"], specOptional: true },
  Network: { kind: "Network", singular: "network", plural: "networks", shortNames: ["net"], specOptional: true },
  Container: { kind: "Container", singular: "container", plural: "containers", shortNames: ["ctr"], specOptional: false },
  HealthCheck: { kind: "HealthCheck", singular: "healthcheck", plural: "healthchecks", shortNames: ["hc"], specOptional: false },
};

/** Resolves `container`, `containers`, `ctr`, `Container` to the kind; undefined if unknown. */
export function resolveKind(word: string): Kind | undefined {
  const w = word.toLowerCase();
  for (const n of Object.values(KIND_NAMES)) {
    if (n.singular === w || n.plural === w || n.shortNames.includes(w)) return n.kind;
  }
  return undefined;
}

/** Every word `resolveKind` accepts, for suggestions and help. */
export function kindWords(): string[] {
  return Object.values(KIND_NAMES).flatMap((n) => [n.singular, n.plural, ...n.shortNames]);
}
