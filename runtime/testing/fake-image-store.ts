import { createReadStream, promises as fs } from "node:fs";
import { gunzipSync } from "node:zlib";
import { systemClock, type Clock } from "../../lib/clock.js";
import { conflict, invalidArgument, notFound } from "../../lib/errors.js";
import { normalizeTaggedReference } from "../../lib/reference.js";
import { sha256Digest } from "../content/digest.js";
import { parseRuntimeConfig } from "../images/image-json.js";
import { MediaType } from "../images/media-types.js";
import { ociArchitecture } from "../images/platform.js";
import { chainIds } from "../snapshots/chain-id.js";
import { resolveStoredImage, tagKeyOf } from "../images/image-lookup.js";
import type { Descriptor, ImageRecord, ImageRuntimeConfig, ImageStore } from "../types.js";
import { CallLog, type FakeCall } from "./call-log.js";

/**
 * An in-memory ImageStore that resolves, tags, removes and prunes like FsImageStore
 * (runtime/images/image-store.ts) — both pass runtime/conformance/image-store-suite.ts:
 * - `get` by full manifest or config digest, by reference (normalized like Docker:
 *   `busybox` → `docker.io/library/busybox:latest`; `name@sha256:…`), or by a unique hex
 *   prefix; NotFound, or InvalidArgument for a bad reference or an ambiguous prefix;
 * - `tag` (InvalidArgument for a digest target), `remove` (a tag is untagged, the image goes
 *   with its last reference; a digest of an image with several references is Conflict
 *   unless force; an image in use (`inUse`) is Conflict unless force), `prune` (dangling /
 *   all, counting the blobs and layers it drops), `list` in the order images were added (then by digest);
 * - `importRootfs` reads the tarball (a path or a stream), checks it is a tar (gzip or not;
 *   InvalidArgument otherwise) and makes a one-layer image whose digest depends on its bytes,
 *   config and the clock's time (as the real one); a missing file is NotFound;
 * - `save` writes a small JSON "archive" of the named images to the file; `load` reads only
 *   such files (InvalidArgument for anything else, NotFound for a missing path) — a real
 *   `docker save` archive needs FsImageStore.
 *
 * Test helpers: `addImage(reference, config?)` (synchronous, deterministic digests),
 * `failNext(method, error, {times})`, `calls` (call-log.ts). Nothing touches the disk but
 * the files `importRootfs`, `save` and `load` are given.
 */

export interface FakeImageStoreOptions {
  clock?: Clock;
  /** True when a container uses the image (remove without force and prune keep it). */
  inUse?: (image: ImageRecord) => boolean;
}

export type FakeImageMethod = "list" | "get" | "tag" | "remove" | "prune" | "load" | "importRootfs" | "save";

const ARCHIVE_MARK = "berth-fake-image-archive";

interface Stored extends Omit<ImageRecord, "references"> {
  /** When it was stored (clock ms): `list` orders by it, then by digest, as FsImageStore. */
  addedAt: number;
}

interface Built {
  image: Omit<Stored, "addedAt">;
  manifestSize: number;
  configSize: number;
}

interface FakeArchive {
  [ARCHIVE_MARK]: 1;
  images: (Built & { references: string[] })[];
}


export class FakeImageStore implements ImageStore {
  private readonly images = new Map<string, Stored>();
  /** Normalized tagged reference → manifest digest. */
  private readonly refs = new Map<string, string>();
  /** Blob digest → size: manifests, configs and layers of every stored image. */
  private readonly blobs = new Map<string, number>();
  /** Unpacked layers (chain IDs). */
  private readonly layers = new Set<string>();
  private readonly clock: Clock;
  private readonly log: CallLog<FakeImageMethod>;

  constructor(private readonly options: FakeImageStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.log = new CallLog(() => this.clock.now());
  }

  get calls(): readonly FakeCall<FakeImageMethod>[] {
    return this.log.calls;
  }

  failNext(method: FakeImageMethod, error: unknown, options: { times?: number } = {}): void {
    this.log.failNext(method, error, options);
  }

  /**
   * Adds (or, for the same reference and config, finds) an image with one layer per entry of
   * `layers` (default: one layer named after the reference); points `reference` at it.
   * Digests are deterministic. Not recorded in `calls`.
   */
  addImage(reference: string, config: ImageRuntimeConfig = { Cmd: ["sh"] }, options: { layers?: string[]; size?: number } = {}): ImageRecord {
    const ref = normalizeTaggedReference(reference);
    const seeds = options.layers ?? [ref];
    const layers = seeds.map((seed) => ({ mediaType: MediaType.ociLayer, digest: sha256Digest(`fake-layer-blob:${seed}`), size: options.size ?? 1024 }));
    const diffIds = seeds.map((seed) => sha256Digest(`fake-layer:${seed}`));
    const stored = this.store(this.build(layers, diffIds, parseRuntimeConfig(config, `add image ${reference}`), undefined), [ref]);
    return this.toRecord(stored);
  }

