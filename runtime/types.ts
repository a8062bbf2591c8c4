/**
 * Contracts of berth's embedded container runtime. The runtime reports facts and makes no
 * policy decisions: it never restarts, health-checks or orders anything (that is
 * controller/). Every method validates names, ids and digests before they reach a path or
 * an argv. Errors are BerthErrors from lib/errors.ts (NotFound, AlreadyExists,
 * InvalidArgument, FailedPrecondition, Conflict, Unavailable, ...).
 */

import type { Readable, Writable } from "node:stream";

// ---------------------------------------------------------------------------- content

/** An OCI content descriptor. `digest` is always `sha256:<hex>` computed by us. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface IngestOptions {
  /** When given, the committed blob must have this digest, else InvalidArgument. */
  expectedDigest?: string;
  /** When given, the blob must have exactly this size, else InvalidArgument. */
  expectedSize?: number;
  /** Hard cap; exceeding it aborts the ingest (InvalidArgument) and leaves nothing behind. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * Content-addressed blob store. ingest → verify digest and size → commit (rename into
 * place). Nothing is visible before commit; a crash mid-ingest leaves only a temp file
 * that the next open cleans. Concurrent ingests of the same content are safe.
 */
export interface ContentStore {
  ingest(data: AsyncIterable<Uint8Array>, options?: IngestOptions): Promise<{ digest: string; size: number }>;
  has(digest: string): Promise<boolean>;
  /** Size of a committed blob; NotFound when absent. */
  size(digest: string): Promise<number>;
  /** Path of a committed blob for reading (never write to it). NotFound when absent. */
  pathOf(digest: string): Promise<string>;
  /** Reads a small blob (manifests, configs) fully, refusing blobs over `maxBytes`. */
  readBytes(digest: string, maxBytes?: number): Promise<Buffer>;
  delete(digest: string): Promise<void>;
  list(): Promise<string[]>;
}

// ---------------------------------------------------------------------------- images

/** The parts of an OCI image config (`config` member) that shape a container. */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  /** HEALTHCHECK: Test is `["NONE"]`, `["CMD", ...]` or `["CMD-SHELL", cmd]`; durations in nanoseconds (Docker's). */
  Healthcheck?: ImageHealthcheck;
  /** ONBUILD triggers: Dockerfile instructions run by a build FROM this image. */
  OnBuild?: string[] | null;
  /** SHELL: the shell of shell-form RUN, CMD and ENTRYPOINT (default `["/bin/sh", "-c"]`). */
  Shell?: string[];
}

export interface ImageHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface ImageRecord {
  /** Fully qualified reference, e.g. `docker.io/library/busybox:latest` or `localhost/web:1`. */
  references: string[];
  /** Digest of the image manifest (the image id berth shows, like `docker images --digests`). */
  digest: string;
  /** Digest of the config blob (what Docker calls the image ID). */
  configDigest: string;
  /** Compressed layer descriptors, base first. */
  layers: Descriptor[];
  /** Uncompressed layer digests (rootfs.diff_ids), base first. */
  diffIds: string[];
  /** Chain IDs of the layers, base first: the snapshot keys. */
  chainIds: string[];
  config: ImageRuntimeConfig;
  os: string;
  architecture: string;
  created?: string;
  /** Sum of compressed layer sizes. */
  size: number;
}

export interface ImageStore {
  list(): Promise<ImageRecord[]>;
  /** By reference (normalized like Docker: `busybox` → `docker.io/library/busybox:latest`) or digest. */
  get(refOrDigest: string): Promise<ImageRecord>;
  tag(source: string, target: string): Promise<ImageRecord>;
  /** Removes a reference; the image (and layers no other image uses) goes with its last one. */
  remove(ref: string, options?: { force?: boolean }): Promise<{ untagged: string[]; deleted: string[] }>;
  /**
   * Removes blobs and snapshots no image references; with `dangling`, first the images no
   * reference names; with `all`, every image no container uses (Docker's `prune -a`).
   */
  prune(options?: { dangling?: boolean; all?: boolean }): Promise<{ deletedBlobs: number; deletedSnapshots: number; reclaimedBytes: number }>;
  /** `docker save` archives and OCI image layouts (tar or directory). */
  load(source: string, options?: { signal?: AbortSignal }): Promise<ImageRecord[]>;
  /** A plain rootfs tarball (file path, or a stream), like `docker import`. */
  importRootfs(
    source: string | AsyncIterable<Uint8Array>,
    reference: string,
    options?: { config?: ImageRuntimeConfig; signal?: AbortSignal },
  ): Promise<ImageRecord>;
  /** Writes an archive `docker load` accepts (docker-archive with OCI index + layout). */
  save(refs: string[], outFile: string): Promise<void>;
  /**
   * A new image: `base` plus one layer or history entry per step (images/image-commit.ts),
   * tagged `reference` when given. Stores that cannot make images leave it out.
   */
  commit?(input: ImageCommitInput, reference?: string): Promise<ImageRecord>;
  /**
   * `docker history`: the entries of the image's config `history`, newest first (as Docker's
   * API gives them), each non-empty one paired with its layer (in order, base first). NotFound
   * as `get`. Stores that cannot read configs leave it out.
   */
  history?(refOrDigest: string): Promise<ImageHistoryEntry[]>;
}

