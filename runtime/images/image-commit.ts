/**
 * New images from old ones plus layers and config changes (issue 10: `berth commit`, the
 * builder). Two steps, both committing to the content store only:
 *
 * - `ingestUpperLayer(ctx, upper, entries)`: the layer tar of a writable layer's entries
 *   (snapshots/layer-diff.ts), gzip-compressed into the content store in one streaming pass
 *   that also hashes the uncompressed tar (its diff ID). An empty list gives no layer.
 * - `commitImage(ctx, input)`: the config document (the base's, when there is one, with the
 *   new runtime config, the new diff IDs and one history entry per step — `empty_layer` for
 *   steps without a layer, as Docker writes them), then an OCI manifest over the base's
 *   layers and the new ones, checked like any loaded image (manifest-check.ts). Returns the
 *   StoredImage; registering it under a reference is the image store's (FsImageStore.commit).
 */
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { adaptiveGzip } from "./layer-compress.js";
import type { Logger } from "pino";
import type { Pack } from "tar-stream";
import { invalidArgument } from "../../lib/errors.js";
import type { FsContentStore } from "../content/content-store.js";
import { sha256Digest } from "../content/digest.js";
import { packUpper, type UpperEntry } from "../snapshots/layer-diff.js";
import type { Descriptor, ImageRuntimeConfig } from "../types.js";
import { parseRuntimeConfig } from "./image-json.js";
import { checkManifest } from "./manifest-check.js";
import { MediaType } from "./media-types.js";
import { ociArchitecture } from "./platform.js";
import type { StoredImage } from "./types.js";

export interface CommitContext {
  content: FsContentStore;
  logger: Logger;
  now: () => Date;
  maxConfigBytes: number;
  /** Pins each digest this commit puts in the content store, before it is used. */
  onIngest: (digest: string) => void;
}

export interface LayerBlob extends Descriptor {
  diffId: string;
}

export interface CommitStep {
  /** What history shows (`docker history`'s CREATED BY), e.g. `/bin/sh -c make`. */
  createdBy: string;
  comment?: string;
  /** The step's layer; none for a step that only changes the config. */
  layer?: LayerBlob;
}

export interface CommitInput {
  /** The image the new one is made from; none for `FROM scratch`. */
  base?: Pick<StoredImage, "configDigest" | "layers">;
  steps: CommitStep[];
  /** The new image's runtime config, whole (not a patch). */
  config: ImageRuntimeConfig;
  author?: string;
}

/** The layer of `entries` (scanned from `upper`) in the content store; undefined when there are none. */
export async function ingestUpperLayer(ctx: Pick<CommitContext, "content" | "onIngest">, upper: string, entries: UpperEntry[]): Promise<LayerBlob | undefined> {
  if (entries.length === 0) return undefined;
  return ingestTarLayer(ctx, (pack) => packUpper(upper, entries, pack));
}

/** A layer whose tar `write` produces (it must not finalize the pack), gzip-compressed into the content store (incompressible blocks stored: layer-compress.ts). */
export async function ingestTarLayer(ctx: Pick<CommitContext, "content" | "onIngest">, write: (pack: Pack) => Promise<void>): Promise<LayerBlob> {
  const tar = (await import("tar-stream")).default;
  const pack = tar.pack();
  const diff = createHash("sha256");
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      diff.update(chunk);
      cb(null, chunk);
    },
  });
  const gzip = adaptiveGzip(6);
  const packing = write(pack).then(
    () => pack.finalize(),
    (err: unknown) => {
      pack.destroy(err as Error);
      throw err;
    },
  );
  pack.on("error", (err) => gzip.destroy(err));
  const stored = ctx.content.ingest(pack.pipe(hashing).pipe(gzip), {});
  const [blob] = await Promise.all([stored, packing]);
  ctx.onIngest(blob.digest);
  return { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size, diffId: `sha256:${diff.digest("hex")}` };
}

interface ConfigDoc {
  architecture?: string;
  os?: string;
  created?: string;
  author?: string;
  config?: unknown;
  rootfs?: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean; author?: string }[];
  [k: string]: unknown;
}

export async function commitImage(ctx: CommitContext, input: CommitInput): Promise<StoredImage> {
  const what = "commit image";
  const base: ConfigDoc = input.base ? (JSON.parse((await ctx.content.readBytes(input.base.configDigest, ctx.maxConfigBytes)).toString("utf8")) as ConfigDoc) : {};
  const created = ctx.now().toISOString();
  const baseDiffIds = base.rootfs?.diff_ids ?? [];
  if ((input.base?.layers.length ?? 0) !== baseDiffIds.length) throw invalidArgument(`${what}: the base image's config and manifest disagree on its layers`);
  const newLayers = input.steps.flatMap((s) => (s.layer ? [s.layer] : []));
  const doc: ConfigDoc = {
    ...base,
    architecture: base.architecture ?? ociArchitecture(),
    os: base.os ?? "linux",
    created,
    config: parseRuntimeConfig(input.config, `${what} config`),
    rootfs: { type: "layers", diff_ids: [...baseDiffIds, ...newLayers.map((l) => l.diffId)] },
    history: [
      ...(base.history ?? []),
      ...input.steps.map((s) => ({
        created,
        created_by: s.createdBy,
        ...(input.author ? { author: input.author } : {}),
        ...(s.comment ? { comment: s.comment } : {}),
        ...(s.layer ? {} : { empty_layer: true }),
      })),
    ],
  };
  if (input.author) doc.author = input.author;
  else delete doc.author;
  const configBytes = Buffer.from(JSON.stringify(doc));
  const configDigest = sha256Digest(configBytes);
  ctx.onIngest(configDigest);
  await ctx.content.ingest([configBytes], { expectedDigest: configDigest });
  const layers: Descriptor[] = [...(input.base?.layers ?? []), ...newLayers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size }))];
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256Digest(manifestBytes);
  ctx.onIngest(manifestDigest);
  await ctx.content.ingest([manifestBytes], { expectedDigest: manifestDigest });
  return checkManifest({ content: ctx.content, logger: ctx.logger, maxConfigBytes: ctx.maxConfigBytes, now: ctx.now }, manifestDigest, { mediaType: MediaType.ociManifest, config: manifest.config, layers }, what);
}
