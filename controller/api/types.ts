import type { Writable } from "node:stream";
import type { Kind } from "../../schemas/kinds.js";
import type { BuildEvent } from "../../runtime/build/executor/builder.js";
import type { ImageRuntimeConfig } from "../../runtime/types.js";
import type {
  ApplyRequest,
  ApplyResponse,
  ChangeEntry,
  ContainerCommitRequest,
  EventRecord,
  ExecExitStatus,
  ExecRequest,
  ExecResult,
  ImageBuildRequest,
  ImageHistory,
  ImagePruneResponse,
  ImagePullRequest,
  ImagePushRequest,
  ImageTransferEvent,
  PulledImage,
  PushedImage,
  RegistryLoginRequest,
  RegistryLoginResponse,
  RegistryLogoutRequest,
  RegistryLogoutResponse,
  ImageRecord,
  ImageRemoveResponse,
  LayerChange,
  LogLine,
  ObjectView,
  VersionInfo,
} from "./protocol.js";

/** A streamed exec's stdio, as the API server hands it to `ControllerApi.exec`. */
export interface ExecIo {
  stdin?: AsyncIterable<Uint8Array>;
  /** Takes a chunk of output; the exec waits for the returned promise (backpressure). A rejection ends the exec. */
  stdout(chunk: Uint8Array): Promise<void>;
  stderr(chunk: Uint8Array): Promise<void>;
}

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
  /**
   * Without `io`: buffered (output capped, decoded as UTF-8). With `io` (Docker's
   * ContainerExecStart with its Stdin/Stdout/Stderr): stdin read from it, output handed to
   * it as bytes as it comes, no cap — the result's stdout and stderr are then empty (bytes an
   * implementation returns there anyway are sent after what it streamed). `signal` ends the
   * exec, killing its processes.
   */
  exec(name: string, req: ExecRequest, signal: AbortSignal, io?: ExecIo): Promise<ExecResult & Pick<ExecExitStatus, "startError">>;
  /**
   * Stops, starts or restarts a container and resolves with its view once the action has
   * been carried out; `signal` (the client's connection) bounds the wait.
   */
  act(name: string, action: "stop" | "start" | "restart", signal: AbortSignal): Promise<ObjectView>;
  /** `docker diff`: the container's changes to its image, sorted by path. NotFound for a container no manifest has. */
  changes(name: string): Promise<LayerChange[]>;
  /**
   * `docker commit`: a new image of the container's image plus its writable layer, tagged
   * `req.reference` when given; `req.changes` are applied over its image's config
   * (InvalidArgument naming a bad one, before anything is read).
   */
  commit(name: string, req: ContainerCommitRequest): Promise<ImageRecord>;
  /**
   * `docker export`: the tar of the container's filesystem written to `out`, which is ended
   * (destroyed on a failure after the first byte). Errors before any byte (NotFound,
   * FailedPrecondition) leave `out` untouched. `signal` ends it.
   */
  exportContainer(name: string, out: Writable, signal: AbortSignal): Promise<void>;

  // The image store. The daemon holds the root lock, so while it runs the store is only
  // touched through these. Refs are references, digests or ID prefixes (ImageStore.get).
  /** Without `all`, the untagged images of build steps on the way are left out. */
  listImages(options?: { all?: boolean }): Promise<ImageRecord[]>;
  /** In the order asked; NotFound for the first ref that matches nothing. */
  inspectImages(refs: string[]): Promise<ImageRecord[]>;
  /** `docker history` of one image, newest first, with the image's ID. */
  imageHistory(ref: string): Promise<ImageHistory>;
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

  /**
   * `docker build`: the build of `req` (its context read from its path on this host),
   * handing each event to `onEvent` as it happens, resolving with the image built and
   * tagged. Errors are the builder's (a located `Dockerfile:3:1: …`, a failing RUN);
   * NotImplemented when the runtime cannot build. `signal` aborts the build.
   */
  buildImage(req: ImageBuildRequest, onEvent: (e: BuildEvent) => void, signal: AbortSignal): Promise<ImageRecord>;
  /** `docker pull [--all-tags]`: progress, then a `pulled` event per image, to `onEvent` (transfer-events.ts). */
  pullImage(req: ImagePullRequest, onEvent: (e: ImageTransferEvent) => void, signal: AbortSignal): Promise<PulledImage[]>;
  /** `docker push`: progress, then the `pushed` event, to `onEvent`. */
  pushImage(req: ImagePushRequest, onEvent: (e: ImageTransferEvent) => void, signal: AbortSignal): Promise<PushedImage>;
  /** Checks the credentials against the registry, then stores them (RegistryService.login). */
  login(req: RegistryLoginRequest, signal: AbortSignal): Promise<RegistryLoginResponse>;
  logout(req: RegistryLogoutRequest): Promise<RegistryLogoutResponse>;
}
