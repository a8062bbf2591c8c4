/**
 * Normalize, the step after validation: a schema-valid object becomes its canonical form.
 * One file per kind and per container concept under normalize/; the short syntax of ports and
 * mounts, which a Compose importer will share, is under short-syntax/.
 */
import type {
  ContainerSpecInput,
  HealthCheckSpecInput,
  ImageSpecInput,
  Kind,
  NetworkSpecInput,
  VolumeSpecInput,
} from "../../schemas/index.js";
import type { AnyObject } from "./model.js";
import { normalizeContainer } from "./normalize/container.js";
import { normalizeHealthCheck } from "./normalize/healthcheck.js";
import { normalizeImage } from "./normalize/image.js";
import { normalizeNetwork } from "./normalize/network.js";
import type { NormalizeOptions } from "./normalize/types.js";
import { normalizeVolume } from "./normalize/volume.js";
import { Problems } from "./problems.js";
import type { FieldError } from "./validate.js";

export type { NormalizeOptions } from "./normalize/types.js";
export { normalizeHealthcheck } from "./normalize/healthcheck.js";

/**
 * Turns a schema-valid object into its canonical form, checking what a schema cannot say
 * (port ranges, mount targets, exclusive fields, privileged). Returns the object, or errors
 * at field paths when it is not acceptable.
 */
export function normalizeObject(
  value: Record<string, unknown>,
  options: NormalizeOptions,
): { object?: AnyObject; errors: FieldError[] } {
  const p = new Problems();
  const kind = value.kind as Kind;
  const meta = value.metadata as { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  const metadata = { name: meta.name, labels: { ...(meta.labels ?? {}) }, annotations: { ...(meta.annotations ?? {}) } };
  const rawSpec = (value.spec ?? {}) as Record<string, unknown>;
  let spec: unknown;
  switch (kind) {
    case "Image":
      spec = normalizeImage(rawSpec as ImageSpecInput, options, p);
      break;
    case "Container":
      spec = normalizeContainer(rawSpec as ContainerSpecInput, options, p);
      break;
    case "Volume":
      spec = normalizeVolume(rawSpec as VolumeSpecInput, p);
      break;
    case "Network":
      spec = normalizeNetwork(rawSpec as NetworkSpecInput, p);
      break;
    case "HealthCheck":
      spec = normalizeHealthCheck(rawSpec as HealthCheckSpecInput, p);
      break;
  }
  if (p.errors.length) return { errors: p.errors };
  return { object: { apiVersion: "berth/v1", kind, metadata, spec } as AnyObject, errors: [] };
}
