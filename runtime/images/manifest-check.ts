import type { Logger } from "pino";
import { invalidArgument, isBerthError } from "../../lib/errors.js";
import type { FsContentStore } from "../content/content-store.js";
import { chainIds } from "../snapshots/chain-id.js";
import { detectFileCompression } from "../snapshots/decompress.js";
import type { Descriptor } from "../types.js";
import { parseImageConfig, parseJson, type ParsedManifest } from "./image-json.js";
import { platformMatches } from "./platform.js";
import type { StoredImage } from "./types.js";

export interface ManifestCheckContext {
  content: FsContentStore;
  logger: Logger;
  maxConfigBytes: number;
  now: () => Date;
}

/**
 * Checks that every blob of a manifest is in the content store with the declared size, reads
 * and validates the config, and returns the image record to store (it writes nothing).
 * InvalidArgument when a blob is missing or the manifest and config disagree (layer count vs
 * diff_ids, an uncompressed layer whose digest is not its diff ID).
 */
export async function checkManifest(
  ctx: ManifestCheckContext,
  manifestDigest: string,
  manifest: ParsedManifest,
  what: string,
): Promise<StoredImage> {
  await requireBlob(ctx, manifest.config, `${what} config`);
  for (const [i, l] of manifest.layers.entries()) await requireBlob(ctx, l, `${what} layer ${i}`);
  const config = parseImageConfig(parseJson(await ctx.content.readBytes(manifest.config.digest, ctx.maxConfigBytes), `${what} config`), `${what} config`);
  if (config.diffIds.length !== manifest.layers.length) {
    throw invalidArgument(`${what}: manifest has ${manifest.layers.length} layers but the config has ${config.diffIds.length} diff IDs`);
  }
  for (const [i, l] of manifest.layers.entries()) {
    const compression = await detectFileCompression(await ctx.content.pathOf(l.digest));
    if (compression === "none" && l.digest !== config.diffIds[i]) {
      throw invalidArgument(`${what}: uncompressed layer ${i} has digest ${l.digest} but diff ID ${config.diffIds[i]}`);
    }
  }
  if (config.os !== "linux" || !platformMatches(config)) {
    ctx.logger.warn({ image: manifestDigest, os: config.os, architecture: config.architecture }, "image platform differs from the host");
  }
  const image: StoredImage = {
    digest: manifestDigest,
    manifestMediaType: manifest.mediaType,
    configDigest: manifest.config.digest,
    layers: manifest.layers.map(cleanDescriptor),
    diffIds: config.diffIds,
    chainIds: chainIds(config.diffIds),
    config: config.config,
    os: config.os,
    architecture: config.architecture,
    size: manifest.layers.reduce((n, l) => n + l.size, 0),
    addedAt: ctx.now().toISOString(),
  };
  if (config.variant) image.variant = config.variant;
  if (config.created) image.created = config.created;
  return image;
}

function cleanDescriptor(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

async function requireBlob(ctx: ManifestCheckContext, d: Descriptor, what: string): Promise<void> {
  let size: number;
  try {
    size = await ctx.content.size(d.digest);
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw invalidArgument(`${what}: blob ${d.digest} is missing`, { cause: err });
    throw err;
  }
  if (size !== d.size) throw invalidArgument(`${what}: blob ${d.digest} has ${size} bytes, descriptor says ${d.size}`);
}
