import { promises as fs } from "node:fs";
import pino, { type Logger } from "pino";
import { systemClock, type Clock } from "../../lib/clock.js";
import { conflict, invalidArgument, notFound } from "../../lib/errors.js";
import { AsyncLock } from "../content/async-lock.js";
import type { FsContentStore } from "../content/content-store.js";
import type { FsSnapshotStore } from "../snapshots/snapshot-store.js";
import type { ImageHistoryEntry, ImageRecord, ImageRuntimeConfig, ImageStore } from "../types.js";
// The archive, import and save code (tar-stream, gzip) loads on first use: an idle daemon needs none of it.
import { defaultArchiveLimits, type ArchiveLimits } from "./archive-limits.js";
import { resolveStoredImage, tagKeyOf } from "./image-lookup.js";
import { ImageRecordFiles, referencedBlobs, referencesTo, toImageRecord } from "./image-records.js";
import { normalizeTaggedReference } from "../../lib/reference.js";
import type { ImageCandidate, StoredImage } from "./types.js";
import type { CommitStep, LayerBlob } from "./image-commit.js";
import type { UpperEntry } from "../snapshots/layer-diff.js";
import type { Pack } from "tar-stream";

export interface ImageStoreOptions {
  /** State root; records live under `<root>/images/`. */
  root: string;
  content: FsContentStore;
  /** When given, image removal and prune also delete unpacked layers no one needs. */
  snapshots?: FsSnapshotStore;
  logger?: Logger;
  clock?: Clock;
  /** Cap on one blob (compressed layer) taken from an archive or an import. */
  maxBlobBytes: number;
  /** Cap on a layer's uncompressed size (import validation). */
  maxLayerBytes: number;
  maxLayerEntries: number;
  maxManifestBytes: number;
  maxConfigBytes: number;
  maxArchiveEntries: number;
}

export function defaultImageStoreOptions(): Omit<ImageStoreOptions, "root" | "content"> {
  return {
    maxBlobBytes: defaultArchiveLimits().maxBlobBytes,
    maxLayerBytes: 8 * 1024 ** 3,
    maxLayerEntries: 1_000_000,
    maxManifestBytes: 4 * 1024 * 1024,
    maxConfigBytes: 8 * 1024 * 1024,
    maxArchiveEntries: defaultArchiveLimits().maxEntries,
  };
}

export async function openImageStore(
  options: Partial<ImageStoreOptions> & { root: string; content: FsContentStore },
): Promise<FsImageStore> {
  const store = new FsImageStore({ ...defaultImageStoreOptions(), ...options });
  await fs.mkdir(store.dir, { recursive: true, mode: 0o700 });
  return store;
}

/**
 * Image records on disk: `<root>/images/<manifest-hex>.json` (StoredImage) and the reference
 * index `<root>/images/refs.json` (reference → manifest digest), both written atomically
 * (image-records.ts); a name resolves to a record as image-lookup.ts says.
 *
 * Ordering makes crashes harmless: a record is written before any reference points at it,
 * references are dropped before a record is deleted, and blobs/layers are deleted last (a
 * crash leaves at worst unreferenced blobs, which `prune` reclaims). Mutations (load,
 * import, tag, remove, prune) are serialized in-process; reads are lock-free and see either
 * the old or the new file. Blobs a running load/import has committed are pinned so a
 * concurrent prune or remove does not take them. One process owns a root.
 */
export class FsImageStore implements ImageStore {
  readonly dir: string;
  private readonly files: ImageRecordFiles;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly lock = new AsyncLock();
  private readonly pins = new Map<string, number>();

  constructor(private readonly opts: ImageStoreOptions) {
    this.files = new ImageRecordFiles(opts.root);
    this.dir = this.files.dir;
    this.log = opts.logger ?? pino({ level: "silent" });
    this.clock = opts.clock ?? systemClock;
  }

  // ------------------------------------------------------------------ pins

  private pin(digest: string): void {
    this.pins.set(digest, (this.pins.get(digest) ?? 0) + 1);
  }

