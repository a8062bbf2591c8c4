import type { Platform } from "../images/platform.js";
import type { ImageRecord } from "../types.js";

/**
 * Contracts of berth's registry client (OCI distribution). Errors are BerthErrors:
 * NotFound (no such repository, tag or blob), FailedPrecondition (access denied — log in;
 * a refused token realm; no manifest for this platform), InvalidArgument (a bad reference,
 * a document or blob that fails verification: nothing is committed), Unavailable (network,
 * 5xx, 429, timeouts; partial downloads are kept to resume), NotImplemented (zstd layers on
 * this Node, schema 1 manifests).
 */

/** Progress of one blob. `done`/`total` are bytes; `total` is the descriptor's size. */
export interface BlobProgress {
  digest: string;
  mediaType: string;
  role: "layer" | "config";
  status:
    | "exists" // already in the content store (pull) or in the repository (push)
    | "downloading"
    | "resuming" // continuing a kept partial download with a Range request
    | "verifying"
    | "done" // pull: committed to the content store; push: uploaded
    | "mounted" // push: mounted from another repository of the same registry
    | "uploading";
  done: number;
  total: number;
  /** With `mounted`: the repository (same registry) the blob was mounted from, e.g. `library/busybox`. */
  from?: string;
}

export type RegistryProgress =
  | ({ kind: "blob" } & BlobProgress)
  | { kind: "resolved"; reference: string; digest: string; mediaType: string; endpoint: string; indexDigest?: string }
  | { kind: "unpacked"; digest: string; chainId: string }
  | { kind: "endpoint-failed"; endpoint: string; error: string };

export interface PullOptions {
  /** Default: the host's (linux/<arch>). */
  platform?: Platform;
  signal?: AbortSignal;
  onProgress?: (p: RegistryProgress) => void;
}

export interface PullResult {
  /** The normalized reference pulled (`docker.io/library/busybox:latest`, or `name@sha256:…`). */
  reference: string;
  /** The image manifest's digest (for an index: the chosen platform's manifest). */
  digest: string;
  /** When the reference named an index: its digest. */
  indexDigest?: string;
  /** Media type of the image manifest (and of the index, when there was one). */
  mediaType: string;
  indexMediaType?: string;
  /** The endpoint that served the manifest: the registry's origin or a mirror's. */
  endpoint: string;
  image: ImageRecord;
  /** Per blob: found locally, downloaded, or resumed from a kept partial. */
  blobs: { digest: string; outcome: "exists" | "downloaded" | "resumed" }[];
}

export interface PushOptions {
  /** The local image to push (anything ImageStore.get accepts); default the reference itself. */
  source?: string;
  signal?: AbortSignal;
  onProgress?: (p: RegistryProgress) => void;
}

export interface PushResult {
  reference: string;
  /** The manifest digest the registry stored (what `docker push` prints). */
  digest: string;
  mediaType: string;
  size: number;
  blobs: { digest: string; outcome: "exists" | "mounted" | "uploaded" }[];
}

export interface LoginOptions {
  username: string;
  password: string;
  signal?: AbortSignal;
}

/**
 * Pull and push between registries and the local image store. Pulls are idempotent (blobs
 * already stored are not fetched again, partial ones are resumed); a pull commits the image
 * record only after every blob is verified and every layer unpacked, then points the tag at
 * it. A push uploads only what the repository lacks and puts the manifest last.
 */
export interface RegistryService {
  pull(reference: string, options?: PullOptions): Promise<PullResult>;
  /** Every tag of the repository (`--all-tags`), one pull each, in the registry's order. */
  pullAllTags(repository: string, options?: PullOptions): Promise<PullResult[]>;
  push(reference: string, options?: PushOptions): Promise<PushResult>;
  listTags(repository: string, options?: { signal?: AbortSignal }): Promise<string[]>;
  /** Validates the credentials against the registry's /v2/, then stores them (0600). */
  login(registry: string, options: LoginOptions): Promise<{ registry: string; stored: string }>;
  /** Removes stored credentials; false when there were none. */
  logout(registry: string): Promise<boolean>;
}
