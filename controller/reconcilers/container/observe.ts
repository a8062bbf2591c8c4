/**
 * The observe half of the container reconciler: reading what the planner judges — the
 * runtime container, the image, env files, the attached healthcheck — each a fact with no
 * decision in it.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { parseEnvFile } from "../../../lib/env-file.js";
import { errorMessage, isBerthError, TerminalError } from "../../../lib/errors.js";
import type { ContainerRuntime, ContainerState, ImageHealthcheck, ImageRecord, ImageStore } from "../../../runtime/types.js";
import type { ContainerObject } from "../../manifests/model.js";
import type { DesiredIndexes } from "../../store/indexes.js";
import type { StatusStore } from "../../store/status-store.js";
import { effectiveHealthcheck } from "./spec-hash.js";
import type { ImageAvailability } from "./types.js";

const MAX_ENV_FILE_BYTES = 1024 * 1024;

/** What `p` resolves with, or undefined when it rejects with NotFound (other errors pass). */
async function unlessNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isBerthError(err, "NotFound")) return undefined;
    throw err;
  }
}

/** The runtime container of that name, or undefined when there is none. */
export function inspectContainer(containers: ContainerRuntime, name: string): Promise<ContainerState | undefined> {
  return unlessNotFound(containers.inspect(name));
}

/** The image a reference names in the store, or undefined. */
export function findImage(images: ImageStore, ref: string): Promise<ImageRecord | undefined> {
  return unlessNotFound(images.get(ref));
}

/** Whether the image is there, and when not, which Image object is to provide it and how it fares. */
export function imageAvailability(image: ImageRecord | undefined, reference: string, indexes: DesiredIndexes, status: StatusStore): ImageAvailability {
  if (image) return { present: true, digest: image.digest };
  const provider = indexes.imageProviding(reference);
  if (!provider) return { present: false };
  const ps = status.get(provider.key, "Image");
  return { present: false, provider: { key: provider.key, failed: !!ps.failed, ...(ps.message || ps.reason ? { message: ps.message ?? ps.reason! } : {}) } };
}

/** The container's healthcheck in effect: its own, an attached HealthCheck's (indexes.checkFor), or its image's HEALTHCHECK. */
export function effectiveCheckOf(obj: ContainerObject, indexes: DesiredIndexes, image?: ImageHealthcheck) {
  const attached = indexes.checkFor(obj);
  return effectiveHealthcheck(obj.spec, attached?.spec, image);
}

/**
 * Reads and parses the container's env files. TerminalError(InvalidArgument) for a file that
 * is missing, too big or malformed: no retry fixes it, a change of the file or the spec does.
 */
export async function readEnvFiles(obj: ContainerObject): Promise<{ parsed: Record<string, { name: string; value: string }[]>; digests: Record<string, string> }> {
  const parsed: Record<string, { name: string; value: string }[]> = {};
  const digests: Record<string, string> = {};
  for (const f of obj.spec.envFiles) {
    let text: string;
    try {
      const st = await fs.stat(f);
      if (st.size > MAX_ENV_FILE_BYTES) throw new Error(`over ${MAX_ENV_FILE_BYTES} bytes`);
      text = await fs.readFile(f, "utf8");
    } catch (err) {
      throw new TerminalError("InvalidArgument", `read env file ${f}: ${errorMessage(err)}`);
    }
    try {
      parsed[f] = parseEnvFile(text, f);
    } catch (err) {
      throw new TerminalError("InvalidArgument", errorMessage(err));
    }
    digests[f] = createHash("sha256").update(text).digest("hex");
  }
  return { parsed, digests };
}