/** One entry of an image's history (its config's `history`), as `docker history` shows it. */
export interface ImageHistoryEntry {
  /** RFC 3339, as the config has it. */
  created?: string;
  createdBy?: string;
  comment?: string;
  /** The step made no layer (ENV, CMD, ...): `size` is 0. */
  emptyLayer: boolean;
  /** Bytes of the entry's layer: uncompressed when known (unpacked, or an uncompressed blob), else the compressed blob's. */
  size: number;
}

/** One step of a new image: a writable layer's entries to pack, a layer blob already stored, or neither (config only). */
export interface ImageCommitStep {
  createdBy: string;
  comment?: string;
  layer?: Descriptor & { diffId: string };
  upper?: { dir: string; entries: UpperEntry[] };
  /** Writes the step's layer tar into the pack (without finalizing it): the builder's COPY and ADD. */
  write?: (pack: import("tar-stream").Pack) => Promise<void>;
}

export interface ImageCommitInput {
  /** Reference or digest of the base image; none for scratch. */
  base?: string;
  steps: ImageCommitStep[];
  /** The new image's runtime config, whole. */
  config: ImageRuntimeConfig;
  author?: string;
}

// ---------------------------------------------------------------------------- snapshots

import type { GrowingFileState } from "./snapshots/growing-file.js";
import type { UpperEntry } from "./snapshots/layer-diff.js";

export interface RootfsMount {
  /** The overlay (or bind, for a single read-only layer) mount point to hand to runc. */
  rootfs: string;
}

/**
 * One layer of `unpackChain`: the blob, its diff ID, and when its blob is committed (default:
 * it is). `growing`, when given, resolves once the blob's download has started (undefined
 * when there is none): the layer is then unpacked from the download's file as it grows, and
 * committed only once `ready` resolves.
 */
export interface ChainLayer {
  desc: Descriptor;
  diffId: string;
  ready?: Promise<void>;
  growing?: Promise<GrowingFileState | undefined>;
}

/**
 * Unpacked layers keyed by chain ID, shared by every image and container that uses them,
 * and per-container writable layers mounted with overlayfs.
 */
export interface SnapshotStore {
  /** Unpacks the layer blob on top of `parentChainId` once; idempotent. Returns the chain ID. */
  unpack(parentChainId: string | undefined, layer: Descriptor, diffId: string, signal?: AbortSignal): Promise<string>;
  /**
   * Unpacks a chain of layers (base first), each once and each when its `ready` resolves,
   * concurrently where the store can; commits them in order. Returns the chain IDs.
   */
  unpackChain(layers: readonly ChainLayer[], signal?: AbortSignal): Promise<string[]>;
  /** Prepares for unpacks about to come (starts a thread), resolving once ready; optional. */
  warmUnpacker?(): Promise<void>;
  has(chainId: string): Promise<boolean>;
  /** Creates the writable layer of container `id` over `chainIds` (base first) and mounts it. */
  prepare(id: string, chainIds: string[]): Promise<RootfsMount>;
  /** Mounts an already prepared container layer again (after a reboot); idempotent. */
  mount(id: string): Promise<RootfsMount>;
  unmount(id: string): Promise<void>;
  /** Unmounts and deletes the writable layer of container `id`; idempotent. */
  removeContainerLayer(id: string): Promise<void>;
  /** Deletes unpacked layers not in `keep`, and not under any container layer. */
  gc(keep: Set<string>): Promise<number>;
  /** The writable directory of container `id`'s layer (stores that can show changes). */
  upperDir?(id: string): Promise<string>;
  /** Runs `fn` over a read-only view of the image of `chainIds` (stores that can show changes). */
  withImageView?<T>(chainIds: string[], fn: (root: string) => Promise<T>): Promise<T>;
}

