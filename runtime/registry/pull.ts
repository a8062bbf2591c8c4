import type { Logger } from "pino";
import type { Clock } from "../../lib/clock.js";
import { BerthError, internal, invalidArgument, isBerthError, notFound } from "../../lib/errors.js";
import { DIGEST_RE } from "../../lib/names.js";
import { formatReference, parseReference, type Reference } from "../../lib/reference.js";
import type { KeyedLock } from "../content/async-lock.js";
import type { FsContentStore } from "../content/content-store.js";
import { sha256Digest } from "../content/digest.js";
import { parseImageConfig, parseJson, type ParsedManifest } from "../images/image-json.js";
import type { FsImageStore } from "../images/image-store.js";
import { checkManifest } from "../images/manifest-check.js";
import { MediaType } from "../images/media-types.js";
import type { Descriptor, SnapshotStore } from "../types.js";
import { GrowingFile, type GrowingFileState } from "../snapshots/growing-file.js";
import { fetchBlob, type BlobFetchContext, type BlobFetchOutcome, type BlobFileWatch } from "./blob-fetch.js";
import type { BlobSources } from "./blob-sources.js";
import { endpointName, type Endpoint, type RegistryClient } from "./client.js";
import { apiHostOf } from "./hosts.js";
import { mapLimit } from "./map-limit.js";
import { checkLayerSupported, choosePlatform, MANIFEST_ACCEPT, readManifestDocument, type ManifestDocument } from "./manifest-document.js";
import { mirrorsOf, type RegistrySettings } from "./settings.js";
import type { PullOptions, PullResult, RegistryProgress } from "./types.js";

export interface PullContext {
  client: RegistryClient;
  settings: RegistrySettings;
  content: FsContentStore;
  images: FsImageStore;
  /** When given, layers are unpacked before the image is committed. */
  snapshots?: Pick<SnapshotStore, "unpackChain" | "warmUnpacker">;
  sources: BlobSources;
  fetch: BlobFetchContext;
  /** Serializes work on one blob digest across concurrent pulls. */
  blobLocks: KeyedLock;
  concurrency: number;
  maxManifestBytes: number;
  maxConfigBytes: number;
  maxBlobBytes: number;
  clock: Clock;
  logger: Logger;
}

const MAX_INDEX_DEPTH = 4;

/** The endpoints of a reference's registry: its mirrors in order, then the registry itself. */
export function pullEndpoints(settings: RegistrySettings, domain: string): Endpoint[] {
  const mirrors = mirrorsOf(settings, domain).map((origin) => ({ host: new URL(origin).host, origin, mirror: true }));
  return [...mirrors, { host: apiHostOf(domain), mirror: false }];
}

/** `endpoints` starting at `first` (the one that served the manifest), then the others in order. */
function startingAt(endpoints: Endpoint[], first: Endpoint): Endpoint[] {
  return [first, ...endpoints.filter((e) => e !== first)];
}

function isForeign(mediaType: string): boolean {
  return mediaType === MediaType.dockerLayerForeignGzip || mediaType.startsWith("application/vnd.oci.image.layer.nondistributable.");
}

/**
 * Pulls one image (see RegistryService.pull). Order: resolve the manifest (mirrors first,
 * any mirror failure falls through to the next and finally the registry), verify it
 * (digest of the bytes against `@sha256:` and Docker-Content-Digest; type confusion), follow
 * an index to this platform's manifest, then — inside FsImageStore.commitProduced, every blob
 * pinned — store the manifest, fetch config and layers (bounded parallel, skipping blobs
 * already stored, resuming partial ones; each layer unpacked from its download's file as it
 * grows), check the manifest against the config, commit the unpacked layers once every blob
 * passed its digest check, and commit the record and the tag.
 */
