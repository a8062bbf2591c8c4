import { promises as fs } from "node:fs";
import pino, { type Logger } from "pino";
import type { Clock } from "../../lib/clock.js";
import { internal } from "../../lib/errors.js";
import { openContentStore, type FsContentStore } from "../content/content-store.js";
import { openSnapshotStore, type FsSnapshotStore } from "../snapshots/snapshot-store.js";
import type { UnpackPool } from "../snapshots/unpack-pool.js";
import type { ImageRecord } from "../types.js";
import { openImageStore, type FsImageStore } from "./image-store.js";

export interface ImageRuntimeOptions {
  /** State root, e.g. /var/lib/berth. */
  root: string;
  logger?: Logger;
  clock?: Clock;
  /** Cap on a layer's uncompressed size (unpack and import). Default 8 GiB. */
  maxLayerBytes?: number;
  /** Cap on one compressed blob from an archive or import. Default 16 GiB. */
  maxBlobBytes?: number;
  /** Cap on entries in one layer tar. Default 1,000,000. */
  maxLayerEntries?: number;
  /** Overlay mount option size above which short relative lowerdirs are used. Default 4095. */
  maxMountOptionBytes?: number;
  /** Where layer unpacks run; default the snapshot store's own pool (snapshots/unpack-pool.ts). */
  unpackPool?: UnpackPool;
}

/** The image half of berth's runtime: blobs, image records and unpacked layers. */
export interface ImageRuntime {
  content: FsContentStore;
  images: FsImageStore;
  snapshots: FsSnapshotStore;
  /**
   * Unpacks every layer of `image` (a record, or anything `images.get` accepts) — at once on
   * the unpack threads, committed base first — skipping layers already unpacked; returns the chain IDs to hand to `snapshots.prepare`.
   * Concurrent calls for images sharing layers unpack each layer once.
   */
  ensureUnpacked(image: ImageRecord | string, signal?: AbortSignal): Promise<string[]>;
}

/**
 * Opens (creating when absent) the stores under `root`: `<root>/blobs`, `<root>/ingest`,
 * `<root>/images`, `<root>/snapshots`. Stale ingests and unpacks of a crashed run are removed.
 * One process owns a root.
 */
export async function openImageRuntime(options: ImageRuntimeOptions): Promise<ImageRuntime> {
  await fs.mkdir(options.root, { recursive: true, mode: 0o700 });
  const root = await fs.realpath(options.root);
  const logger = options.logger ?? pino({ level: "silent" });
  const content = await openContentStore({ root, logger: logger.child({ component: "content" }) });
  const snapshots = await openSnapshotStore({
    root,
    content,
    logger: logger.child({ component: "snapshots" }),
    ...(options.maxLayerBytes !== undefined ? { maxLayerBytes: options.maxLayerBytes } : {}),
    ...(options.maxLayerEntries !== undefined ? { maxLayerEntries: options.maxLayerEntries } : {}),
    ...(options.maxMountOptionBytes !== undefined ? { maxMountOptionBytes: options.maxMountOptionBytes } : {}),
    ...(options.unpackPool ? { pool: options.unpackPool } : {}),
  });
  const images = await openImageStore({
    root,
    content,
    snapshots,
    logger: logger.child({ component: "images" }),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.maxLayerBytes !== undefined ? { maxLayerBytes: options.maxLayerBytes } : {}),
    ...(options.maxBlobBytes !== undefined ? { maxBlobBytes: options.maxBlobBytes } : {}),
    ...(options.maxLayerEntries !== undefined ? { maxLayerEntries: options.maxLayerEntries } : {}),
  });
  return {
    content,
    images,
    snapshots,
    async ensureUnpacked(image, signal) {
      const rec = typeof image === "string" ? await images.get(image) : image;
      const ids = await snapshots.unpackChain(
        rec.layers.map((desc, i) => ({ desc, diffId: rec.diffIds[i]! })),
        signal,
      );
      for (const [i, chainId] of ids.entries()) {
        if (chainId !== rec.chainIds[i]) {
          throw internal(`unpack image ${rec.digest}: layer ${i} has chain ID ${chainId}, record says ${rec.chainIds[i]}`);
        }
      }
      return [...rec.chainIds];
    },
  };
}

export { familiarReference, normalizeReference, parseReference } from "../../lib/reference.js";
export type { FsContentStore } from "../content/content-store.js";
export type { FsImageStore } from "./image-store.js";
export type { FsSnapshotStore } from "../snapshots/snapshot-store.js";