// ---------------------------------------------------------------------------- volumes

export interface VolumeRecord {
  name: string;
  driver: "local";
  labels: Record<string, string>;
  options: Record<string, string>;
  mountpoint: string;
  createdAt: string;
}

export interface VolumeStore {
  /** Idempotent when a volume of that name with the same options exists; Conflict otherwise. */
  create(name: string, options?: { labels?: Record<string, string>; options?: Record<string, string> }): Promise<VolumeRecord>;
  inspect(name: string): Promise<VolumeRecord>;
  list(labels?: Record<string, string>): Promise<VolumeRecord[]>;
  /** FailedPrecondition while a container uses it (unless force). */
  remove(name: string, options?: { force?: boolean }): Promise<void>;
}

// ---------------------------------------------------------------------------- containers

export type MountSpec =
  | { type: "volume"; source: string; target: string; readOnly: boolean }
  | { type: "bind"; source: string; target: string; readOnly: boolean }
  | { type: "tmpfs"; target: string; readOnly: boolean; sizeBytes?: number; mode?: number };

export type NetworkModeSpec = "host" | "none" | "bridge" | `container:${string}`;

/** What the runtime needs to create a container: already normalized and resolved. */
export interface ContainerCreateSpec {
  name: string;
  /** Image reference or digest, resolved through the ImageStore. */
  image: string;
  labels: Record<string, string>;
  /** Overrides the image ENTRYPOINT; when set, the image CMD is dropped unless args is set. */
  command?: string[];
  /** Overrides the image CMD. */
  args?: string[];
  /** Merged over the image Env (ours win). */
  env: Record<string, string>;
  workingDir?: string;
  /** "uid", "uid:gid", "name", "name:group"; resolved in the rootfs's /etc/passwd and /etc/group. */
  user?: string;
  hostname?: string;
  mounts: MountSpec[];
  /**
   * host: the host's network. none: its own namespace with only `lo`. bridge: its own
   * namespace, which the network driver joins to bridge networks (runtime/networks) between
   * create and start. `container:<id>`: the namespace of that container (which must have
   * one: none or bridge, or be host mode itself), kept across both containers' restarts.
   * Own namespaces are made at create and removed with the container (ContainerState.netns).
   */
  networkMode: NetworkModeSpec;
  /**
   * The container's /etc/resolv.conf in bridge mode (its networks' resolvers). `upstreams`:
   * where those resolvers forward its other names (shown in a comment; the network driver
   * is told them at connect, AttachSpec.upstreams).
   */
  dns?: { nameservers: string[]; search: string[]; options: string[]; upstreams?: string[] };
  /** Extra /etc/hosts lines (bridge mode: the container's own addresses and names). */
  hosts?: { address: string; names: string[] }[];
  /** The user's /etc/hosts lines (Docker's --add-host), after the others; every mode but container:<id>. */
  extraHosts?: { address: string; names: string[] }[];
  /** Runs the runtime's init (tini) as PID 1, the command under it (Docker's --init). */
  init?: boolean;
  /** The main process runs on a pseudo-terminal (conmon -t: the console socket); its output is logged as stdout. */
  tty?: boolean;
  /** The main process's stdin is a pipe kept open for attach clients (conmon -i --leave-stdin-open). */
  stdin?: boolean;
  /** With stdin: closed when an attached client ends its input or goes (conmon -i without --leave-stdin-open). */
  stdinOnce?: boolean;
  resources: { memoryBytes?: number; cpus?: number; pids?: number };
  /** Signal name, e.g. "SIGTERM". Default: the image's StopSignal, else SIGTERM. */
  stopSignal?: string;
  stopGracePeriodMs?: number;
  readOnlyRootfs: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  /** Sets no_new_privs: setuid programs and file capabilities grant nothing (the builder's RUN steps). */
  noNewPrivileges?: boolean;
}

export type ContainerStatus = "created" | "running" | "exited" | "unknown";