export async function pullImage(ctx: PullContext, input: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(input);
  const what = `pull image ${formatReference(ref)}`;
  const emit = (p: RegistryProgress) => options.onProgress?.(p);
  const signal = options.signal;
  const endpoints = pullEndpoints(ctx.settings, ref.domain);
  const repo = ref.path;
  const target = ref.digest ?? ref.tag!;

  // ---------------------------------------------------------------- resolve
  let served: Endpoint | undefined;
  let got: Awaited<ReturnType<RegistryClient["getManifest"]>> | undefined;
  for (const ep of endpoints) {
    try {
      got = await ctx.client.getManifest(ep, repo, target, MANIFEST_ACCEPT, ctx.maxManifestBytes, signal);
      served = ep;
      break;
    } catch (err) {
      signal?.throwIfAborted();
      if (!ep.mirror || !(err instanceof BerthError)) throw err;
      ctx.logger.warn({ endpoint: endpointName(ep), err: err.message }, "mirror failed; trying the next endpoint");
      emit({ kind: "endpoint-failed", endpoint: endpointName(ep), error: err.message });
    }
  }
  if (!got || !served) throw internal(`${what}: no endpoint answered`);
  const topDigest = sha256Digest(got.bytes);
  if (ref.digest && topDigest !== ref.digest) {
    throw invalidArgument(`${what}: the registry sent a manifest with digest ${topDigest}; refused`);
  }
  if (got.dockerDigest && DIGEST_RE.test(got.dockerDigest) && got.dockerDigest !== topDigest) {
    throw invalidArgument(`${what}: Docker-Content-Digest says ${got.dockerDigest} but the manifest has digest ${topDigest}; refused`);
  }
  let doc: ManifestDocument = readManifestDocument(got.bytes, got.contentType, undefined, `${what}: manifest`);
  let bytes = got.bytes;
  let digest = topDigest;
  let indexDigest: string | undefined;
  let indexMediaType: string | undefined;
  const blobEndpoints = startingAt(endpoints, served);
  for (let depth = 0; doc.kind === "index"; depth++) {
    if (depth >= MAX_INDEX_DEPTH) throw invalidArgument(`${what}: indexes nested deeper than ${MAX_INDEX_DEPTH}`);
    if (depth === 0) {
      indexDigest = digest;
      indexMediaType = doc.mediaType;
    }
    const entry = choosePlatform(doc.index, what, options.platform);
    if (entry.size > ctx.maxManifestBytes) throw invalidArgument(`${what}: manifest ${entry.digest} is larger than the cap of ${ctx.maxManifestBytes} bytes`);
    let child: typeof got | undefined;
    let lastErr: unknown;
    for (const ep of blobEndpoints) {
      try {
        child = await ctx.client.getManifest(ep, repo, entry.digest, MANIFEST_ACCEPT, ctx.maxManifestBytes, signal);
        break;
      } catch (err) {
        signal?.throwIfAborted();
        lastErr = err;
        if (!ep.mirror) throw err;
      }
    }
    if (!child) throw lastErr;
    const childDigest = sha256Digest(child.bytes);
    if (childDigest !== entry.digest || child.bytes.length !== entry.size) {
      throw invalidArgument(`${what}: manifest ${entry.digest} arrived with digest ${childDigest} and ${child.bytes.length} bytes (index says ${entry.size}); refused`);
    }
    doc = readManifestDocument(child.bytes, child.contentType, entry.mediaType, `${what}: manifest ${entry.digest}`);
    bytes = child.bytes;
    digest = childDigest;
  }
  const manifest: ParsedManifest = { ...doc.manifest, mediaType: doc.mediaType };
  emit({ kind: "resolved", reference: formatReference(ref), digest, mediaType: doc.mediaType, endpoint: endpointName(served), ...(indexDigest ? { indexDigest } : {}) });
  for (const [i, l] of manifest.layers.entries()) checkLayerSupported(l.mediaType, `${what}: layer ${i}`);
  if (manifest.config.size > ctx.maxConfigBytes) throw invalidArgument(`${what}: config of ${manifest.config.size} bytes exceeds the cap of ${ctx.maxConfigBytes}`);

  // ---------------------------------------------------------------- fetch, check, unpack, commit
  const outcomes = new Map<string, "exists" | BlobFetchOutcome>();
  const getBlob = async (desc: Descriptor, role: "layer" | "config", pin: (d: string) => void, watch?: BlobFileWatch) => {
    pin(desc.digest);
    await ctx.blobLocks.run(desc.digest, async () => {
      if (await ctx.content.has(desc.digest)) {
        outcomes.set(desc.digest, "exists");
        emit({ kind: "blob", digest: desc.digest, mediaType: desc.mediaType, role, status: "exists", done: desc.size, total: desc.size });
        return;
      }
      try {
        const outcome = await fetchBlob(ctx.fetch, blobEndpoints, {
          repo,
          desc,
          role,
          maxBytes: role === "config" ? ctx.maxConfigBytes : ctx.maxBlobBytes,
          onProgress: (p) => emit({ kind: "blob", ...p }),
          ...(watch ? { watch } : {}),
          ...(signal ? { signal } : {}),
        });
        outcomes.set(desc.digest, outcome);
      } catch (err) {
        if (role === "layer" && isForeign(desc.mediaType) && isBerthError(err, "NotFound")) {
          throw notFound(`${what}: layer ${desc.digest} is non-distributable (${desc.mediaType}) and the registry does not serve it; berth never follows a layer's urls`, { cause: err });
        }
        throw err;
      }
    });
  };
  const references = ref.tag !== undefined ? [`${ref.domain}/${ref.path}:${ref.tag}`] : [];
  const [record] = await ctx.images.commitProduced(
    async (pin) => {
      pin(digest);
      if (!(await ctx.content.has(digest))) await ctx.content.ingest([bytes], { expectedDigest: digest, expectedSize: bytes.length });
      await getBlob(manifest.config, "config", pin);
      // Each layer is unpacked while it downloads, from the download's file, and committed
      // once its download is (the diff IDs come from the config, fetched first).
      const unpacking = ctx.snapshots ? unpackAsDownloaded(ctx.snapshots, await diffIdsOf(ctx, manifest, what), manifest.layers, signal) : undefined;
      try {
        await mapLimit(manifest.layers, ctx.concurrency, async (l, i) => {
          try {
            await getBlob(l, "layer", pin, unpacking?.watch(i));
            unpacking?.downloaded(i);
          } catch (err) {
            unpacking?.failed(err);
            throw err;
          }
        });
      } catch (err) {
        await unpacking?.done.catch(() => {});
        throw err;
      }
      const image = await checkManifest(
        { content: ctx.content, logger: ctx.logger, maxConfigBytes: ctx.maxConfigBytes, now: () => new Date(ctx.clock.now()) },
        digest,
        manifest,
        what,
      ).catch(async (err) => {
        unpacking?.failed(err);
        await unpacking?.done.catch(() => {});
        throw err;
      });
      image.manifestMediaType = doc.mediaType;
      if (unpacking) {
        const ids = await unpacking.done;
        for (const [i, layer] of image.layers.entries()) {
          if (ids[i] !== image.chainIds[i]) throw internal(`${what}: layer ${i} unpacked as chain ${ids[i]}, expected ${image.chainIds[i]}`);
          emit({ kind: "unpacked", digest: layer.digest, chainId: ids[i]! });
        }
      }
      return [{ image, references }];
    },
    { keepBlobsOnFailure: true },
  );
  if (!record) throw internal(`${what}: nothing was committed`);
  const all = [digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  await ctx.sources.record(apiHostOf(ref.domain), repo, all).catch((err) => ctx.logger.warn({ err: (err as Error).message }, "could not record blob sources"));
  ctx.logger.info({ reference: formatReference(ref), digest, endpoint: endpointName(served) }, "image pulled");
  const result: PullResult = {
    reference: formatReference(ref),
    digest,
    mediaType: doc.mediaType,
    endpoint: endpointName(served),
    image: record,
    blobs: [manifest.config, ...manifest.layers].map((d) => ({ digest: d.digest, outcome: outcomes.get(d.digest) ?? "exists" })),
  };
  if (indexDigest) result.indexDigest = indexDigest;
  if (indexMediaType) result.indexMediaType = indexMediaType;
  return result;
}

/** The config's diff IDs, read early (checkManifest checks the config fully later). */
async function diffIdsOf(ctx: PullContext, manifest: ParsedManifest, what: string): Promise<string[]> {
  const config = parseImageConfig(parseJson(await ctx.content.readBytes(manifest.config.digest, ctx.maxConfigBytes), `${what} config`), `${what} config`);
  if (config.diffIds.length !== manifest.layers.length) {
    throw invalidArgument(`${what}: manifest has ${manifest.layers.length} layers but the config has ${config.diffIds.length} diff IDs`);
  }
  return config.diffIds;
}

/**
 * Starts the unpack of a pull's layers: layer i is read from its download's file as it grows
 * (`watch(i)` is given to the download), and committed once `downloaded(i)` says the blob is;
 * `failed(err)` stops it (what was not committed is removed); `done` gives the chain IDs.
 */
function unpackAsDownloaded(snapshots: NonNullable<PullContext["snapshots"]>, diffIds: string[], layers: Descriptor[], signal?: AbortSignal) {
  snapshots.warmUnpacker?.().catch(() => {}); // a worker that cannot start fails the unpacks themselves
  const gates = layers.map((desc) => {
    let open!: () => void;
    let fail!: (err: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      open = resolve;
      fail = reject;
    });
    ready.catch(() => {});
    let started!: (g: GrowingFileState | undefined) => void;
    const growing = new Promise<GrowingFileState | undefined>((resolve) => (started = resolve));
    let file: GrowingFile | undefined;
    const watch: BlobFileWatch = {
      opened: (path, have) => {
        if (file) return; // a later attempt goes on appending to the same file
        file = new GrowingFile(path, desc.size, have);
        started(file.state);
      },
      wrote: (total) => file?.wrote(total),
      reset: () => file?.abandon(),
    };
    // No download (the blob is there), or it is over: nothing more to stream.
    const end = (ok: boolean) => {
      if (!ok) file?.abandon();
      started(undefined);
    };
    return { ready, open, fail, growing, watch, end };
  });
  const done = snapshots.unpackChain(
    layers.map((desc, i) => ({ desc, diffId: diffIds[i]!, ready: gates[i]!.ready, growing: gates[i]!.growing })),
    signal,
  );
  done.catch(() => {});
  return {
    done,
    watch: (i: number) => gates[i]!.watch,
    downloaded: (i: number) => {
      gates[i]!.end(true);
      gates[i]!.open();
    },
    failed: (err: unknown) => {
      for (const g of gates) {
        g.end(false);
        g.fail(err);
      }
    },
  };
}

/** A repository reference (`name`, no tag or digest) as `{domain, path}`; InvalidArgument otherwise. */
export function parseRepository(input: string, what: string): Reference {
  const r = parseReference(input, { defaultTag: false });
  if (r.tag !== undefined || r.digest !== undefined) throw invalidArgument(`${what}: give a repository without tag or digest, got ${JSON.stringify(input)}`);
  return r;
}

