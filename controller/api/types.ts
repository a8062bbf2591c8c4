import type { Kind } from "../../schemas/kinds.js";
import type { ImageRuntimeConfig } from "../../runtime/types.js";
import type {
  ApplyRequest,
  ApplyResponse,
  ChangeEntry,
  EventRecord,
  ExecRequest,
  ExecResult,
  ImagePruneResponse,
  ImageRecord,
  ImageRemoveResponse,
  LogLine,
  ObjectView,
  VersionInfo,
} from "./protocol.js";

/**
 * The service facade the API server calls (controller/api/service.ts implements it; tests use
 * fakes). Requests reach it already validated: bodies against their schemas, names as DNS
 * labels. Errors are BerthErrors; their kind becomes the HTTP status. Every `signal` aborts
 * when the client goes away.
 */
export interface ControllerApi {
  version(): VersionInfo;
  apply(req: ApplyRequest, signal: AbortSignal): Promise<ApplyResponse>;
  list(kind: Kind, selector: Record<string, string>): Promise<ObjectView[]>;
  get(kind: Kind, name: string): Promise<ObjectView>;
  delete(kind: Kind, name: string): Promise<ChangeEntry>;
  /** Past events (bounded history), then — with `watch` — new ones until `signal` aborts. */
  events(options: { watch: boolean; signal: AbortSignal }): AsyncIterable<EventRecord>;
  logs(name: string, options: { follow: boolean; tail?: number; since?: number; signal: AbortSignal }): AsyncIterable<LogLine>;
  exec(name: string, req: ExecRequest, signal: AbortSignal): Promise<ExecResult>;
  /**
   * Stops, starts or restarts a container and resolves with its view once the action has
   * been carried out; `signal` (the client's connection) bounds the wait.
   */
  act(name: string, action: "stop" | "start" | "restart", signal: AbortSignal): Promise<ObjectView>;

  // The image store. The daemon holds the root lock, so while it runs the store is only
  // touched through these. Refs are references, digests or ID prefixes (ImageStore.get).
  listImages(): Promise<ImageRecord[]>;
  /** In the order asked; NotFound for the first ref that matches nothing. */
  inspectImages(refs: string[]): Promise<ImageRecord[]>;
  /** Loads a `docker save` archive or OCI layout tar the server has staged in `file` (the server removes it). */
  loadImages(file: string, signal: AbortSignal): Promise<ImageRecord[]>;
  /**
   * `docker import`: a rootfs tarball read from `rootfs` as it arrives. Nothing is visible
   * unless the whole stream was read and committed; a stream that fails (client gone, over
   * the upload limit) leaves nothing behind.
   */
  importImage(rootfs: AsyncIterable<Uint8Array>, reference: string, config: ImageRuntimeConfig, signal: AbortSignal): Promise<ImageRecord>;
  /** Writes an archive of `refs` to `outFile` (atomically); the server streams and removes it. */
  saveImages(refs: string[], outFile: string): Promise<void>;
  tagImage(source: string, target: string): Promise<ImageRecord>;
  removeImage(ref: string, options: { force: boolean }): Promise<ImageRemoveResponse>;
  /** `berth image prune [-a]`, as the CLI has it without a daemon. */
  pruneImages(options: { all: boolean }): Promise<ImagePruneResponse>;
}