  private unpin(digest: string): void {
    const n = (this.pins.get(digest) ?? 0) - 1;
    if (n <= 0) this.pins.delete(digest);
    else this.pins.set(digest, n);
  }

  // ------------------------------------------------------------------ reads

  async list(): Promise<ImageRecord[]> {
    const refs = await this.files.readRefs();
    const all = await this.files.readAll();
    all.sort((a, b) => a.addedAt.localeCompare(b.addedAt) || a.digest.localeCompare(b.digest));
    return all.map((s) => toImageRecord(s, refs));
  }

  /**
   * By full digest (manifest or config digest), by reference (tag, or `name@sha256:...`
   * matching the manifest digest), or by a unique hex prefix of either digest. NotFound when
   * nothing matches; InvalidArgument for a bad reference or an ambiguous prefix.
   */
  async get(refOrDigest: string): Promise<ImageRecord> {
    const refs = await this.files.readRefs();
    return toImageRecord(await this.resolve(refOrDigest, refs), refs);
  }

  private resolve(input: string, refs: Record<string, string>): Promise<StoredImage> {
    return resolveStoredImage(input, refs, this.files);
  }

  // ------------------------------------------------------------------ mutations

  async tag(source: string, target: string): Promise<ImageRecord> {
    const ref = normalizeTaggedReference(target);
    return this.lock.run(async () => {
      const refs = await this.files.readRefs();
      const s = await this.resolve(source, refs);
      refs[ref] = s.digest;
      await this.files.writeRefs(refs);
      this.log.info({ image: s.digest, ref }, "image tagged");
      return toImageRecord(s, refs);
    });
  }

  /**
   * A tagged reference is untagged; the image goes with its last reference. A digest, ID or
   * prefix removes the image: Conflict when it has several references (unless force). An
   * image whose exact layer chain a container layer uses is only deleted with force, and
   * even then the layers the container needs stay. Blobs and layers shared with other
   * images always stay.
   */
  async remove(input: string, options: { force?: boolean } = {}): Promise<{ untagged: string[]; deleted: string[] }> {
    const force = options.force === true;
    return this.lock.run(async () => {
      const refs = await this.files.readRefs();
      const key = tagKeyOf(input);
      const tagged = key !== undefined && refs[key] ? key : undefined;
      const s = tagged ? await this.files.read(refs[tagged]!) : await this.resolve(input, refs);
      const imageRefs = referencesTo(refs, s?.digest);
      if (!s) {
        // A reference to a record that vanished: drop the dangling reference.
        delete refs[tagged!];
        await this.files.writeRefs(refs);
        return { untagged: [tagged!], deleted: [] };
      }
      const untagged = tagged ? [tagged] : imageRefs;
      if (!tagged && imageRefs.length > 1 && !force) {
        throw conflict(`remove image ${input}: referenced by ${imageRefs.join(", ")}; remove a reference or use force`, {
          object: { kind: "image", name: input },
        });
      }
      const remaining = imageRefs.filter((r) => !untagged.includes(r));
      if (remaining.length === 0 && !force) {
        const user = await this.containerUsing(s);
        if (user) {
          throw conflict(`remove image ${input}: container layer ${user} uses it; use force`, { object: { kind: "image", name: input } });
        }
      }
      for (const r of untagged) delete refs[r];
      await this.files.writeRefs(refs);
      const deleted: string[] = [];
      if (remaining.length === 0) deleted.push(...(await this.deleteImageLocked(s)));
      this.log.info({ image: s.digest, untagged, deleted: deleted.length }, "image reference removed");
      return { untagged, deleted };
    });
  }

  private async containerUsing(s: StoredImage): Promise<string | undefined> {
    if (!this.opts.snapshots) return undefined;
    const want = s.chainIds.join(",");
    for (const [id, chain] of await this.opts.snapshots.containerUsage()) if (chain.join(",") === want) return id;
    return undefined;
  }

