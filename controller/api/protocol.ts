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
 *   POST   /v1/containers/{name}/exec     ExecRequest → ExecResult (buffered: output capped at 1 MiB, UTF-8)
 *   POST   /v1/containers/{name}/exec?stream=true   the exec stream (below): stdio as bytes, stdin, no cap
 *   POST   /v1/containers/{name}/attach    the attach stream (below): the main process's stdio, a terminal's resizes, signals
 *   POST   /v1/containers/{name}/{stop|start|restart} → ObjectView, once the action is carried out
 *   GET    /v1/containers/{name}/changes  → ContainerChanges (`docker diff`: A/C/D against its image, sorted by path)
 *   POST   /v1/containers/{name}/commit   ContainerCommitRequest → ImageRecord (`docker commit`: its image plus its writable layer)
 *   GET    /v1/containers/{name}/export   → its whole filesystem as a tar (application/x-tar, chunked: a failure
 *                                           after the answer began cuts the connection, never a short tar that looks whole)
 *   HEAD   /v1/containers/{name}/archive?path=P   `docker cp`'s stat of P in the X-Docker-Container-Path-Stat header
 *                                           (base64 of the ContainerPathStat JSON, as Docker's)
 *   GET    /v1/containers/{name}/archive?path=P&stat=true  → ContainerPathStat (and the header): errors keep their bodies
 *   GET    /v1/containers/{name}/archive?path=P  → the tar of P (application/x-tar, chunked, the stat header first; its top
 *                                           entry named by P's base, `.` for `DIR/.` and `/`; cut, never short, on a failure)
 *   PUT    /v1/containers/{name}/archive?path=DIR[&copyUIDGID=true]  tar body → ContainerArchivePutResponse: extracted
 *                                           into the existing directory DIR (its last component followed only with a
 *                                           trailing /); owned by the container's root, or with copyUIDGID as in the tar;
 *                                           a directory is never replaced by a non-directory or the reverse
 *                                           Paths are the container's, resolved inside its root (symlinks as it sees them,
 *                                           never out of it); a running container's volumes and tmpfs as it sees them.
 *   GET    /v1/containers/{name}/top[?psArgs=-o pid,comm]  → ContainerTop (`docker top`: from /proc, or the host's ps with those options over its pids)
 *   GET    /v1/containers/{name}/inspect  → ContainerInspect (`docker inspect`: moby's ContainerJSON, the fields berth has)
 *   GET    /v1/containers/{name}/stats[?stream=true]   → ContainerStats, or NDJSON of them every second
 *   GET    /v1/stats[?name=N..][&stream=true][&all=true][&count=N][&intervalMs=N]  → ContainerStatsFrame, or NDJSON of
 *                                           them: each frame is the figures over the last interval (default 1000 ms,
 *                                           so one answer takes that long); without names the running containers,
 *                                           found again each frame (all=true: stopped ones too). The stream holds at
 *                                           most one frame: the next reading waits until the client took the last;
 *                                           it ends after `count` frames or when the client goes away.
 *   GET    /v1/info                       → SystemInfo (`docker info`; `?usage=false` skips measuring disk use)
 *
 * The image store (`/v1/images` are the desired Image objects; the store the daemon owns is
 * `/v1/image-store`). Refs are references, digests or ID prefixes, as `berth image` takes them:
 *   GET    /v1/image-store                         → { items: ImageRecord[] }
 *   GET    /v1/image-store/inspect?ref=R[&ref=..]  → ImageRecord[]
 *   GET    /v1/image-store/history?ref=R           → ImageHistory (`docker history`, newest first)
 *   POST   /v1/image-store/load                    archive as the raw body (application/x-tar) → ImageLoadResponse
 *   POST   /v1/image-store/import?reference=R[&change=C..]  rootfs tarball as the raw body → ImageRecord
 *   GET    /v1/image-store/save?ref=R[&ref=..]     → the archive (application/x-tar, with content-length)
 *   POST   /v1/image-store/tag                     ImageTagRequest → ImageRecord
 *   DELETE /v1/image-store?ref=R[&force=true]      → ImageRemoveResponse
 *   POST   /v1/image-store/prune                   ImagePruneRequest → ImagePruneResponse
 *   POST   /v1/image-store/build                   ImageBuildRequest → NDJSON ImageBuildEvent stream (`docker build`)
 *   POST   /v1/image-store/pull                    ImagePullRequest → NDJSON ImageTransferEvent stream (`docker pull`)
 *   POST   /v1/image-store/push                    ImagePushRequest → NDJSON ImageTransferEvent stream (`docker push`)
 *   POST   /v1/registry/login                      RegistryLoginRequest → RegistryLoginResponse (checked against the registry, then stored)
 *   POST   /v1/registry/logout                     RegistryLogoutRequest → RegistryLogoutResponse
 *
 * Volumes and networks as `docker volume|network` see them (`/v1/volumes` and `/v1/networks` are
 * the desired objects; these add what the runtime made without one — undeclared and anonymous
 * volumes of containers' mounts, stacks' default networks, the build network):
 *   GET    /v1/volume-store                 → VolumeStoreList (each with the desired containers mounting it)
 *   DELETE /v1/volume-store/{name}[?force=true] → StoreRemoveResponse: FailedPrecondition naming the desired
 *                                           containers that mount it, unless force (an object is then deleted
 *                                           from the desired state all the same; the runtime's own in-use
 *                                           refusal of a volume a container has mounted is never forced)
 *   GET    /v1/network-store                → NetworkStoreList (each with its desired containers and attachments)
 *   DELETE /v1/network-store/{name}         → StoreRemoveResponse: FailedPrecondition while a desired container is
 *                                           on it, for the build network, and for a stack's default network
 *                                           while the stack has containers
 *
 * GitOps sources (controller/sources/): a watched directory or a followed git remote, one per stack:
 *   GET    /v1/sources                     → SourceList (each with its status: revision, commit, dirty, last apply, errors, plan)
 *   POST   /v1/sources                     SourceRegisterRequest → SourceView, once the first revision was read and applied (or refused)
 *   GET    /v1/sources/{stack}             → SourceView
 *   DELETE /v1/sources/{stack}[?keep=true] → SourceUnregisterResponse (without keep the stack's objects are deleted)
 *   POST   /v1/sources/{stack}/sync        → SourceSyncResponse: the pending revision (manual mode), else the source read now, applied
 *   GET    /v1/sources/{stack}/plan        → SourcePlan: the pending plan (manual mode), else what applying the source now would change
 *
 * Build, pull and push stream: a request the server refuses before it starts (a bad body, a
 * relative context path) is an ordinary error answer; once started the answer is 200 NDJSON,
 * its events as they happen, ending with `done`/`pulled`/`pushed` — or an `error` event with
 * the failure (kind and message, as an error answer has them). A client that goes away
 * aborts the build, pull or push.
 *
 * Errors: a status from the error kind and `{ error: { kind, message, object? } }`.
 *
 * The exec stream: a request body of `application/octet-stream` (a request frame, then raw
 * stdin) and an answer of `application/vnd.berth.stream` (frames). The frames are Docker's
 * multiplexed stream framing plus a request, an exit and an error frame: an 8-byte header —
 * 1 byte stream id, 3 zero bytes, the payload's length as 4 bytes big-endian — then the payload:
 *   0 request  (request body)  the ExecRequest JSON; the first frame of the body, exactly once
 *   1 stdout   (answer)        bytes the process wrote, as written
 *   2 stderr   (answer)        likewise
 *   3 exit     (answer)        ExecExitStatus JSON; the last frame
 *   4 error    (answer)        ErrorBody JSON, when the exec failed after the answer began; the last frame
 *   5 resize   (request body)  `{"cols": C, "rows": R}`: the terminal's new size (framed input only)
 *   6 signal   (request body)  `{"signal": "SIGINT"}`: sent to the container's main process (attach only: --sig-proxy)
 * With `tty: true` in the ExecRequest the input is framed: after the request frame the body
 * is frames too — 0 (Docker's stdin id) with stdin bytes, 5 resize — and the answer has one
 * output stream, the terminal's, as stdout frames (stderr is the terminal's too); stdin's
 * end does not close the terminal. `size` in the request is the size at start.
 *
 * An empty stdin frame (0 with no payload) is the end of stdin; control frames may follow it.
 *
 * Attach (`docker attach`): `POST /v1/containers/{name}/attach`, the same framing: a request
 * frame with AttachRequest JSON (`size`, `atStart`), then framed input (0 stdin, forwarded
 * when the container has `stdin: true` — its end closes the process's stdin when it has
 * `stdinOnce`; 5 resize when it has `tty: true`; 6 signal). With `atStart` the daemon
 * registers a wait for the container's next start and sends the headers at once; that start
 * connects it before the process runs (the container need not exist when asked). The answer: the
 * main process's output from now on (stdout, stderr; a tty's all on stdout), and an exit
 * frame once it ended — or nothing more if the client closes first (detach: the client
 * recognizes the detach keys and closes; the process goes on). FailedPrecondition when not
 * running, as an ordinary error answer.
 * After its request frame the request body is raw stdin, forwarded as it arrives; the end
 * of the body closes the process's stdin (send nothing more for an empty stdin). The answer
 * is 200 with frames (sent as the process writes; the headers come with the first frame);
 * an error before anything was sent — NotFound, FailedPrecondition (not running),
 * InvalidArgument (a bad request frame or ExecRequest) — is an ordinary error answer. A
 * command that cannot be started is an exit frame (127 or 126 with `startError`). A client
 * that goes away ends the exec: its processes are killed. Frames: ./exec-stream.ts.
 *
 * Every body is a TypeBox schema in schemas/api.ts; the types here are derived from them
 * (type-only imports: neither end loads TypeBox for them). The server validates request
 * bodies against those schemas (./bodies.ts); `observedGeneration` on a status says which
 * `metadata.generation` it reflects, so a client can wait for its apply to be seen.
 */
import type { Static } from "@sinclair/typebox";
import type * as S from "../../schemas/api.js";

export const API_VERSION_PATH = "/v1";
export const IMAGE_STORE_PATH = "/v1/image-store";
/** The content type of image archive and rootfs uploads and of saved archives. */
export const TAR_CONTENT_TYPE = "application/x-tar";

export type VersionInfo = Static<typeof S.VersionInfo>;

// Requests (validated by the server).
/** `files` are manifest texts as the client read them; the daemon parses and validates them itself. */
export type ApplyRequest = Static<typeof S.ApplyRequest>;
export type ExecRequest = Static<typeof S.ExecRequest>;
export type AttachRequest = Static<typeof S.AttachRequest>;
export type ImageTagRequest = Static<typeof S.ImageTagRequest>;
export type ImagePruneRequest = Static<typeof S.ImagePruneRequest>;
export type ContainerCommitRequest = Static<typeof S.ContainerCommitRequest>;
export type ImageBuildRequest = Static<typeof S.ImageBuildRequest>;
export type ImagePullRequest = Static<typeof S.ImagePullRequest>;
export type ImagePushRequest = Static<typeof S.ImagePushRequest>;
/** The password goes to the daemon only (over its socket), never into a log or a child's argv. */
export type RegistryLoginRequest = Static<typeof S.RegistryLoginRequest>;
export type RegistryLogoutRequest = Static<typeof S.RegistryLogoutRequest>;
export type SourceRegisterRequest = Static<typeof S.SourceRegisterRequest>;
/** A host-level access a source may be granted (ApplyRequest.allow, SourceRegisterRequest.allow). */
export type HostGrant = Static<typeof S.HostGrant>;
export type SyncMode = Static<typeof S.SyncMode>;

// Responses.
export type ChangeAction = Static<typeof S.ChangeAction>;
/** One line of an apply's result (Flux's ChangeSet entry): `container/web configured`. */
export type ChangeEntry = Static<typeof S.ChangeEntry>;
/** `changes` is empty when the manifests had errors (then nothing was changed); `diffs` come with dryRun. */
export type ApplyResponse = Static<typeof S.ApplyResponse>;

export type ContainerPhase = Static<typeof S.ContainerPhase>;
export type HealthStatus = Static<typeof S.HealthStatus>;
export type HealthResultView = Static<typeof S.HealthResultView>;
export type ContainerStatusView = Static<typeof S.ContainerStatusView>;
/** The common part of every status view but a container's: ready, reason, message, observedGeneration. */
export type GenericStatusView = Static<typeof S.GenericStatusView>;
export type ImageStatusView = Static<typeof S.ImageStatusView>;
export type VolumeStatusView = Static<typeof S.VolumeStatusView>;
export type NetworkStatusView = Static<typeof S.NetworkStatusView>;
export type HealthCheckStatusView = Static<typeof S.HealthCheckStatusView>;
/** The status of an object of any kind (which one: the view's `kind`). */
export type ObjectStatusView = Static<typeof S.ObjectStatusView>;
export type ObjectView = Static<typeof S.ObjectView>;
export type ObjectList = Static<typeof S.ObjectList>;

export type EventRecord = Static<typeof S.EventRecord>;
export type EventList = Static<typeof S.EventList>;
export type LogLine = Static<typeof S.LogLine>;
export type ExecResult = Static<typeof S.ExecResult>;
/** The exec stream's stream ids (see above). */
export type ExecStreamId = 0 | 1 | 2 | 3 | 4 | 5 | 6;
/** The exec stream's exit frame: runtime/types.ts ExecExit. */
export interface ExecExitStatus {
  exitCode: number;
  timedOut: boolean;
  /** Why the command could not be started (exit code 127 or 126), one line: `exec: "nosuch": executable file not found in $PATH`. */
  startError?: string;
}

export type ImageRecord = Static<typeof S.ImageRecord>;
export type ImageList = Static<typeof S.ImageList>;
export type ImageLoadResponse = Static<typeof S.ImageLoadResponse>;
export type ImageRemoveResponse = Static<typeof S.ImageRemoveResponse>;
export type ImagePruneResponse = Static<typeof S.ImagePruneResponse>;
export type LayerChange = Static<typeof S.LayerChange>;
export type ContainerPathStat = Static<typeof S.ContainerPathStat>;
export type ContainerArchivePutResponse = Static<typeof S.ContainerArchivePutResponse>;
/** Docker's header of a container path's stat (`berth cp`). */
export const CONTAINER_PATH_STAT_HEADER = "x-docker-container-path-stat";
export type ContainerChanges = Static<typeof S.ContainerChanges>;
export type ImageHistoryEntry = Static<typeof S.ImageHistoryEntry>;
export type ImageHistory = Static<typeof S.ImageHistory>;
export type ImageBuildEvent = Static<typeof S.ImageBuildEvent>;
export type ImageTransferEvent = Static<typeof S.ImageTransferEvent>;
/** What the facade reports of a pull (the `pulled` event) and of a push (`pushed`). */
export type PulledImage = Extract<ImageTransferEvent, { kind: "pulled" }>;
export type PushedImage = Extract<ImageTransferEvent, { kind: "pushed" }>;
export type RegistryLoginResponse = Static<typeof S.RegistryLoginResponse>;
export type RegistryLogoutResponse = Static<typeof S.RegistryLogoutResponse>;

export type SourceView = Static<typeof S.SourceView>;
export type SourceList = Static<typeof S.SourceList>;
export type SourcePlan = Static<typeof S.SourcePlan>;
export type SourceSyncResponse = Static<typeof S.SourceSyncResponse>;
export type SourceUnregisterResponse = Static<typeof S.SourceUnregisterResponse>;

export type VolumeStoreItem = Static<typeof S.VolumeStoreItem>;
export type VolumeStoreList = Static<typeof S.VolumeStoreList>;
export type NetworkStoreItem = Static<typeof S.NetworkStoreItem>;
export type NetworkStoreList = Static<typeof S.NetworkStoreList>;
export type StoreRemoveResponse = Static<typeof S.StoreRemoveResponse>;

export type ContainerTop = Static<typeof S.ContainerTop>;
export type ContainerStats = Static<typeof S.ContainerStats>;
export type ContainerStatsFrame = Static<typeof S.ContainerStatsFrame>;
export type ContainerInspect = Static<typeof S.ContainerInspect>;
export type SystemInfo = Static<typeof S.SystemInfo>;

export type ErrorBody = Static<typeof S.ErrorBody>;