  // ------------------------------------------------------------------ reads

  async list(): Promise<ImageRecord[]> {
    this.log.enter("list", []);
    return [...this.images.values()].sort((a, b) => a.addedAt - b.addedAt || a.digest.localeCompare(b.digest)).map((s) => this.toRecord(s));
  }

  async get(refOrDigest: string): Promise<ImageRecord> {
    this.log.enter("get", [refOrDigest]);
    return this.toRecord(await this.resolve(refOrDigest));
  }

  /** The lookup rules of FsImageStore (image-lookup.ts), over this store's maps. */
  private resolve(input: string): Promise<Stored> {
    return resolveStoredImage(input, this.refs, { read: (d) => this.images.get(d), readAll: () => [...this.images.values()] });
  }

  // ------------------------------------------------------------------ mutations

  async tag(source: string, target: string): Promise<ImageRecord> {
    this.log.enter("tag", [source, target]);
    const ref = normalizeTaggedReference(target);
    const s = await this.resolve(source);
    this.refs.set(ref, s.digest);
    return this.toRecord(s);
  }

  async remove(input: string, options: { force?: boolean } = {}): Promise<{ untagged: string[]; deleted: string[] }> {
    this.log.enter("remove", [input, options]);
    const force = options.force === true;
    const key = tagKeyOf(input);
    const tagged = key !== undefined && this.refs.has(key) ? key : undefined;
    const s = tagged ? this.images.get(this.refs.get(tagged)!)! : await this.resolve(input);
    const imageRefs = this.referencesOf(s.digest);
    const untagged = tagged ? [tagged] : imageRefs;
    if (!tagged && imageRefs.length > 1 && !force) {
      throw conflict(`remove image ${input}: referenced by ${imageRefs.join(", ")}; remove a reference or use force`, { object: { kind: "image", name: input } });
    }
    const remaining = imageRefs.filter((r) => !untagged.includes(r));
    if (remaining.length === 0 && !force && this.options.inUse?.(this.toRecord(s))) {
      throw conflict(`remove image ${input}: a container uses it; use force`, { object: { kind: "image", name: input } });
    }
    for (const r of untagged) this.refs.delete(r);
    const deleted: string[] = [];
    if (remaining.length === 0) {
      this.images.delete(s.digest);
      const gone = this.sweep();
      deleted.push(s.digest, ...gone.blobs.filter((d) => d !== s.digest));
    }
    return { untagged, deleted };
  }

  async prune(options: { dangling?: boolean; all?: boolean } = {}): Promise<{ deletedBlobs: number; deletedSnapshots: number; reclaimedBytes: number }> {
    this.log.enter("prune", [options]);
    for (const s of [...this.images.values()]) {
      const refs = this.referencesOf(s.digest);
      const used = !!this.options.inUse?.(this.toRecord(s));
      if (used) continue;
      if (options.all || (options.dangling && refs.length === 0)) {
        for (const r of refs) this.refs.delete(r);
        this.images.delete(s.digest);
      }
    }
    const gone = this.sweep();
    return { deletedBlobs: gone.blobs.length, deletedSnapshots: gone.layers, reclaimedBytes: gone.bytes };
  }

