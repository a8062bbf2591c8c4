import { createReadStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import type { Logger } from "pino";
import { failedPrecondition, invalidArgument, isBerthError } from "../../lib/errors.js";
import { formatReference, parseReference } from "../../lib/reference.js";
import type { FsContentStore } from "../content/content-store.js";
import { sha256Digest } from "../content/digest.js";
import type { FsImageStore } from "../images/image-store.js";
import type { Descriptor } from "../types.js";
import type { BlobSources } from "./blob-sources.js";
import { pushScope, type Endpoint, type RegistryClient } from "./client.js";
import { apiHostOf } from "./hosts.js";
import { mapLimit } from "./map-limit.js";
import { readManifestDocument } from "./manifest-document.js";
import type { BlobProgress, PushOptions, PushResult, RegistryProgress } from "./types.js";

export interface PushContext {
  client: RegistryClient;
  content: FsContentStore;
  images: FsImageStore;
  sources: BlobSources;
  concurrency: number;
  logger: Logger;
}

const PROGRESS_STEP = 1 << 20;

/**
 * Pushes a stored image (see RegistryService.push) to the registry itself (never a mirror):
 * layers (bounded parallel) then config — each HEADed first and uploaded only when missing:
 * mounted from another repository of the same registry that had it (BlobSources) when the
 * registry offers it (201), else POST + one PUT `?digest=` of the whole blob (to the
 * Location, relative or absolute) — then the manifest, last, under the tag (or digest),
 * with its media type. The registry's Docker-Content-Digest must be ours.
 */
export async function pushImage(ctx: PushContext, input: string, options: PushOptions = {}): Promise<PushResult> {
  const ref = parseReference(input);
  const what = `push image ${formatReference(ref)}`;
  const emit = (p: RegistryProgress) => options.onProgress?.(p);
  const signal = options.signal;
  const src = await ctx.images.pushSource(options.source ?? input);
  const digest = sha256Digest(src.manifest);
  if (digest !== src.image.digest) throw invalidArgument(`${what}: the stored manifest has digest ${digest}, the record says ${src.image.digest}`);
  if (ref.digest && ref.digest !== digest) throw invalidArgument(`${what}: the image's manifest is ${digest}, not ${ref.digest}`);
  const doc = readManifestDocument(src.manifest, src.manifestMediaType, undefined, `${what}: stored manifest`);
  if (doc.kind !== "manifest") throw invalidArgument(`${what}: the stored manifest is an index`);
  const ep: Endpoint = { host: apiHostOf(ref.domain), mirror: false };
  const repo = ref.path;
  const outcomes = new Map<string, PushResult["blobs"][number]["outcome"]>();

  const pushBlob = async (desc: Descriptor, role: BlobProgress["role"]) => {
    const progress = (status: BlobProgress["status"], done: number, from?: string) =>
      emit({ kind: "blob", digest: desc.digest, mediaType: desc.mediaType, role, status, done, total: desc.size, ...(from !== undefined ? { from } : {}) });
    const have = await ctx.client.headBlob(ep, repo, desc.digest, [pushScope(repo)], signal);
    if (have !== undefined) {
      outcomes.set(desc.digest, "exists");
      progress("exists", desc.size);
      return;
    }
    let file: string;
    try {
      file = await ctx.content.pathOf(desc.digest);
    } catch (err) {
      if (isBerthError(err, "NotFound")) throw failedPrecondition(`${what}: blob ${desc.digest} is not in the content store`, { cause: err });
      throw err;
    }
    let location: URL | undefined;
    for (const from of (await ctx.sources.candidates(desc.digest, ep.host, repo)).slice(0, 2)) {
      const r = await ctx.client.startUpload(ep, repo, { digest: desc.digest, from }, signal);
      if (r.mounted) {
        outcomes.set(desc.digest, "mounted");
        progress("mounted", desc.size, from);
        return;
      }
      location = r.location;
      break;
    }
    if (!location) {
      const r = await ctx.client.startUpload(ep, repo, undefined, signal);
      if (r.mounted) throw invalidArgument(`${what}: the registry answered 201 to an upload without mount`);
      location = r.location;
    }
    progress("uploading", 0);
    const body = () => {
      let sent = 0;
      let reported = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          sent += chunk.length;
          if (sent - reported >= PROGRESS_STEP) {
            reported = sent;
            progress("uploading", sent);
          }
          cb(null, chunk);
        },
      });
      return Readable.toWeb(createReadStream(file, { highWaterMark: 1 << 20 }).pipe(counter)) as ReadableStream<Uint8Array>;
    };
    await ctx.client.putBlob(ep, repo, location, desc.digest, desc.size, body, signal);
    outcomes.set(desc.digest, "uploaded");
    progress("done", desc.size);
  };

  await mapLimit(doc.manifest.layers, ctx.concurrency, (l) => pushBlob(l, "layer"));
  await pushBlob(doc.manifest.config, "config");
  const tagOrDigest = ref.digest ?? ref.tag!;
  const stored = await ctx.client.putManifest(ep, repo, tagOrDigest, doc.mediaType, src.manifest, signal);
  if (stored && stored !== digest) throw invalidArgument(`${what}: the registry stored the manifest as ${stored}, expected ${digest}`);
  const all = [digest, doc.manifest.config.digest, ...doc.manifest.layers.map((l) => l.digest)];
  await ctx.sources.record(ep.host, repo, all).catch((err) => ctx.logger.warn({ err: (err as Error).message }, "could not record blob sources"));
  ctx.logger.info({ reference: formatReference(ref), digest }, "image pushed");
  return {
    reference: formatReference(ref),
    digest,
    mediaType: doc.mediaType,
    size: src.manifest.length,
    blobs: [...doc.manifest.layers, doc.manifest.config].map((d) => ({ digest: d.digest, outcome: outcomes.get(d.digest) ?? "exists" })),
  };
}
