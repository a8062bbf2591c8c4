import { createReadStream, promises as fs } from "node:fs";
import type { Logger } from "pino";
import type { FsContentStore } from "../content/content-store.js";
import { sha256Digest } from "../content/digest.js";
import { detectFileCompression, ociLayerMediaType } from "../snapshots/decompress.js";
import { inspectLayer } from "../snapshots/layer-unpack.js";
import { invalidArgument, notFound } from "../../lib/errors.js";
import type { ImageRuntimeConfig } from "../types.js";
import { parseRuntimeConfig } from "./image-json.js";
import { checkManifest } from "./manifest-check.js";
import { MediaType } from "./media-types.js";
import { ociArchitecture } from "./platform.js";
import type { StoredImage } from "./types.js";

export interface ImportContext {
  content: FsContentStore;
  logger: Logger;
  now: () => Date;
  maxBlobBytes: number;
  maxLayerBytes: number;
  maxLayerEntries: number;
  maxConfigBytes: number;
  /** Pins each digest the import commits, before it is used. */
  onIngest: (digest: string) => void;
}

/**
 * `docker import`: a plain rootfs tarball (gzip or not, detected from its bytes) becomes a
 * single-layer image. The tarball is stored as the layer blob as it came; its diff ID is
 * computed by a streaming pass that also checks it is a well-formed tar with acceptable
 * names. The generated config has os linux, the host architecture in OCI naming, one
 * diff ID, and the given runtime config (Cmd, Entrypoint, Env, WorkingDir, User, ...).
 */
export async function importRootfsImage(
  ctx: ImportContext,
  source: string | AsyncIterable<Uint8Array>,
  options: { config?: ImageRuntimeConfig; signal?: AbortSignal; comment?: string },
): Promise<StoredImage> {
  const what = "import rootfs";
  const runtimeConfig = parseRuntimeConfig(options.config ?? {}, `${what} config`);
  if (typeof source === "string") {
    await fs.access(source).catch((err: unknown) => {
      throw notFound(`${what} from ${source}: ${(err as Error).message}`, { cause: err, object: { kind: "file", name: source } });
    });
  }
  const data = typeof source === "string" ? createReadStream(source, { highWaterMark: 1 << 20 }) : source;
  const ingestOpts: Parameters<FsContentStore["ingest"]>[1] = { maxBytes: ctx.maxBlobBytes };
  if (options.signal) ingestOpts.signal = options.signal;
  const layer = await ctx.content.ingest(data, ingestOpts);
  ctx.onIngest(layer.digest);
  const blobPath = await ctx.content.pathOf(layer.digest);
  const compression = await detectFileCompression(blobPath);
  if (compression !== "none" && compression !== "gzip") {
    throw invalidArgument(`${what}: ${compression}-compressed tarballs are not supported (use gzip or none)`);
  }
  const mediaType = ociLayerMediaType(compression);
  const inspectOpts: Parameters<typeof inspectLayer>[0] = {
    blobPath,
    mediaType,
    maxBytes: ctx.maxLayerBytes,
    maxEntries: ctx.maxLayerEntries,
    what,
  };
  if (options.signal) inspectOpts.signal = options.signal;
  const { diffId } = await inspectLayer(inspectOpts);
  const created = ctx.now().toISOString();
  const configDoc = {
    architecture: ociArchitecture(),
    os: "linux",
    created,
    config: runtimeConfig,
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created, created_by: "berth import", comment: options.comment ?? "imported from a rootfs tarball" }],
  };
  const configBytes = Buffer.from(JSON.stringify(configDoc));
  const configDigest = sha256Digest(configBytes);
  ctx.onIngest(configDigest);
  await ctx.content.ingest([configBytes], { expectedDigest: configDigest });
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: [{ mediaType, digest: layer.digest, size: layer.size }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifestDoc));
  const manifestDigest = sha256Digest(manifestBytes);
  ctx.onIngest(manifestDigest);
  await ctx.content.ingest([manifestBytes], { expectedDigest: manifestDigest });
  return checkManifest(
    { content: ctx.content, logger: ctx.logger, maxConfigBytes: ctx.maxConfigBytes, now: ctx.now },
    manifestDigest,
    { mediaType: MediaType.ociManifest, config: manifestDoc.config, layers: manifestDoc.layers },
    what,
  );
}