  /** Deletes a record and what only it used. Returns the image digest and deleted blob digests. */
  private async deleteImageLocked(s: StoredImage): Promise<string[]> {
    await this.files.remove(s.digest);
    const others = await this.files.readAll();
    const keepBlobs = referencedBlobs(others);
    const deleted = [s.digest];
    for (const d of new Set([s.digest, s.configDigest, ...s.layers.map((l) => l.digest)])) {
      if (keepBlobs.has(d) || this.pins.has(d)) continue;
      await this.opts.content.delete(d);
      if (d !== s.digest) deleted.push(d);
    }
    if (this.opts.snapshots) {
      const keepLayers = new Set(others.flatMap((o) => o.chainIds));
      await this.opts.snapshots.deleteLayers(s.chainIds.filter((c) => !keepLayers.has(c)));
    }
    return deleted;
  }

  /**
   * Removes blobs no image record references (and no running load/import pinned) and, with a
   * snapshot store, unpacked layers no image references and no container layer uses. With
   * `dangling`, first removes images that have no reference and no container using them.
   * `reclaimedBytes` counts blob bytes.
   */
  async prune(options: { dangling?: boolean; all?: boolean } = {}): Promise<{ deletedBlobs: number; deletedSnapshots: number; reclaimedBytes: number }> {
    return this.lock.run(async () => {
      if (options.all) {
        // Docker's `image prune -a`: every image no container uses, with its references.
        const refs = await this.files.readRefs();
        for (const s of await this.files.readAll()) {
          if (await this.containerUsing(s)) continue;
          for (const [ref, digest] of Object.entries(refs)) if (digest === s.digest) delete refs[ref];
          await this.files.writeRefs(refs);
          await this.files.remove(s.digest);
        }
      } else if (options.dangling) {
        const refs = await this.files.readRefs();
        const used = new Set(Object.values(refs));
        for (const s of await this.files.readAll()) {
          if (!used.has(s.digest) && !(await this.containerUsing(s))) await this.files.remove(s.digest);
        }
      }
      const all = await this.files.readAll();
      const keep = referencedBlobs(all);
      let deletedBlobs = 0;
      let reclaimedBytes = 0;
      for (const d of await this.opts.content.list()) {
        if (keep.has(d) || this.pins.has(d)) continue;
        reclaimedBytes += await this.opts.content.size(d).catch(() => 0);
        await this.opts.content.delete(d);
        deletedBlobs++;
      }
      const deletedSnapshots = this.opts.snapshots ? await this.opts.snapshots.gc(new Set(all.flatMap((s) => s.chainIds))) : 0;
      this.log.info({ deletedBlobs, deletedSnapshots, reclaimedBytes }, "images pruned");
      return { deletedBlobs, deletedSnapshots, reclaimedBytes };
    });
  }

  /**
   * Runs `produce` with a pin function; commits its candidates (records first, then
   * references), then deletes the blobs it committed that no image references. On failure it
   * deletes those blobs too, so a failed load leaves nothing behind.
   */
  private async withPins(
    produce: (pin: (d: string) => void) => Promise<ImageCandidate[]>,
    options: { keepBlobsOnFailure?: boolean } = {},
  ): Promise<ImageRecord[]> {
    const pinned = new Set<string>();
    const pin = (d: string) => {
      if (pinned.has(d)) return;
      pinned.add(d);
      this.pin(d);
    };
    let candidates: ImageCandidate[] | undefined;
    let failure: unknown;
    try {
      candidates = await produce(pin);
    } catch (err) {
      failure = err;
    }
    return this.lock.run(async () => {
      try {
        const out: ImageRecord[] = [];
        if (candidates) {
          const refs = await this.files.readRefs();
          for (const c of candidates) {
            const existing = await this.files.read(c.image.digest);
            if (!existing) await this.files.write(c.image);
          }
          for (const c of candidates) for (const r of c.references) refs[r] = c.image.digest;
          await this.files.writeRefs(refs);
          for (const c of candidates) out.push(toImageRecord((await this.files.read(c.image.digest))!, refs));
        }
        return out;
      } finally {
        for (const d of pinned) this.unpin(d);
        if (!(failure && options.keepBlobsOnFailure)) {
          const keep = referencedBlobs(await this.files.readAll());
          for (const d of pinned) if (!keep.has(d) && !this.pins.has(d)) await this.opts.content.delete(d);
        }
        if (failure) throw failure;
      }
    });
  }

