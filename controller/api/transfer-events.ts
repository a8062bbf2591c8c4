/**
 * Pull and push as the API streams them (ImageTransferEvent, protocol.ts): the registry's
 * progress as it comes, then a `pulled` (per image) or `pushed` summary. One implementation
 * for the daemon's facade and for the CLI without a daemon, so both print the same lines.
 */
import type { PullResult, PushResult, RegistryService } from "../../runtime/registry/types.js";
import type { ImagePullRequest, ImagePushRequest, ImageTransferEvent, PulledImage, PushedImage } from "./protocol.js";

export function pulledEvent(r: PullResult): PulledImage {
  return {
    kind: "pulled",
    reference: r.reference,
    digest: r.digest,
    ...(r.indexDigest ? { indexDigest: r.indexDigest } : {}),
    id: r.image.configDigest,
    endpoint: r.endpoint,
    blobs: r.blobs.map((b) => ({ digest: b.digest, outcome: b.outcome })),
  };
}

export function pushedEvent(r: PushResult): PushedImage {
  return { kind: "pushed", reference: r.reference, digest: r.digest, mediaType: r.mediaType, size: r.size, blobs: r.blobs.map((b) => ({ digest: b.digest, outcome: b.outcome })) };
}

/**
 * `docker pull [--all-tags]`: hands progress and then a `pulled` event per image to `onEvent`
 * (with allTags the summaries come after the last tag: RegistryService.pullAllTags returns
 * them together). Errors are the registry service's.
 */
export async function pullWith(registry: Pick<RegistryService, "pull" | "pullAllTags">, req: ImagePullRequest, onEvent: (e: ImageTransferEvent) => void, signal?: AbortSignal): Promise<PulledImage[]> {
  const options = { onProgress: onEvent, ...(signal ? { signal } : {}) };
  const results = req.allTags ? await registry.pullAllTags(req.reference, options) : [await registry.pull(req.reference, options)];
  const events = results.map(pulledEvent);
  for (const e of events) onEvent(e);
  return events;
}

/** `docker push`: progress, then the `pushed` event. */
export async function pushWith(registry: Pick<RegistryService, "push">, req: ImagePushRequest, onEvent: (e: ImageTransferEvent) => void, signal?: AbortSignal): Promise<PushedImage> {
  const e = pushedEvent(await registry.push(req.reference, { onProgress: onEvent, ...(signal ? { signal } : {}) }));
  onEvent(e);
  return e;
}