  async load(source: string, options: { signal?: AbortSignal } = {}): Promise<ImageRecord[]> {
    this.log.enter("load", [source, options]);
    const text = await fs.readFile(source, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw notFound(`load images from ${source}: ${err.message}`, { cause: err });
      throw invalidArgument(`load images from ${source}: ${err.message}`, { cause: err });
    });
    let archive: FakeArchive | undefined;
    try {
      archive = JSON.parse(text) as FakeArchive;
    } catch {
      archive = undefined;
    }
    if (archive?.[ARCHIVE_MARK] !== 1 || !Array.isArray(archive.images)) {
      throw invalidArgument(`load images from ${source}: not an archive FakeImageStore.save wrote (the fake reads no other format)`);
    }
    options.signal?.throwIfAborted();
    return archive.images.map((item) => this.toRecord(this.store(item, item.references.map((r) => normalizeTaggedReference(r)))));
  }

  async importRootfs(
    source: string | AsyncIterable<Uint8Array>,
    reference: string,
    options: { config?: ImageRuntimeConfig; signal?: AbortSignal } = {},
  ): Promise<ImageRecord> {
    this.log.enter("importRootfs", [source, reference, options]);
    const ref = normalizeTaggedReference(reference);
    const config = parseRuntimeConfig(options.config ?? {}, "import rootfs config");
    const bytes = await readAll(source, options.signal);
    const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    let tar: Buffer;
    try {
      tar = gzipped ? gunzipSync(bytes) : bytes;
    } catch (err) {
      throw invalidArgument(`import rootfs: invalid gzip data`, { cause: err });
    }
    if (!looksLikeTar(tar)) throw invalidArgument(`import rootfs: not a tar archive`);
    const layer: Descriptor = { mediaType: gzipped ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: sha256Digest(bytes), size: bytes.length };
    const stored = this.build([layer], [sha256Digest(tar)], config, new Date(this.clock.now()).toISOString());
    return this.toRecord(this.store(stored, [ref]));
  }

  async save(refs: string[], outFile: string): Promise<void> {
    this.log.enter("save", [refs, outFile]);
    if (refs.length === 0) throw invalidArgument("save images: no image given");
    const items = new Map<string, Built & { references: string[] }>();
    for (const input of refs) {
      const s = await this.resolve(input);
      const key = tagKeyOf(input);
      let names: string[] = key !== undefined && this.refs.get(key) === s.digest ? [key] : [];
      if (names.length === 0) names = this.referencesOf(s.digest);
      const { addedAt: _addedAt, ...image } = s;
      const item = items.get(s.digest) ?? { image, manifestSize: this.blobs.get(s.digest) ?? 0, configSize: this.blobs.get(s.configDigest) ?? 0, references: [] };
      for (const n of names) if (!item.references.includes(n)) item.references.push(n);
      items.set(s.digest, item);
    }
    const archive: FakeArchive = { [ARCHIVE_MARK]: 1, images: [...items.values()] };
    await fs.writeFile(outFile, JSON.stringify(archive));
  }

  // ------------------------------------------------------------------ internals

  /** The image's record and the sizes of its manifest and config blobs. */
  private build(layers: Descriptor[], diffIds: string[], config: ImageRuntimeConfig, created: string | undefined): Built {
    const architecture = ociArchitecture();
    const configBytes = JSON.stringify({ architecture, os: "linux", ...(created ? { created } : {}), config, rootfs: { type: "layers", diff_ids: diffIds } });
    const configDigest = sha256Digest(configBytes);
    const manifestBytes = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers,
    });
    const image: Omit<Stored, "addedAt"> = {
      digest: sha256Digest(manifestBytes),
      configDigest,
      layers,
      diffIds,
      chainIds: chainIds(diffIds),
      config,
      os: "linux",
      architecture,
      size: layers.reduce((n, l) => n + l.size, 0),
    };
    if (created) image.created = created;
    return { image, manifestSize: manifestBytes.length, configSize: configBytes.length };
  }

  /** Stores the image (once) and points `references` at it; refs move like the real store's. */
  private store(built: Built, references: string[]): Stored {
    let s = this.images.get(built.image.digest);
    if (!s) {
      s = { ...structuredClone(built.image), addedAt: this.clock.now() };
      this.images.set(s.digest, s);
      this.blobs.set(s.digest, built.manifestSize);
      this.blobs.set(s.configDigest, built.configSize);
      for (const l of s.layers) this.blobs.set(l.digest, l.size);
      for (const c of s.chainIds) this.layers.add(c);
    }
    for (const r of references) this.refs.set(r, s.digest);
    return s;
  }

  /** Drops blobs and layers no stored image references. */
  private sweep(): { blobs: string[]; layers: number; bytes: number } {
    const keepBlobs = new Set<string>();
    const keepLayers = new Set<string>();
    for (const s of this.images.values()) {
      keepBlobs.add(s.digest).add(s.configDigest);
      for (const l of s.layers) keepBlobs.add(l.digest);
      for (const c of s.chainIds) keepLayers.add(c);
    }
    const blobs: string[] = [];
    let bytes = 0;
    for (const [d, size] of this.blobs) {
      if (keepBlobs.has(d)) continue;
      this.blobs.delete(d);
      blobs.push(d);
      bytes += size;
    }
    let layers = 0;
    for (const c of this.layers) {
      if (keepLayers.has(c)) continue;
      this.layers.delete(c);
      layers++;
    }
    return { blobs, layers, bytes };
  }

  private referencesOf(digest: string): string[] {
    return [...this.refs].filter(([, d]) => d === digest).map(([r]) => r).sort();
  }

  private toRecord(s: Stored): ImageRecord {
    const { addedAt: _addedAt, ...rest } = structuredClone(s);
    return { references: this.referencesOf(s.digest), ...rest };
  }
}

async function readAll(source: string | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<Buffer> {
  if (typeof source === "string") {
    try {
      await fs.access(source);
    } catch (err) {
      throw notFound(`import rootfs from ${source}: ${(err as Error).message}`, { cause: err });
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of typeof source === "string" ? createReadStream(source) : source) {
    signal?.throwIfAborted();
    chunks.push(Buffer.from(c as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** A tar stream: whole 512-byte blocks, starting with a ustar header or the end-of-archive zeros. */
function looksLikeTar(b: Buffer): boolean {
  if (b.length < 512 || b.length % 512 !== 0) return false;
  if (b.subarray(257, 262).toString("latin1") === "ustar") return true;
  return b.subarray(0, 512).every((x) => x === 0);
}