  /**
   * Commits images whose blobs a producer put into the content store itself (a registry
   * pull, runtime/registry): `produce` pins every blob it relies on before it checks or
   * ingests it (so a concurrent prune or remove cannot take it), and returns the candidates
   * (checkManifest's records) with their normalized tagged references; records are written
   * first, then references, as for load. On failure no record or reference is written; with
   * `keepBlobsOnFailure` the verified blobs stay in the content store (unreferenced until a
   * retry uses them, or prune reclaims them), otherwise they are deleted as after a failed load.
   */
  async commitProduced(
    produce: (pin: (digest: string) => void) => Promise<ImageCandidate[]>,
    options: { keepBlobsOnFailure?: boolean } = {},
  ): Promise<ImageRecord[]> {
    return this.withPins(produce, options);
  }

  /**
   * What a push needs of a stored image: its record, the manifest's media type and the
   * manifest bytes exactly as stored (their digest is the record's). NotFound as `get`.
   */
  async pushSource(input: string): Promise<{ image: ImageRecord; manifestMediaType: string; manifest: Buffer }> {
    const refs = await this.files.readRefs();
    const s = await this.resolve(input, refs);
    const manifest = await this.opts.content.readBytes(s.digest, this.opts.maxManifestBytes);
    return { image: toImageRecord(s, refs), manifestMediaType: s.manifestMediaType, manifest };
  }

  /** Limits a producer of commitProduced checks against (the store's own caps). */
  get limits(): Pick<ImageStoreOptions, "maxBlobBytes" | "maxManifestBytes" | "maxConfigBytes"> {
    return { maxBlobBytes: this.opts.maxBlobBytes, maxManifestBytes: this.opts.maxManifestBytes, maxConfigBytes: this.opts.maxConfigBytes };
  }

  async load(source: string, options: { signal?: AbortSignal } = {}): Promise<ImageRecord[]> {
    const st = await fs.stat(source).catch((err) => {
      throw notFound(`load images from ${source}: ${(err as Error).message}`, { cause: err });
    });
    const limits: ArchiveLimits = {
      maxEntries: this.opts.maxArchiveEntries,
      maxBlobBytes: this.opts.maxBlobBytes,
      maxMetadataBytes: this.opts.maxManifestBytes,
    };
    const records = await this.withPins(async (pin) => {
      const ctx = { content: this.opts.content, limits, logger: this.log, onIngest: pin, ...(options.signal ? { signal: options.signal } : {}) };
      const { readDirectoryArchive, readTarArchive } = await import("./archive-reader.js");
      const { resolveArchiveImages } = await import("./image-load.js");
      const table = st.isDirectory() ? await readDirectoryArchive(source, ctx) : await readTarArchive(source, ctx);
      return resolveArchiveImages(table, {
        content: this.opts.content,
        logger: this.log,
        maxConfigBytes: this.opts.maxConfigBytes,
        maxManifestBytes: this.opts.maxManifestBytes,
        now: () => new Date(this.clock.now()),
        onIngest: pin,
      });
    });
    this.log.info({ source, images: records.map((r) => r.digest) }, "images loaded");
    return records;
  }

  async importRootfs(
    source: string | AsyncIterable<Uint8Array>,
    reference: string,
    options: { config?: ImageRuntimeConfig; signal?: AbortSignal } = {},
  ): Promise<ImageRecord> {
    const ref = normalizeTaggedReference(reference);
    const [record] = await this.withPins(async (pin) => {
      const { importRootfsImage } = await import("./image-import.js");
      const image = await importRootfsImage(
        {
          content: this.opts.content,
          logger: this.log,
          now: () => new Date(this.clock.now()),
          maxBlobBytes: this.opts.maxBlobBytes,
          maxLayerBytes: this.opts.maxLayerBytes,
          maxLayerEntries: this.opts.maxLayerEntries,
          maxConfigBytes: this.opts.maxConfigBytes,
          onIngest: pin,
        },
        source,
        options,
      );
      return [{ image, references: [ref] }];
    });
    this.log.info({ image: record!.digest, ref }, "rootfs imported");
    return record!;
  }

