import type { Writable } from "node:stream";
import type { Kind } from "../../schemas/kinds.js";
import type { BuildEvent } from "../../runtime/build/executor/builder.js";
import type { Attachment, ContainerPathStat, ContainerStatsReading, ExecTerminal, ImageRuntimeConfig } from "../../runtime/types.js";
import type {
  ApplyRequest,
  ApplyResponse,
  AttachRequest,
  ChangeEntry,
  ContainerCommitRequest,
  ContainerInspect,
  ContainerTop,
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
  NetworkStoreItem,
  ObjectView,
  StoreRemoveResponse,
  SystemInfo,
  VersionInfo,
  VolumeStoreItem,
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
  /** An exec on a pseudo-terminal (`req.tty`): the runtime's ExecTerminal; NotImplemented on a runtime without terminals. */
  execTerminal(name: string, req: ExecRequest, signal: AbortSignal, stdin?: AsyncIterable<Uint8Array>): Promise<ExecTerminal>;
  /**
   * Attaches to a container's main process (the runtime's Attachment); `exit` resolves with
   * its exit code once it ended, undefined when detached. NotImplemented without attach.
   */
  attach(name: string, req: AttachRequest, stdin?: AsyncIterable<Uint8Array>): Promise<Attachment & { exit: Promise<number | undefined> }>;
  /**
   * `req.atStart`: registers an attach for the container's next start, synchronously (the
   * object need not exist yet; InvalidArgument for a bad name, Unavailable beyond the
   * waiters' limits); `attached` resolves once that start connected it, before its process
   * ran. `cancel` when the client goes first.
   */
  attachAtStart(name: string, req: AttachRequest, stdin?: AsyncIterable<Uint8Array>): { attached: Promise<Attachment & { exit: Promise<number | undefined> }>; cancel(): void };
  /** Sends a signal to a container's main process (attach's --sig-proxy). */
  signalContainer(name: string, signal: string): Promise<void>;
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
  /** `docker cp`: the stat of a path in the container (NotFound when absent). */
  statContainerPath(name: string, path: string): Promise<ContainerPathStat>;
  /** `docker cp` from the container: `onStat` before the tar of the path is written to `out`. */
  archiveContainerPath(name: string, path: string, out: Writable, signal: AbortSignal, onStat: (stat: ContainerPathStat) => void): Promise<void>;
  /** `docker cp` into the container: extracts the tar into the directory `path`; the number of entries. */
  extractToContainer(name: string, path: string, tar: AsyncIterable<Uint8Array>, options: { copyUIDGID: boolean }): Promise<number>;

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

  // Volumes and networks as `docker volume|network` see them (./local-stores.ts); absent: NotImplemented.
  /** Volume objects and the runtime's volumes no object declares, each with the desired containers mounting it. */
  listVolumeStore?(): Promise<VolumeStoreItem[]>;
  /** FailedPrecondition naming the desired containers that mount it, unless `force`; NotFound when there is no such volume. */
  removeVolume?(name: string, options: { force: boolean }): Promise<StoreRemoveResponse>;
  /** Network objects, stacks' default networks and the build network, with their desired containers and attachments. */
  listNetworkStore?(): Promise<NetworkStoreItem[]>;
  /** FailedPrecondition while a desired container is on it, and for the build network; NotFound when there is none. */
  removeNetwork?(name: string): Promise<StoreRemoveResponse>;

  // Inspection (routes/inspect.ts, stats.ts, info.ts); absent: NotImplemented.
  /** `docker top`: FailedPrecondition unless running; InvalidArgument for ps options refused. */
  top?(name: string, psArgs: string[] | undefined): Promise<ContainerTop>;
  /** `docker inspect`: NotFound for a container no manifest has, FailedPrecondition before its runtime container exists. */
  inspect?(name: string): Promise<ContainerInspect>;
  /** The containers a stats frame covers: `names` as given (each must be declared), else the running ones (`all`: every one). */
  statsTargets?(names: string[], all: boolean): Promise<string[]>;
  /** One reading of each (host counters read once); a container not running (or gone) has its error's message instead. */
  statsReadings?(names: string[]): Promise<{ name: string; reading?: ContainerStatsReading; error?: string }[]>;
  /** `docker info`; `usage: false` skips measuring the state directory's disk use. */
  systemInfo?(options: { usage: boolean }): Promise<SystemInfo>;
  /** Versions of the components the daemon runs (runc, conmon), for `berth version`. */
  componentVersions?(): Promise<{ runc?: string; conmon?: string }>;
}