/** Facts about one container. */
export interface ContainerState {
  id: string;
  name: string;
  labels: Record<string, string>;
  image: string;
  imageDigest: string;
  status: ContainerStatus;
  pid?: number;
  exitCode?: number;
  /** True when the kernel OOM killer ended the container. */
  oomKilled: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Set when the run-root was lost (reboot): the container is reported exited. */
  reason?: string;
  /** Path of the container's own network namespace (none and bridge modes), e.g. `/run/netns/berth-…`. */
  netns?: string;
}

export interface ExecOptions {
  argv: string[];
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
  timeoutMs?: number;
  /** Cap on captured stdout and stderr, each. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecStreamOptions {
  argv: string[];
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
  /** Forwarded to the process's stdin as it arrives; its end closes stdin. Absent: stdin is at EOF at once. */
  stdin?: AsyncIterable<Uint8Array>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A terminal's size in character cells. */
export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface ExecTerminalOptions extends ExecStreamOptions {
  /** The terminal's size when the process starts. */
  size?: TerminalSize;
}

/**
 * An exec on a pseudo-terminal in the container (`docker exec -t`): one output stream (the
 * terminal's), stdin written to the terminal (its end does not close the terminal), a
 * resize at any time. `exit` resolves once the process exited and its output ended; it does
 * not reject. A timeout or abort kills it and everything it started (137).
 */
export interface ExecTerminal {
  output: Readable;
  resize(size: TerminalSize): Promise<void>;
  exit: Promise<ExecExit>;
}

/** How long a start waits for its `beforeRun` hook before it runs the process anyway. */
export const BEFORE_RUN_TIMEOUT_MS = 5_000;

export interface StartOptions {
  /**
   * Called once the main process exists but before it runs (`runc create` done, `runc start`
   * not yet): an `attach` made now is connected before the process writes anything, as
   * `docker run -it` attaches to the created container before it starts it. The start waits
   * for it (at most BEFORE_RUN_TIMEOUT_MS); whether it succeeds or not, the process then runs.
   */
  beforeRun?: () => Promise<void>;
}

export interface AttachOptions {
  /** Forwarded to the main process's stdin (a container with `stdin`); its end closes that stdin with `stdinOnce`, else nothing (conmon leaves it open). */
  stdin?: AsyncIterable<Uint8Array>;
  size?: TerminalSize;
}

/**
 * A connection to a running container's main process (`docker attach`): its output from
 * now on (a tty container's is all on stdout), stdin when it has `stdin`. `ended` resolves
 * when the connection closed: `exited` once the process ended, else it was detached by
 * `detach()` (the process goes on).
 */
export interface Attachment {
  tty: boolean;
  stdin: boolean;
  stdout: Readable;
  stderr: Readable;
  resize(size: TerminalSize): Promise<void>;
  detach(): void;
  /** `overrun`: disconnected because the reader fell too far behind (the process goes on). */
  ended: Promise<{ exited: boolean; overrun?: boolean }>;
}

/** How a streamed exec ended. */
export interface ExecExit {
  /** The process's exit code; 128+n when a signal ended it (137 when killed on timeout or abort); 127 or 126 with `startError`. */
  exitCode: number;
  timedOut: boolean;
  /**
   * Set when the command could not be started, in the OCI runtime's words (one line, like
   * Docker's): `exec: "nosuch": executable file not found in $PATH` (exit code 127: no such
   * file), `exec: "/etc/passwd": permission denied` (126: not executable).
   */
  startError?: string;
}

/**
 * A running exec: its output as bytes, exactly as written (no cap, no decoding), stdout and
 * stderr apart. The reader must consume (or destroy) both streams: output is not buffered
 * beyond the streams' own buffers, so an unread stream holds the process up (backpressure).
 * `exit` resolves once the process exited and both streams have ended — a background
 * process that keeps the exec's stdout or stderr open keeps the exec going (as `runc exec`
 * does). `exit` does not reject.
 */
export interface ExecStream {
  stdout: Readable;
  stderr: Readable;
  exit: Promise<ExecExit>;
}

export interface LogLine {
  time: string;
  stream: "stdout" | "stderr";
  /** True when this is a full line (conmon's F tag), false for a partial (P). */
  full: boolean;
  text: string;
}

export interface LogOptions {
  follow?: boolean;
  tail?: number;
  /** Epoch milliseconds. */
  since?: number;
  signal?: AbortSignal;
}

export type RuntimeEvent =
  | { type: "exited"; id: string; name: string; exitCode: number; oomKilled: boolean; at: string }
  | { type: "started"; id: string; name: string; pid: number; at: string }
  | { type: "removed"; id: string; name: string; at: string };

export interface StopOptions {
  /** Signal name sent first. Default: the container's stop signal (spec, else image, else SIGTERM). */
  stopSignal?: string;
  /** Time between the stop signal and SIGKILL. Default: the container's grace period. */
  graceMs?: number;
  /**
   * Cancels the wait: `stop` rejects with the signal's reason at once and the SIGKILL
   * escalation is abandoned — the container may still be exiting (or, if it ignores the
   * stop signal, keep running). An already aborted signal rejects before anything is sent.
   * Lets a daemon's shutdown never wait out a grace period.
   */
  signal?: AbortSignal;
}

/** One line of `docker diff`: A(dded), C(hanged) or D(eleted), the path with a leading `/`. */
export interface LayerChange {
  kind: "A" | "C" | "D";
  path: string;
}

export interface ContainerCommitOptions {
  /** Tag of the new image; none leaves it untagged (found by its digest). */
  reference?: string;
  /** The new image's runtime config, whole; default the container's image's. */
  config?: ImageRuntimeConfig;
  comment?: string;
  author?: string;
  /** History's CREATED BY; default the container's command. */
  createdBy?: string;
  /** History entries without a layer to come before the container's (the builder's config-only steps). */
  pendingHistory?: { createdBy: string; comment?: string }[];
}

// ---------------------------------------------------------------------------- inspection

/** `docker top`: column titles and one row per process (and per thread, with ps options that list them). */
export interface ContainerTop {
  titles: string[];
  processes: string[][];
}

/** A network interface's counters (/proc/net/dev), cumulative. */
export interface NetworkIo {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** The host's counters a round of stats readings shares (runtime/containers/stats.ts). */
export interface HostCounters {
  /** Host CPU time, nanoseconds (the first seven fields of /proc/stat's `cpu` line, as moby sums them). */
  systemNs: number;
  onlineCpus: number;
  memTotalBytes: number;
}

/** One reading of a running container's counters: facts, cumulative; figures come from two (`computeStats`). */
export interface ContainerStatsReading {
  id: string;
  name: string;
  readAtMs: number;
  /** The run read (readings of two runs are not compared). */
  startedAt?: string;
  pid: number;
  cgroupVersion: 1 | 2;
  cpu?: { usageNs: number; systemNs: number; onlineCpus: number };
  /** `limitBytes`: the cgroup's limit, or the host's memory when it has none (`limited` false). */
  memory?: { usageBytes: number; cacheBytes: number; limitBytes: number; limited: boolean };
  /** Per interface of its network namespace, loopback left out; absent in host mode (the host's are not its own). */
  network?: Record<string, NetworkIo>;
  blockIo?: { readBytes: number; writeBytes: number };
  pids?: { current: number; limit?: number };
}

/** `docker stats` figures of a reading (runtime/containers/stats.ts `computeStats`). */
export interface ContainerStatsFigures {
  cpuPercent: number;
  /** Usage without cache (Docker's), the limit (host memory when unlimited), usage as % of it. */
  memory?: { usageBytes: number; limitBytes: number; percent: number };
  network?: NetworkIo;
  blockIo?: { readBytes: number; writeBytes: number };
  pids?: { current: number; limit?: number };
}

/** What `docker inspect` needs of a container beyond its state: what it was created from. */
export interface ContainerDetail {
  state: ContainerState;
  spec: ContainerCreateSpec;
  /** The config of its image as it was at create. */
  imageConfig: ImageRuntimeConfig;
  hostname: string;
  /** MAC address per interface of its own network namespace (bridge and none modes, while running). */
  macAddresses?: Record<string, string>;
}

export interface ContainerRuntime {
  /** Creates (does not start). AlreadyExists when the name is taken. */
  create(spec: ContainerCreateSpec): Promise<ContainerState>;
  /** Starts a created or exited container; no-op when running. */
  start(idOrName: string, options?: StartOptions): Promise<ContainerState>;
  /** Stop signal, then SIGKILL after the grace period; resolves once it has exited. No-op when not running. */
  stop(idOrName: string, options?: StopOptions): Promise<ContainerState>;
  kill(idOrName: string, signal: string): Promise<void>;
  /** Removes a stopped container (running: FailedPrecondition unless force). Idempotent on NotFound with force. */
  remove(idOrName: string, options?: { force?: boolean }): Promise<void>;
  inspect(idOrName: string): Promise<ContainerState>;
  /** All containers whose labels include every given label. */
  list(labels?: Record<string, string>): Promise<ContainerState[]>;
  /** Buffered: output captured up to `maxOutputBytes` per stream and decoded as UTF-8 (health probes); a start failure's reason is on stderr. */
  exec(idOrName: string, options: ExecOptions): Promise<ExecResult>;
  /**
   * Runs a command in the running container and streams its stdio (ExecStream). Resolves
   * once the process is being started; NotFound, FailedPrecondition unless running,
   * InvalidArgument (empty argv, bad env, relative workingDir) reject before anything runs.
   * A timeout or an abort kills the exec'd process and every process it started — also
   * those that left its process group or were reparented (double fork) — and ends with
   * exit code 137 (`timedOut` on timeout). Processes left by an exec that ended by itself
   * keep running (as with `docker exec`).
   */
  execStream(idOrName: string, options: ExecStreamOptions): Promise<ExecStream>;
  /** execStream on a pseudo-terminal (ExecTerminal); same errors (runtimes with terminals). */
  execTerminal?(idOrName: string, options: ExecTerminalOptions): Promise<ExecTerminal>;
  /** Attaches to the main process (Attachment); NotFound, FailedPrecondition unless running or in a start's `beforeRun` (runtimes with attach sockets). */
  attach?(idOrName: string, options?: AttachOptions): Promise<Attachment>;
  logs(idOrName: string, options?: LogOptions): AsyncIterable<LogLine>;
  /** The container's changes to its image, as `docker diff` lists them (runtimes that can read its layer). */
  changes?(idOrName: string): Promise<LayerChange[]>;
  /** A new image of the container's image plus its writable layer (runtimes that can read its layer). */
  commit?(idOrName: string, options: ContainerCommitOptions): Promise<ImageRecord>;
  /**
   * `docker export`: a tar of the container's whole filesystem (the merged view of its image
   * and writable layer; not its volumes or other mounts) to `out` — a stream, which is ended
   * (destroyed on failure), or a file path, written whole or not at all. The container's
   * lookup and its layer's mount and scan happen before anything is written, so their errors
   * (NotFound, FailedPrecondition) leave `out` untouched. Runtimes that can mount the layer.
   */
  export?(idOrName: string, out: Writable | string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * `docker cp` (containers/copy.ts): the stat of a path in the container as it sees it
   * (Docker's ContainerPathStat), the tar of a path, and the extraction of a tar into a
   * directory. Resolved inside the container's root, never following a link out of it.
   */
  statPath?(idOrName: string, path: string): Promise<ContainerPathStat>;
  archivePath?(idOrName: string, path: string, out: Writable, options?: { signal?: AbortSignal; onStat?: (stat: ContainerPathStat) => void }): Promise<void>;
  extractArchive?(idOrName: string, path: string, tar: Readable | AsyncIterable<Uint8Array>, options?: { copyUIDGID?: boolean }): Promise<number>;
  /**
   * `docker top`: the processes in the container's cgroup, from /proc (PID, USER, TIME, CMD),
   * or from the host's ps run with `psArgs` (validated: InvalidArgument) over those pids only.
   * FailedPrecondition unless running.
   */
  top?(idOrName: string, psArgs?: string[]): Promise<ContainerTop>;
  /** One reading of the running container's counters (FailedPrecondition unless running); `host` read once per round by the caller, else here. */
  stats?(idOrName: string, options?: { host?: HostCounters }): Promise<ContainerStatsReading>;
  /** The container's state with its create spec and image config (`docker inspect`). */
  detail?(idOrName: string): Promise<ContainerDetail>;
  /** Exit/start/remove facts as they happen, including exits observed after adoption. */
  events(signal?: AbortSignal): AsyncIterable<RuntimeEvent>;
  /** Stops watching (leaves containers running). */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------- networks

export interface NetworkCreateSpec {
  name: string;
  /** CIDR; default: a free block of the driver's address pools. */
  subnet?: string;
  /** Default: the subnet's first address. */
  gateway?: string;
  /** No route out, no forwarding of DNS queries out. */
  internal: boolean;
  labels: Record<string, string>;
}

export interface NetworkState {
  name: string;
  /** The Linux bridge. */
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  labels: Record<string, string>;
  createdAt: string;
  /** Names of the containers attached. */
  containers: string[];
}

export interface AttachSpec {
  network: string;
  /** The container's name: attachments, addresses and ports are the name's (stable across a recreate). */
  container: string;
  /** The container's network namespace (ContainerState.netns). */
  netns: string;
  /** Interface name inside, e.g. eth0. */
  ifname: string;
  /** DNS names on this network: the container's name and aliases. */
  names: string[];
  /** The container's default route goes through this network (ignored for an internal one). */
  defaultRoute: boolean;
  /** Its static address (as reserved with it); absent: the one reserved, else a free one. */
  address?: string;
  /** Upstream resolvers the network's resolver forwards this container's other names to; absent: the host's. */
  upstreams?: string[];
}

export interface AttachmentState {
  network: string;
  container: string;
  ifname: string;
  hostIfname: string;
  /** IPv4 address, no prefix. */
  address: string;
  prefixLength: number;
  gateway: string;
  names: string[];
}

export interface PortMappingSpec {
  protocol: "tcp" | "udp";
  /** Host address; absent: every IPv4 address. IPv4 is DNAT; an IPv6 one (`::1`) is proxied by the daemon (berth networks are IPv4). */
  hostIP?: string;
  /** 0: a free port, chosen by the driver. */
  hostPort: number;
  containerPort: number;
}

export interface PublishedPort {
  protocol: "tcp" | "udp";
  hostIP: string;
  hostPort: number;
  containerPort: number;
  /** The network whose address the port forwards to, and that address. */
  network: string;
  containerIP: string;
}

/**
 * Bridge networks: Linux bridges with their own subnets, veth attachments of container
 * network namespaces, a resolver per network, published ports (runtime/networks/driver.ts).
 * Everything is persisted: a new instance on the same root adopts what the host has.
 */
export interface NetworkDriver {
  /** Idempotent for the same spec; Conflict when an existing network's subnet or gateway differs. */
  create(spec: NetworkCreateSpec): Promise<NetworkState>;
  /** FailedPrecondition naming the attached containers, unless force (which detaches them). Idempotent. */
  remove(name: string, options?: { force?: boolean }): Promise<void>;
  inspect(name: string): Promise<NetworkState>;
  list(labels?: Record<string, string>): Promise<NetworkState[]>;
  /** The address the container has (or will have) on the network: allocated now, before its create. */
  /**
   * `options.address`: that exact address (a static one): InvalidArgument outside the subnet or
   * on its network, broadcast or gateway address, Conflict when another container has it.
   */
  reserve(network: string, container: string, options?: { address?: string }): Promise<{ address: string; prefixLength: number; gateway: string }>;
  /** Idempotent: the same address again, and what a reboot or a crash lost is made again. */
  connect(spec: AttachSpec): Promise<AttachmentState>;
  disconnect(network: string, container: string): Promise<void>;
  attachments(container?: string): Promise<AttachmentState[]>;
  /**
   * Replaces the container's published ports (at once, in place: no restart). Ports go to its
   * address on `network` (reserved or attached; default: its first attached network that is
   * not internal) — so ports can be published before the container is created. A host port
   * in use: Conflict, and the previous mappings stay.
   */
  publish(container: string, ports: PortMappingSpec[], network?: string): Promise<PublishedPort[]>;
  /** What is published, and what was asked for (compare to decide whether to publish again). */
  published(container: string): Promise<{ requested: PortMappingSpec[]; published: PublishedPort[] }>;
  /** Disconnects the container from every network, releases its addresses, unpublishes its ports. */
  release(container: string): Promise<void>;
  /** Releases every container not in `live` (removed while no daemon ran). Returns their names. */
  releaseExcept(live: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Docker's ContainerPathStat: `mode` is Go's os.FileMode (permission bits, ModeDir 1<<31, ModeSymlink 1<<27, ...). */
export interface ContainerPathStat {
  name: string;
  size: number;
  mode: number;
  /** RFC 3339. */
  mtime: string;
  /** A symlink's target resolved inside the container, absolute; "" otherwise. */
  linkTarget: string;
}