  /**
   * A new image: `base` (a reference or digest; none for scratch) plus `steps`, each a
   * layer — the entries of a writable layer to pack (`upper`), or a layer blob already in the
   * content store (`layer`, e.g. from the build cache) — or only a history entry; `config`
   * is the new runtime config, whole. Tagged `reference` when given (else dangling, found
   * by its digest). See image-commit.ts.
   */
  async commit(
    input: {
      base?: string;
      steps: (Omit<CommitStep, "layer"> & { layer?: LayerBlob; upper?: { dir: string; entries: UpperEntry[] }; write?: (pack: Pack) => Promise<void> })[];
      config: ImageRuntimeConfig;
      author?: string;
    },
    reference?: string,
  ): Promise<ImageRecord> {
    const ref = reference === undefined ? undefined : normalizeTaggedReference(reference);
    const base = input.base === undefined ? undefined : await this.resolve(input.base, await this.files.readRefs());
    const [record] = await this.withPins(async (pin) => {
      const { commitImage, ingestTarLayer, ingestUpperLayer } = await import("./image-commit.js");
      if (base) for (const d of [base.digest, base.configDigest, ...base.layers.map((l) => l.digest)]) pin(d);
      const steps: CommitStep[] = [];
      for (const s of input.steps) {
        const ingest = { content: this.opts.content, onIngest: pin };
        const layer = s.upper ? await ingestUpperLayer(ingest, s.upper.dir, s.upper.entries) : s.write ? await ingestTarLayer(ingest, s.write) : s.layer;
        if (layer) pin(layer.digest);
        steps.push({ createdBy: s.createdBy, ...(s.comment ? { comment: s.comment } : {}), ...(layer ? { layer } : {}) });
      }
      const image = await commitImage(
        { content: this.opts.content, logger: this.log, now: () => new Date(this.clock.now()), maxConfigBytes: this.opts.maxConfigBytes, onIngest: pin },
        { ...(base ? { base } : {}), steps, config: input.config, ...(input.author ? { author: input.author } : {}) },
      );
      return [{ image, references: ref ? [ref] : [] }];
    });
    this.log.info({ image: record!.digest, ref }, "image committed");
    return record!;
  }

  /** Each item of `refs` is resolved like `get`; a tag saves that tag, a digest all the image's tags. */
  async save(refs: string[], outFile: string): Promise<void> {
    if (refs.length === 0) throw invalidArgument("save images: no image given");
    const index = await this.files.readRefs();
    const items = new Map<string, { image: StoredImage; references: string[] }>();
    for (const input of refs) {
      const s = await this.resolve(input, index);
      const key = tagKeyOf(input);
      let names = key !== undefined && index[key] === s.digest ? [key] : [];
      if (names.length === 0) names = Object.keys(index).filter((k) => index[k] === s.digest);
      const item = items.get(s.digest) ?? { image: s, references: [] };
      for (const n of names) if (!item.references.includes(n)) item.references.push(n);
      items.set(s.digest, item);
    }
    const { writeImageArchive } = await import("./image-save.js");
    await writeImageArchive(this.opts.content, [...items.values()], outFile);
  }

  /**
   * `docker history` (image-history.ts): newest first; a layer's size is its unpacked size
   * when the snapshot store has it unpacked, else its blob's. NotFound as `get`. Lock-free.
   */
  async history(refOrDigest: string): Promise<ImageHistoryEntry[]> {
    const s = await this.resolve(refOrDigest, await this.files.readRefs());
    const config = await this.opts.content.readBytes(s.configDigest, this.opts.maxConfigBytes);
    const snapshots = this.opts.snapshots;
    const { imageHistory } = await import("./image-history.js");
    return imageHistory(s, config, async (chainId) => (snapshots && (await snapshots.has(chainId)) ? (await snapshots.layerMeta(chainId).catch(() => undefined))?.size : undefined));
  }
}
