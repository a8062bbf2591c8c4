/**
 * berth's HTTP+JSON API over the daemon's unix socket (Kubernetes-like paths). The CLI is a
 * client of this API only. Types here are the wire format; both ends import them.
 *
 *   GET    /v1/version
 *   POST   /v1/apply                      ApplyRequest → ApplyResponse
 *   GET    /v1/{plural}[?selector=k=v,..] → { items: ObjectView[] }
 *   GET    /v1/{plural}/{name}            → ObjectView
 *   DELETE /v1/{plural}/{name}            → ChangeEntry
 *   GET    /v1/events[?watch=true]        → { items } or NDJSON EventRecord stream
 *   GET    /v1/containers/{name}/logs     ?follow&tail=N&since=ms&timestamps → NDJSON LogLine stream
 *   POST   /v1/containers/{name}/exec     ExecRequest → ExecResult
 *   POST   /v1/containers/{name}/{stop|start|restart} → ObjectView
 *
 * The image store (`/v1/images` are the desired Image objects; the store the daemon owns is
 * `/v1/image-store`). Refs are references, digests or ID prefixes, as `berth image` takes them:
 *   GET    /v1/image-store                         → { items: ImageRecord[] }
 *   GET    /v1/image-store/inspect?ref=R[&ref=..]  → ImageRecord[]
 *   POST   /v1/image-store/load                    archive as the raw body (application/x-tar) → ImageLoadResponse
 *   POST   /v1/image-store/import?reference=R[&change=C..]  rootfs tarball as the raw body → ImageRecord
 *   GET    /v1/image-store/save?ref=R[&ref=..]     → the archive (application/x-tar, with content-length)
 *   POST   /v1/image-store/tag                     ImageTagRequest → ImageRecord
 *   DELETE /v1/image-store?ref=R[&force=true]      → ImageRemoveResponse
 *   POST   /v1/image-store/prune                   ImagePruneRequest → ImagePruneResponse
 *
 * Errors: a status from the error kind and `{ error: { kind, message, object? } }`.
 */
import type { ErrorKind, ObjectRef } from "../../lib/errors.js";
import type { Kind } from "../../schemas/kinds.js";
import type { Diagnostic } from "../manifests/diagnostics.js";
import type { ManifestText } from "../manifests/load.js";
import type { ImageRecord } from "../../runtime/types.js";

export const API_VERSION_PATH = "/v1";
export const IMAGE_STORE_PATH = "/v1/image-store";
/** The content type of image archive and rootfs uploads and of saved archives. */
export const TAR_CONTENT_TYPE = "application/x-tar";

export interface VersionInfo {
  version: string;
  pid: number;
  root: string;
  runRoot: string;
  startedAt: string;
}

export interface ApplyRequest {
  /** The stack the objects belong to; `--prune` removes this stack's objects missing from the set. */
  stack: string;
  /** Manifest texts as read by the client; the daemon parses and validates them itself. */
  files: ManifestText[];
  prune?: boolean;
  dryRun?: boolean;
  allowPrivileged?: boolean;
}

export type ChangeAction = "created" | "configured" | "unchanged" | "deleted";

/** One line of an apply's result (Flux's ChangeSet entry): `container/web configured`. */
export interface ChangeEntry {
  kind: Kind;
  name: string;
  action: ChangeAction;
}

export interface ApplyResponse {
  dryRun: boolean;
  /** Empty when the manifests had errors (then nothing was changed). */
  changes: ChangeEntry[];
  diagnostics: Diagnostic[];
  /**
   * With dryRun: for each created, configured or deleted object, its desired form before and
   * after ({metadata, spec} of the normalized object; absent when it did not / will not exist).
   */
  diffs?: { kind: Kind; name: string; before?: unknown; after?: unknown }[];
}

export type ContainerPhase = "Pending" | "Running" | "Restarting" | "Exited" | "Failed";
export type HealthStatus = "none" | "starting" | "healthy" | "unhealthy";

export interface HealthResultView {
  start: string;
  end: string;
  result: "success" | "failure" | "unknown";
  output: string;
}

export interface ContainerStatusView {
  phase: ContainerPhase;
  health: HealthStatus;
  restartCount: number;
  lastRestartAt?: string;
  /** When the next policy restart is due, while backing off. */
  nextRestartAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  /** Machine-readable cause, e.g. `CrashLoopBackOff`, `DependencyFailed`, `Unhealthy`. */
  reason?: string;
  message?: string;
  containerId?: string;
  imageDigest?: string;
  specHash?: string;
  /** The last 5 probe results, newest last. */
  healthResults?: HealthResultView[];
}

export interface GenericStatusView {
  ready: boolean;
  reason?: string;
  message?: string;
  [detail: string]: unknown;
}

export interface ObjectView {
  apiVersion: "berth/v1";
  kind: Kind;
  metadata: {
    name: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    stack: string;
    generation: number;
    createdAt: string;
    updatedAt: string;
  };
  spec: unknown;
  status: ContainerStatusView | GenericStatusView;
}

export interface EventRecord {
  /** Increasing per daemon run. */
  seq: number;
  time: string;
  type: "Normal" | "Warning";
  /** `Created`, `Started`, `Died`, `BackOff`, `Unhealthy`, `Healthy`, `Recreated`, ... */
  reason: string;
  /** `container/web`. */
  object: string;
  message: string;
}

export interface ExecRequest {
  argv: string[];
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
  timeoutMs?: number;
}

export interface ImageLoadResponse {
  loaded: ImageRecord[];
}

export interface ImageTagRequest {
  /** An existing image: reference, digest or ID prefix. */
  source: string;
  /** The new name:tag. */
  target: string;
}

export interface ImageRemoveResponse {
  /** Normalized references removed. */
  untagged: string[];
  /** Digests deleted: the image's manifest digest first, then blobs only it used. */
  deleted: string[];
}

export interface ImagePruneRequest {
  /** `berth image prune -a`. */
  all?: boolean;
}

export interface ImagePruneResponse {
  deletedBlobs: number;
  deletedSnapshots: number;
  reclaimedBytes: number;
}

export interface ErrorBody {
  error: { kind: ErrorKind; message: string; object?: ObjectRef };
}
