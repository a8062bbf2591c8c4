import { Type, type TSchema } from "@sinclair/typebox";
import { KeyedMap, Name } from "./common.js";
import { API_VERSION, KINDS } from "./kinds.js";

/**
 * The request and response bodies of the daemon's API (controller/api/protocol.ts lists the
 * routes). Request bodies are validated by the server with the same ajv setup as manifests,
 * precompiled by compile-validators.ts (`API_BODY_SCHEMAS`); response bodies are the types
 * both ends share, closed (additionalProperties false) so a test can check what a server sends.
 */
const SCHEMA_BASE = "https://berth.dev/schemas/v1/api";

/** Longest path the API takes (Linux PATH_MAX). */
const MAX_PATH = 4096;
/** Limits of an apply: as many files as `berth apply` reads, texts up to the request body limit. */
const APPLY_MAX_FILES = 10_000;
const APPLY_MAX_TEXT_LENGTH = 64 * 1024 * 1024;
/** Longest image ref (reference, digest or ID prefix) the image routes take. */
const IMAGE_REF_MAX_LENGTH = 1024;

const closed = { additionalProperties: false } as const;
const NoNul = (options: { minLength?: number; maxLength?: number; description?: string } = {}) =>
  Type.String({ pattern: "^[^\\x00]*$", patternErrorMessage: "expected a string without NUL characters", ...options });

export const KindName = Type.Union(
  KINDS.map((k) => Type.Literal(k)),
  { description: "An object kind." },
);

// ---------------------------------------------------------------------------- requests

export const ManifestFile = Type.Object(
  {
    file: NoNul({ minLength: 1, maxLength: MAX_PATH, description: "Where the text was read from, as diagnostics name it (`-` for stdin)." }),
    text: Type.String({ maxLength: APPLY_MAX_TEXT_LENGTH, description: "The manifest text as read; the daemon parses and validates it." }),
    baseDir: NoNul({ maxLength: MAX_PATH, description: "Directory relative paths inside the manifests resolve against." }),
  },
  closed,
);

/** A host-level access a GitOps source (or an apply that asks for a source's policy) may be granted. */
export const HostGrant = Type.Union(
  [Type.Literal("privileged"), Type.Literal("hostBinds"), Type.Literal("hostNetwork"), Type.Literal("hostPid"), Type.Literal("hostIpc")],
  { description: "privileged containers, bind sources that expose the host, networkMode host, pid: host, ipc: host." },
);

export const ApplyRequest = Type.Object(
  {
    stack: Name("The stack the objects belong to; `prune` removes this stack's objects missing from the set."),
    files: Type.Array(ManifestFile, { maxItems: APPLY_MAX_FILES, description: "Manifest texts as read by the client." }),
    prune: Type.Optional(Type.Boolean()),
    dryRun: Type.Optional(Type.Boolean()),
    allowPrivileged: Type.Optional(Type.Boolean()),
    allowHostBinds: Type.Optional(Type.Boolean({ description: "Accept bind sources that expose the host (`/`, `/proc`, an engine socket, an ancestor of berth's state)." })),
    allow: Type.Optional(
      Type.Array(HostGrant, {
        maxItems: 5,
        uniqueItems: true,
        description:
          "A source's policy: when present, exactly these host-level accesses are accepted and every other is refused with its location (the daemon's --allow-* flags and the two booleans above do not widen it).",
      }),
    ),
  },
  { ...closed, $id: `${SCHEMA_BASE}/apply-request.json` },
);

const EnvName = Type.String({
  pattern: "^[^=\\x00]+$",
  maxLength: 4096,
  patternErrorMessage: "expected an environment variable name without '='",
});

const TerminalSize = Type.Object(
  { cols: Type.Integer({ minimum: 1, maximum: 65535 }), rows: Type.Integer({ minimum: 1, maximum: 65535 }) },
  { ...closed, description: "A terminal's size in character cells." },
);

export const ExecRequest = Type.Object(
  {
    argv: Type.Array(NoNul({ maxLength: 128 * 1024 }), { minItems: 1, maxItems: 4096, description: "The program and its arguments (never run by a shell)." }),
    env: Type.Optional(KeyedMap(EnvName, NoNul({ maxLength: 128 * 1024 }), { description: "Variables added to the container's environment." })),
    user: Type.Optional(NoNul({ minLength: 1, maxLength: 256, description: "User (and group) to run as; default the container's." })),
    workingDir: Type.Optional(NoNul({ minLength: 1, maxLength: MAX_PATH, description: "Working directory; default the container's." })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 0, description: "Kill the process after this long; 0 or absent: no limit." })),
    tty: Type.Optional(Type.Boolean({ description: "Run on a pseudo-terminal in the container (the stream only): one output stream, framed input with resizes." })),
    size: Type.Optional(TerminalSize),
  },
  { ...closed, $id: `${SCHEMA_BASE}/exec-request.json` },
);

export const AttachRequest = Type.Object(
  {
    size: Type.Optional(TerminalSize),
    atStart: Type.Optional(
      Type.Boolean({
        description:
          "Wait for the container's next start and connect before its process runs, so that all of its output is seen (berth run -it): the headers are sent once the wait is registered, and the container need not exist yet.",
      }),
    ),
  },
  { ...closed, $id: `${SCHEMA_BASE}/attach-request.json` },
);

const ImageRef = (description: string) => Type.String({ minLength: 1, maxLength: IMAGE_REF_MAX_LENGTH, description });

export const ImageTagRequest = Type.Object(
  {
    source: ImageRef("An existing image: reference, digest or ID prefix."),
    target: ImageRef("The new name:tag."),
  },
  { ...closed, $id: `${SCHEMA_BASE}/image-tag-request.json` },
);

export const ImagePruneRequest = Type.Object(
  { all: Type.Optional(Type.Boolean({ description: "`berth image prune -a`: every image no container uses." })) },
  { ...closed, $id: `${SCHEMA_BASE}/image-prune-request.json` },
);

/** Longest `--change` instruction, `-m` comment and `-a` author a commit takes. */
const COMMIT_CHANGE_MAX_LENGTH = 64 * 1024;
const COMMIT_MAX_CHANGES = 1000;

export const ContainerCommitRequest = Type.Object(
  {
    reference: Type.Optional(ImageRef("`docker commit`'s REPOSITORY[:TAG] for the new image (tag default latest); absent: untagged, found by its ID.")),
    changes: Type.Optional(
      Type.Array(NoNul({ minLength: 1, maxLength: COMMIT_CHANGE_MAX_LENGTH }), {
        maxItems: COMMIT_MAX_CHANGES,
        description: "Dockerfile instructions applied in order over the container's image config (`--change`): CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.",
      }),
    ),
    comment: Type.Optional(NoNul({ maxLength: COMMIT_CHANGE_MAX_LENGTH, description: "The history entry's comment (`-m`)." })),
    author: Type.Optional(NoNul({ maxLength: COMMIT_CHANGE_MAX_LENGTH, description: "The image's author (`-a`)." })),
  },
  { ...closed, $id: `${SCHEMA_BASE}/container-commit-request.json` },
);

const BuildNetwork = Type.Union([Type.Literal("bridge"), Type.Literal("host"), Type.Literal("none")], {
  description: "The network RUN steps join: `bridge` (default, berth's NAT'd build network), `host` or `none`.",
});
/** Longest Dockerfile text a build request carries (as the builder reads one from the context). */
const DOCKERFILE_MAX_LENGTH = 8 * 1024 * 1024;
const BUILD_MAX_TAGS = 100;
const BUILD_MAX_ARGS = 1000;

/** `berth image build`: the daemon reads the context directory by its path (client and daemon share the host). */
export const ImageBuildRequest = Type.Object(
  {
    context: NoNul({ minLength: 1, maxLength: MAX_PATH, description: "The build context: an absolute directory path on the daemon's host." }),
    dockerfile: Type.Optional(NoNul({ minLength: 1, maxLength: MAX_PATH, description: "The Dockerfile's path inside the context (default `Dockerfile`)." })),
    dockerfileText: Type.Optional(
      Type.String({ maxLength: DOCKERFILE_MAX_LENGTH, description: "The Dockerfile's text instead of a file of the context (`-f -`, or `-f` a file outside the context)." }),
    ),
    tags: Type.Array(ImageRef("A name[:tag] the result is tagged with (`-t`)."), { maxItems: BUILD_MAX_TAGS }),
    buildArgs: Type.Optional(KeyedMap(EnvName, NoNul({ maxLength: 128 * 1024 }), { maxProperties: BUILD_MAX_ARGS, description: "`--build-arg` values." })),
    target: Type.Optional(NoNul({ minLength: 1, maxLength: 256, description: "The stage to build (`--target`); default the last." })),
    noCache: Type.Optional(Type.Boolean({ description: "Do not use the build cache (`--no-cache`)." })),
    network: Type.Optional(BuildNetwork),
  },
  { ...closed, $id: `${SCHEMA_BASE}/image-build-request.json` },
);

export const ImagePullRequest = Type.Object(
  {
    reference: ImageRef("What to pull: name[:tag], name@sha256:…, or with allTags a repository."),
    allTags: Type.Optional(Type.Boolean({ description: "Pull every tag of the repository (`--all-tags`)." })),
  },
  { ...closed, $id: `${SCHEMA_BASE}/image-pull-request.json` },
);

export const ImagePushRequest = Type.Object(
  { reference: ImageRef("The local image to push, by the name[:tag] it is pushed as.") },
  { ...closed, $id: `${SCHEMA_BASE}/image-push-request.json` },
);

/** Longest registry name, user name and password a login takes. */
const LOGIN_FIELD_MAX_LENGTH = 16 * 1024;

export const RegistryLoginRequest = Type.Object(
  {
    registry: NoNul({ minLength: 1, maxLength: 1024, description: "`host[:port]`, `docker.io`, or a URL such as `https://index.docker.io/v1/`." }),
    username: NoNul({ minLength: 1, maxLength: LOGIN_FIELD_MAX_LENGTH }),
    password: NoNul({ maxLength: LOGIN_FIELD_MAX_LENGTH, description: "Never logged or echoed." }),
  },
  { ...closed, $id: `${SCHEMA_BASE}/registry-login-request.json` },
);

export const RegistryLogoutRequest = Type.Object(
  { registry: NoNul({ minLength: 1, maxLength: 1024, description: "As for login." }) },
  { ...closed, $id: `${SCHEMA_BASE}/registry-logout-request.json` },
);

export const SyncMode = Type.Union([Type.Literal("auto"), Type.Literal("manual")], {
  description: "auto: each new revision is applied; manual: its plan is shown and applied by `berth sync`.",
});

/** A git ref name as berth passes one to git: no option-like start, no `..`, nothing git would read as a revision expression. */
const GIT_BRANCH_PATTERN = "^(?!-)(?!.*\\.\\.)(?!.*//)(?!.*\\.lock$)[A-Za-z0-9._/+-]{1,255}(?<![./])$";

export const GitSourceSpec = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: MAX_PATH,
      pattern: "^(?!-)[^\\x00]*$",
      patternErrorMessage: "expected a URL or path that does not start with '-'",
      description: "The remote: a URL (https, ssh, file://) or a local path; never an ext:: transport.",
    }),
    branch: Type.Optional(Type.String({ pattern: GIT_BRANCH_PATTERN, patternErrorMessage: "expected a branch name", description: "Default: the remote's default branch." })),
    path: Type.Optional(NoNul({ minLength: 1, maxLength: MAX_PATH, description: "The subdirectory of the repository holding the manifests (relative, inside it)." })),
    intervalMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 86_400_000, description: "How often the remote is fetched. Default 1m." })),
  },
  closed,
);

export const SourceRegisterRequest = Type.Object(
  {
    stack: Name("The stack the source's manifests become; one source per stack."),
    dir: Type.Optional(NoNul({ minLength: 1, maxLength: MAX_PATH, description: "A directory on the daemon's host (absolute), watched recursively." })),
    git: Type.Optional(GitSourceSpec),
    sync: Type.Optional(SyncMode),
    prune: Type.Optional(Type.Boolean({ description: "Delete the stack's objects that are no longer in the source (default true)." })),
    allow: Type.Optional(Type.Array(HostGrant, { maxItems: 5, uniqueItems: true, description: "The host-level accesses the source's manifests may use; every other is refused." })),
  },
  { ...closed, $id: `${SCHEMA_BASE}/source-register-request.json`, description: "Exactly one of dir and git." },
);

/** The request bodies the server validates, by the name its validators are exported under. */
export const API_BODY_SCHEMAS = {
  ApplyRequest,
  ExecRequest,
  AttachRequest,
  ImageTagRequest,
  ImagePruneRequest,
  ContainerCommitRequest,
  ImageBuildRequest,
  ImagePullRequest,
  ImagePushRequest,
  RegistryLoginRequest,
  RegistryLogoutRequest,
  SourceRegisterRequest,
} satisfies Record<string, TSchema>;
export type ApiBodyName = keyof typeof API_BODY_SCHEMAS;

// ---------------------------------------------------------------------------- responses

export const VersionInfo = Type.Object(
  {
    version: Type.String(),
    pid: Type.Integer(),
    root: Type.String(),
    runRoot: Type.String(),
    startedAt: Type.String(),
    apiVersion: Type.Optional(Type.String({ description: "The API's version (its path prefix), `v1`." })),
    nodeVersion: Type.Optional(Type.String()),
    os: Type.Optional(Type.String()),
    arch: Type.Optional(Type.String()),
    kernel: Type.Optional(Type.String()),
    runc: Type.Optional(Type.String({ description: "`runc --version`'s first line's version." })),
    conmon: Type.Optional(Type.String()),
  },
  closed,
);

export const ChangeAction = Type.Union([Type.Literal("created"), Type.Literal("configured"), Type.Literal("unchanged"), Type.Literal("deleted")]);

export const ChangeEntry = Type.Object(
  { kind: KindName, name: Type.String(), action: ChangeAction },
  { ...closed, description: "One line of an apply's result (Flux's ChangeSet entry): `container/web configured`." },
);

/** controller/manifests/diagnostics.ts's Diagnostic on the wire. */
export const Diagnostic = Type.Object(
  {
    severity: Type.Union([Type.Literal("error"), Type.Literal("warning")]),
    file: Type.String(),
    line: Type.Integer({ minimum: 0, description: "1-based; 0 when the problem concerns the whole file." }),
    column: Type.Integer({ minimum: 0 }),
    object: Type.Optional(Type.String({ description: "`container/web`, when the problem is inside a recognised object." })),
    path: Type.String({ description: "`spec.ports[0].containerPort`; empty for the document itself." }),
    message: Type.String(),
    suggestion: Type.Optional(Type.String()),
  },
  closed,
);

export const ObjectDiff = Type.Object(
  {
    kind: KindName,
    name: Type.String(),
    before: Type.Optional(Type.Unknown({ description: "{metadata, spec} of the normalized object; absent when it did not exist." })),
    after: Type.Optional(Type.Unknown({ description: "{metadata, spec} of the normalized object; absent when it will not exist." })),
  },
  closed,
);

export const ApplyResponse = Type.Object(
  {
    dryRun: Type.Boolean(),
    changes: Type.Array(ChangeEntry, { description: "Empty when the manifests had errors (then nothing was changed)." }),
    diagnostics: Type.Array(Diagnostic),
    diffs: Type.Optional(Type.Array(ObjectDiff, { description: "With dryRun: each created, configured or deleted object before and after." })),
  },
  closed,
);

/** What every status view has: readiness, why, and which generation of the spec it reflects. */
const commonStatus = {
  reason: Type.Optional(Type.String({ description: "Machine-readable cause, e.g. `CrashLoopBackOff`, `PullFailed`." })),
  message: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(
    Type.Integer({ minimum: 0, description: "The metadata.generation this status was computed for: it reflects an apply once it reaches that apply's generation." }),
  ),
};
const readyStatus = { ready: Type.Boolean(), ...commonStatus };

export const ContainerPhase = Type.Union([Type.Literal("Pending"), Type.Literal("Running"), Type.Literal("Restarting"), Type.Literal("Exited"), Type.Literal("Failed")]);
export const HealthStatus = Type.Union([Type.Literal("none"), Type.Literal("starting"), Type.Literal("healthy"), Type.Literal("unhealthy")]);

export const HealthResultView = Type.Object(
  {
    start: Type.String(),
    end: Type.String(),
    result: Type.Union([Type.Literal("success"), Type.Literal("failure"), Type.Literal("unknown")]),
    output: Type.String(),
  },
  closed,
);

export const PublishedPortView = Type.Object(
  {
    protocol: Type.Union([Type.Literal("tcp"), Type.Literal("udp")]),
    hostIP: Type.String(),
    hostPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  },
  closed,
);

export const NetworkAttachmentView = Type.Object(
  {
    network: Type.String(),
    address: Type.String({ description: "IPv4 address with prefix length, e.g. 172.18.0.2/16." }),
    gateway: Type.String(),
    aliases: Type.Array(Type.String()),
  },
  closed,
);

export const ContainerStatusView = Type.Object(
  {
    phase: ContainerPhase,
    health: HealthStatus,
    restartCount: Type.Integer({ minimum: 0 }),
    lastRestartAt: Type.Optional(Type.String()),
    nextRestartAt: Type.Optional(Type.String({ description: "When the next policy restart is due, while backing off." })),
    exitCode: Type.Optional(Type.Integer()),
    oomKilled: Type.Optional(Type.Boolean()),
    pid: Type.Optional(Type.Integer()),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String({ description: "Machine-readable cause, e.g. `CrashLoopBackOff`, `DependencyFailed`, `Unhealthy`." })),
    message: commonStatus.message,
    containerId: Type.Optional(Type.String()),
    imageDigest: Type.Optional(Type.String()),
    specHash: Type.Optional(Type.String()),
    healthResults: Type.Optional(Type.Array(HealthResultView, { description: "The last 5 probe results, newest last." })),
    networks: Type.Optional(Type.Array(NetworkAttachmentView, { description: "The bridge networks it is attached to, with its address on each." })),
    ports: Type.Optional(Type.Array(PublishedPortView, { description: "Its published ports as programmed (random host ports resolved)." })),
    networkMode: Type.Optional(Type.String({ description: "host, none, bridge or container:<name>." })),
    observedGeneration: commonStatus.observedGeneration,
  },
  closed,
);

/** The part every status view but a container's has. */
export const GenericStatusView = Type.Object(readyStatus, closed);

export const ImageStatusView = Type.Object(
  {
    ...readyStatus,
    digest: Type.Optional(Type.String({ description: "Manifest digest of the image the reference resolves to." })),
    id: Type.Optional(Type.String({ description: "Config digest (Docker's image ID)." })),
    size: Type.Optional(Type.Integer({ minimum: 0, description: "Sum of compressed layer sizes, bytes." })),
  },
  closed,
);

export const VolumeStatusView = Type.Object(
  { ...readyStatus, mountpoint: Type.Optional(Type.String({ description: "The volume's directory on the host." })) },
  closed,
);

export const NetworkStatusView = Type.Object(
  {
    ...readyStatus,
    subnet: Type.Optional(Type.String({ description: "The network's subnet (CIDR)." })),
    gateway: Type.Optional(Type.String({ description: "The bridge's address: containers' default route and resolver." })),
    bridge: Type.Optional(Type.String({ description: "The Linux bridge on the host." })),
    internal: Type.Optional(Type.Boolean()),
    containers: Type.Optional(Type.Array(Type.String(), { description: "Names of the containers attached." })),
  },
  closed,
);


export const HealthCheckStatusView = Type.Object(
  { ...readyStatus, matched: Type.Optional(Type.Array(Type.String(), { description: "Names of the containers the target selects." })) },
  closed,
);

export const ObjectStatusView = Type.Union([ContainerStatusView, ImageStatusView, VolumeStatusView, NetworkStatusView, HealthCheckStatusView]);

export const ObjectView = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: KindName,
    metadata: Type.Object(
      {
        name: Type.String(),
        labels: Type.Record(Type.String(), Type.String()),
        annotations: Type.Record(Type.String(), Type.String()),
        stack: Type.String(),
        generation: Type.Integer({ minimum: 0 }),
        createdAt: Type.String(),
        updatedAt: Type.String(),
      },
      closed,
    ),
    spec: Type.Unknown({ description: "The normalized spec." }),
    status: ObjectStatusView,
  },
  closed,
);

export const ObjectList = Type.Object({ items: Type.Array(ObjectView) }, closed);

export const EventRecord = Type.Object(
  {
    seq: Type.Integer({ description: "Increasing per daemon run." }),
    time: Type.String(),
    type: Type.Union([Type.Literal("Normal"), Type.Literal("Warning")]),
    reason: Type.String({ description: "`Created`, `Started`, `Died`, `BackOff`, `Unhealthy`, `Healthy`, `Recreated`, ..." }),
    object: Type.String({ description: "`container/web`." }),
    message: Type.String(),
  },
  closed,
);

export const EventList = Type.Object({ items: Type.Array(EventRecord) }, closed);

/** One line of `GET /v1/containers/{name}/logs` (runtime/types.ts LogLine). */
export const LogLine = Type.Object(
  {
    time: Type.String(),
    stream: Type.Union([Type.Literal("stdout"), Type.Literal("stderr")]),
    full: Type.Boolean({ description: "True for a full line (conmon's F tag), false for a partial (P)." }),
    text: Type.String(),
  },
  closed,
);

/** runtime/types.ts ExecResult. */
export const ExecResult = Type.Object(
  { exitCode: Type.Integer(), stdout: Type.String(), stderr: Type.String(), timedOut: Type.Boolean() },
  closed,
);

const StringRecord = () => Type.Record(Type.String(), Type.String());
/** Docker's sets (`{"80/tcp": {}}`). */
const SetOf = () => Type.Unsafe<Record<string, object>>({ type: "object", additionalProperties: { type: "object" } });
const Argv = () => Type.Union([Type.Array(Type.String()), Type.Null()]);

/** The image config berth uses (runtime/types.ts ImageRuntimeConfig; Docker's names). */
export const ImageRuntimeConfig = Type.Object(
  {
    User: Type.Optional(Type.String()),
    Env: Type.Optional(Type.Array(Type.String())),
    Entrypoint: Type.Optional(Argv()),
    Cmd: Type.Optional(Argv()),
    WorkingDir: Type.Optional(Type.String()),
    Labels: Type.Optional(StringRecord()),
    StopSignal: Type.Optional(Type.String()),
    ExposedPorts: Type.Optional(SetOf()),
    Volumes: Type.Optional(SetOf()),
    Healthcheck: Type.Optional(
      Type.Object(
        {
          Test: Type.Optional(Type.Array(Type.String())),
          Interval: Type.Optional(Type.Integer()),
          Timeout: Type.Optional(Type.Integer()),
          StartPeriod: Type.Optional(Type.Integer()),
          StartInterval: Type.Optional(Type.Integer()),
          Retries: Type.Optional(Type.Integer()),
        },
        closed,
      ),
    ),
    OnBuild: Type.Optional(Argv()),
    Shell: Type.Optional(Type.Array(Type.String())),
  },
  closed,
);

export const Descriptor = Type.Object(
  { mediaType: Type.String(), digest: Type.String(), size: Type.Integer({ minimum: 0 }), annotations: Type.Optional(StringRecord()) },
  closed,
);

/** An image of the store as the image routes return it (runtime/types.ts ImageRecord). */
export const ImageRecord = Type.Object(
  {
    references: Type.Array(Type.String(), { description: "Fully qualified references, e.g. `docker.io/library/busybox:latest`." }),
    digest: Type.String({ description: "Digest of the image manifest." }),
    configDigest: Type.String({ description: "Digest of the config blob (Docker's image ID)." }),
    layers: Type.Array(Descriptor, { description: "Compressed layer descriptors, base first." }),
    diffIds: Type.Array(Type.String()),
    chainIds: Type.Array(Type.String()),
    config: ImageRuntimeConfig,
    os: Type.String(),
    architecture: Type.String(),
    created: Type.Optional(Type.String()),
    size: Type.Integer({ minimum: 0, description: "Sum of compressed layer sizes." }),
  },
  closed,
);

export const ImageList = Type.Object({ items: Type.Array(ImageRecord) }, closed);

/** One line of `berth diff CONTAINER` (runtime/types.ts LayerChange), Docker's A/C/D. */
export const LayerChange = Type.Object(
  { kind: Type.Union([Type.Literal("A"), Type.Literal("C"), Type.Literal("D")]), path: Type.String({ description: "Absolute path in the container." }) },
  closed,
);
export const ContainerChanges = Type.Object({ items: Type.Array(LayerChange, { description: "Sorted by path." }) }, closed);

/** `berth cp`'s stat of a container path: Docker's ContainerPathStat (runtime/types.ts). */
export const ContainerPathStat = Type.Object(
  {
    name: Type.String(),
    size: Type.Integer({ minimum: 0 }),
    mode: Type.Integer({ minimum: 0, description: "Go's os.FileMode: permission bits, ModeDir 1<<31, ModeSymlink 1<<27, setuid 1<<23, setgid 1<<22, sticky 1<<20." }),
    mtime: Type.String({ description: "RFC 3339." }),
    linkTarget: Type.String({ description: "A symlink's target resolved inside the container, absolute; empty otherwise." }),
  },
  closed,
);
/** The answer of `PUT /v1/containers/{name}/archive`. */
export const ContainerArchivePutResponse = Type.Object({ entries: Type.Integer({ minimum: 0, description: "Tar entries extracted." }) }, closed);

/** One entry of `berth image history` (runtime/types.ts ImageHistoryEntry). */
export const ImageHistoryEntry = Type.Object(
  {
    created: Type.Optional(Type.String()),
    createdBy: Type.Optional(Type.String()),
    comment: Type.Optional(Type.String()),
    emptyLayer: Type.Boolean({ description: "The step made no layer (size 0)." }),
    size: Type.Integer({ minimum: 0, description: "The layer's bytes: uncompressed when known, else the compressed blob's." }),
  },
  closed,
);
export const ImageHistory = Type.Object(
  {
    id: Type.String({ description: "The image's ID (its config digest), shown on the newest entry." }),
    items: Type.Array(ImageHistoryEntry, { description: "Newest first." }),
  },
  closed,
);
export const ImageLoadResponse = Type.Object({ loaded: Type.Array(ImageRecord) }, closed);

export const ImageRemoveResponse = Type.Object(
  {
    untagged: Type.Array(Type.String(), { description: "Normalized references removed." }),
    deleted: Type.Array(Type.String(), { description: "Digests deleted: the image's manifest digest first, then blobs only it used." }),
  },
  closed,
);

export const ImagePruneResponse = Type.Object(
  { deletedBlobs: Type.Integer({ minimum: 0 }), deletedSnapshots: Type.Integer({ minimum: 0 }), reclaimedBytes: Type.Integer({ minimum: 0 }) },
  closed,
);

/**
 * `GET /v1/volume-store`: every volume the daemon knows — the Volume objects, and the volumes
 * the runtime has that no object declares (a container's `name:/path` mount of an undeclared
 * name, an anonymous `/path` mount) — with the desired containers that mount each.
 */
export const VolumeStoreItem = Type.Object(
  {
    name: Type.String(),
    driver: Type.Literal("local"),
    declared: Type.Boolean({ description: "A Volume object declares it (else the runtime made it for a container's mount)." }),
    stack: Type.Optional(Type.String({ description: "The stack of its object, else the stack whose container made it." })),
    anonymous: Type.Boolean({ description: "Made without a name: `berth volume create` with no NAME, or a container's anonymous `/path` mount." }),
    labels: Type.Record(Type.String(), Type.String(), { description: "Its object's labels, else the runtime volume's." }),
    options: Type.Record(Type.String(), Type.String(), { description: "Driver options as the runtime has them (type, size, mode)." }),
    mountpoint: Type.Optional(Type.String({ description: "Its directory on the host, once it exists." })),
    createdAt: Type.Optional(Type.String()),
    exists: Type.Boolean({ description: "The runtime has it (an object's volume is made by its reconcile)." }),
    usedBy: Type.Array(Type.String(), { description: "Desired containers that mount it, by name." }),
    message: Type.Optional(Type.String({ description: "Its object's status message (why it is not ready)." })),
  },
  closed,
);
export const VolumeStoreList = Type.Object({ items: Type.Array(VolumeStoreItem) }, closed);

export const NetworkContainerView = Type.Object(
  {
    name: Type.String(),
    id: Type.Optional(Type.String({ description: "The runtime container's id, when it exists." })),
    address: Type.String({ description: "IPv4 address with prefix length." }),
  },
  closed,
);

/**
 * `GET /v1/network-store`: the Network objects and the networks berth made itself — each
 * stack's default network (`<stack>-default`) and the build network — with the desired
 * containers on each and the runtime's attachments.
 */
export const NetworkStoreItem = Type.Object(
  {
    name: Type.String(),
    id: Type.String({ description: "64 hex digits, as Docker's network ID: from the name and when its object (else the runtime network) was created." }),
    driver: Type.Literal("bridge"),
    declared: Type.Boolean({ description: "A Network object declares it." }),
    role: Type.Union([Type.Literal("object"), Type.Literal("default"), Type.Literal("build"), Type.Literal("other")], {
      description: "object: a Network object's; default: a stack's default network; build: RUN steps' network; other: a network the runtime has that none of those explains.",
    }),
    stack: Type.Optional(Type.String()),
    exists: Type.Boolean({ description: "The runtime has it." }),
    subnet: Type.Optional(Type.String()),
    gateway: Type.Optional(Type.String()),
    internal: Type.Boolean(),
    bridge: Type.Optional(Type.String()),
    labels: Type.Record(Type.String(), Type.String()),
    createdAt: Type.Optional(Type.String()),
    usedBy: Type.Array(Type.String(), { description: "Desired containers on it (a stack's containers with no network: its default network)." }),
    containers: Type.Array(NetworkContainerView, { description: "The runtime's attachments." }),
  },
  closed,
);
export const NetworkStoreList = Type.Object({ items: Type.Array(NetworkStoreItem) }, closed);

/** `DELETE /v1/volume-store/{name}`, `DELETE /v1/network-store/{name}`. */
export const StoreRemoveResponse = Type.Object(
  {
    name: Type.String(),
    declared: Type.Boolean({ description: "It was an object: deleted from the desired state (its reconcile removes it); else removed from the runtime at once." }),
  },
  closed,
);

export const ErrorKindName = Type.Union(
  [
    Type.Literal("NotFound"),
    Type.Literal("AlreadyExists"),
    Type.Literal("InvalidArgument"),
    Type.Literal("FailedPrecondition"),
    Type.Literal("Conflict"),
    Type.Literal("Unavailable"),
    Type.Literal("NotImplemented"),
    Type.Literal("Internal"),
  ],
);

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        kind: ErrorKindName,
        message: Type.String({ description: 'Shaped "verb subject: cause".' }),
        object: Type.Optional(Type.Object({ kind: Type.String(), name: Type.String() }, closed)),
      },
      closed,
    ),
  },
  closed,
);

/** The error that ends a stream whose answer had begun (an NDJSON build, pull or push). */
const StreamError = ErrorBody.properties.error;

/**
 * One line of `POST /v1/image-store/build`'s NDJSON answer: the builder's events
 * (runtime/build/executor/builder.ts BuildEvent) as they come, then `done` — or `error`,
 * the build's failure (a Dockerfile error located `Dockerfile:3:1: …`, a failing RUN).
 */
export const ImageBuildEvent = Type.Union([
  Type.Object({ type: Type.Literal("step"), stage: Type.String(), step: Type.Integer(), steps: Type.Integer(), text: Type.String() }, closed),
  Type.Object({ type: Type.Literal("cached"), text: Type.String() }, closed),
  Type.Object({ type: Type.Literal("miss"), reason: Type.String() }, closed),
  Type.Object({ type: Type.Literal("output"), stream: Type.Union([Type.Literal("stdout"), Type.Literal("stderr")]), line: Type.String() }, closed),
  Type.Object({ type: Type.Literal("warning"), message: Type.String() }, closed),
  Type.Object(
    { type: Type.Literal("done"), image: Type.String(), configDigest: Type.String(), tags: Type.Array(Type.String()), seconds: Type.Number() },
    closed,
  ),
  Type.Object({ type: Type.Literal("error"), error: StreamError }, closed),
]);

/**
 * One line of `POST /v1/image-store/{pull|push}`'s NDJSON answer: the registry's progress
 * (runtime/registry/types.ts RegistryProgress), `pulled` after each image pulled (one per tag
 * with allTags) or `pushed`, then `error` when it failed after the answer began.
 */
export const ImageTransferEvent = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("blob"),
      digest: Type.String(),
      mediaType: Type.String(),
      role: Type.Union([Type.Literal("layer"), Type.Literal("config")]),
      status: Type.Union([
        Type.Literal("exists"),
        Type.Literal("downloading"),
        Type.Literal("resuming"),
        Type.Literal("verifying"),
        Type.Literal("done"),
        Type.Literal("mounted"),
        Type.Literal("uploading"),
      ]),
      done: Type.Integer({ minimum: 0 }),
      total: Type.Integer({ minimum: 0 }),
      from: Type.Optional(Type.String()),
    },
    closed,
  ),
  Type.Object(
    { kind: Type.Literal("resolved"), reference: Type.String(), digest: Type.String(), mediaType: Type.String(), endpoint: Type.String(), indexDigest: Type.Optional(Type.String()) },
    closed,
  ),
  Type.Object({ kind: Type.Literal("unpacked"), digest: Type.String(), chainId: Type.String() }, closed),
  Type.Object({ kind: Type.Literal("endpoint-failed"), endpoint: Type.String(), error: Type.String() }, closed),
  Type.Object(
    {
      kind: Type.Literal("pulled"),
      reference: Type.String({ description: "The normalized reference pulled." }),
      digest: Type.String({ description: "The image manifest's digest." }),
      indexDigest: Type.Optional(Type.String()),
      id: Type.String({ description: "The image's ID (config digest)." }),
      endpoint: Type.String(),
      blobs: Type.Array(Type.Object({ digest: Type.String(), outcome: Type.Union([Type.Literal("exists"), Type.Literal("downloaded"), Type.Literal("resumed")]) }, closed)),
    },
    closed,
  ),
  Type.Object(
    {
      kind: Type.Literal("pushed"),
      reference: Type.String(),
      digest: Type.String({ description: "The manifest digest the registry stored." }),
      mediaType: Type.String(),
      size: Type.Integer({ minimum: 0, description: "The manifest's size in bytes." }),
      blobs: Type.Array(Type.Object({ digest: Type.String(), outcome: Type.Union([Type.Literal("exists"), Type.Literal("mounted"), Type.Literal("uploaded")]) }, closed)),
    },
    closed,
  ),
  Type.Object({ kind: Type.Literal("error"), error: StreamError }, closed),
]);

export const RegistryLoginResponse = Type.Object(
  { registry: Type.String({ description: "The key the credentials are stored under (`docker.io` for Docker Hub)." }), stored: Type.String({ description: "The credentials file." }) },
  closed,
);
export const RegistryLogoutResponse = Type.Object(
  { registry: Type.String(), removed: Type.Boolean({ description: "False when there were no stored credentials for it." }) },
  closed,
);

// ---------------------------------------------------------------------------- GitOps sources

export const SourcePlan = Type.Object(
  {
    revision: Type.String({ description: "The content hash (sha256, hex) of the source's set of files the plan is for." }),
    commit: Type.Optional(Type.String()),
    changes: Type.Array(ChangeEntry),
    diffs: Type.Array(ObjectDiff, { description: "Each created, configured or deleted object before and after." }),
    diagnostics: Type.Array(Diagnostic),
    computedAt: Type.String(),
  },
  closed,
);

export const SourceView = Type.Object(
  {
    stack: Type.String(),
    source: Type.Object(
      {
        type: Type.Union([Type.Literal("dir"), Type.Literal("git")]),
        dir: Type.String({ description: "The directory read: the watched one, or berth's clone of the remote (and its path)." }),
        url: Type.Optional(Type.String()),
        branch: Type.Optional(Type.String()),
        path: Type.Optional(Type.String()),
        intervalMs: Type.Optional(Type.Integer()),
      },
      closed,
    ),
    sync: SyncMode,
    prune: Type.Boolean(),
    allow: Type.Array(HostGrant),
    registeredAt: Type.String(),
    state: Type.Union([Type.Literal("Pending"), Type.Literal("Synced"), Type.Literal("OutOfSync"), Type.Literal("Invalid"), Type.Literal("Failed")], {
      description:
        "Pending: not read yet; Synced: the newest revision is applied; OutOfSync: manual mode, a plan waits for `berth sync`; Invalid: the newest revision has errors (the last good one keeps running); Failed: reading, fetching or applying failed.",
    }),
    message: Type.Optional(Type.String()),
    revision: Type.Optional(Type.String({ description: "Content hash of the newest set read." })),
    commit: Type.Optional(Type.String({ description: "The git commit of the tree read, when it is a git work tree." })),
    dirty: Type.Optional(Type.Boolean({ description: "The work tree has changes not committed." })),
    appliedRevision: Type.Optional(Type.String({ description: "The content hash of the revision running (the last good one)." })),
    appliedCommit: Type.Optional(Type.String()),
    lastApply: Type.Optional(
      Type.Object(
        {
          time: Type.String(),
          result: Type.Union([Type.Literal("Applied"), Type.Literal("Invalid"), Type.Literal("Failed")]),
          revision: Type.String(),
          changes: Type.Array(ChangeEntry),
          message: Type.Optional(Type.String()),
        },
        closed,
      ),
    ),
    errors: Type.Array(Diagnostic, { description: "The newest revision's located errors; empty when it is valid." }),
    plan: Type.Optional(SourcePlan),
    objects: Type.Object({ ready: Type.Integer({ minimum: 0 }), total: Type.Integer({ minimum: 0 }) }, closed),
  },
  closed,
);

export const SourceList = Type.Object({ items: Type.Array(SourceView) }, closed);

export const SourceSyncResponse = Type.Object(
  {
    stack: Type.String(),
    revision: Type.String(),
    commit: Type.Optional(Type.String()),
    applied: Type.Boolean({ description: "False when the revision had errors (then nothing was applied or pruned)." }),
    changes: Type.Array(ChangeEntry),
    diagnostics: Type.Array(Diagnostic),
  },
  closed,
);

export const SourceUnregisterResponse = Type.Object(
  {
    stack: Type.String(),
    kept: Type.Boolean({ description: "The stack's objects were left running (`--keep`)." }),
    changes: Type.Array(ChangeEntry, { description: "Without keep: the objects deleted." }),
  },
  closed,
);

// ------------------------------------------------------------------ inspection: top, stats, inspect, info

/** `GET /v1/containers/{name}/top[?psArgs=..]` (`docker top`). */
export const ContainerTop = Type.Object(
  { titles: Type.Array(Type.String()), processes: Type.Array(Type.Array(Type.String()), { description: "One row per process (per thread with ps options that list them), a cell per title." }) },
  closed,
);

const NetworkIoView = Type.Object(
  {
    rxBytes: Type.Number(),
    rxPackets: Type.Number(),
    rxErrors: Type.Number(),
    rxDropped: Type.Number(),
    txBytes: Type.Number(),
    txPackets: Type.Number(),
    txErrors: Type.Number(),
    txDropped: Type.Number(),
  },
  closed,
);

/** One container's `docker stats` figures over the last window. */
export const ContainerStats = Type.Object(
  {
    name: Type.String(),
    id: Type.Optional(Type.String()),
    read: Type.String({ description: "When the reading was taken (RFC 3339)." }),
    running: Type.Boolean(),
    cgroupVersion: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
    cpuPercent: Type.Optional(Type.Number({ description: "Δ container CPU time / Δ host CPU time × online CPUs × 100, over the window (docker/cli's)." })),
    memory: Type.Optional(
      Type.Object(
        {
          usageBytes: Type.Number({ description: "Usage without cache: v1 usage_in_bytes − total_inactive_file, v2 memory.current − inactive_file." }),
          limitBytes: Type.Number({ description: "The cgroup's limit, or the host's memory when it has none." }),
          limited: Type.Boolean(),
          percent: Type.Number(),
        },
        closed,
      ),
    ),
    network: Type.Optional(NetworkIoView),
    blockIo: Type.Optional(Type.Object({ readBytes: Type.Number(), writeBytes: Type.Number() }, closed)),
    pids: Type.Optional(Type.Object({ current: Type.Number(), limit: Type.Optional(Type.Number()) }, closed)),
    error: Type.Optional(Type.String({ description: "Why there are no figures (the container is gone, say)." })),
  },
  closed,
);

/** `GET /v1/stats[?name=..][&stream=true]`: one frame; the stream is NDJSON of these. */
export const ContainerStatsFrame = Type.Object({ read: Type.String(), items: Type.Array(ContainerStats) }, closed);

/** `GET /v1/containers/{name}/inspect`: moby's ContainerJSON, the fields berth has (controller/api/routes/inspect-view.ts). */
export const ContainerInspect = Type.Object(
  {
    Id: Type.String(),
    Created: Type.String(),
    Path: Type.String(),
    Args: Type.Array(Type.String()),
    State: Type.Record(Type.String(), Type.Unknown()),
    Image: Type.String(),
    Name: Type.String(),
    RestartCount: Type.Integer(),
    Driver: Type.String(),
    Platform: Type.String(),
    HostConfig: Type.Record(Type.String(), Type.Unknown()),
    Config: Type.Record(Type.String(), Type.Unknown()),
    Mounts: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    NetworkSettings: Type.Record(Type.String(), Type.Unknown()),
  },
  closed,
);

const ComponentVersion = Type.Object({ path: Type.Optional(Type.String()), version: Type.Optional(Type.String({ description: "Absent when it could not be run." })) }, closed);

/** `GET /v1/info` (`docker info`). */
export const SystemInfo = Type.Object(
  {
    daemon: Type.Object({ version: Type.String(), pid: Type.Integer(), startedAt: Type.String(), apiVersion: Type.String() }, closed),
    host: Type.Object(
      { hostname: Type.String(), kernel: Type.String(), os: Type.String(), osType: Type.String(), architecture: Type.String(), cpus: Type.Integer(), memoryBytes: Type.Number() },
      closed,
    ),
    runtime: Type.Object({ runc: ComponentVersion, conmon: ComponentVersion, init: Type.Optional(Type.String()) }, closed),
    cgroup: Type.Object({ version: Type.Union([Type.Literal("1"), Type.Literal("2"), Type.Literal("none")]), layout: Type.String(), driver: Type.Literal("cgroupfs"), parent: Type.Optional(Type.String()) }, closed),
    storage: Type.Object(
      {
        root: Type.String(),
        runRoot: Type.String(),
        driver: Type.Literal("overlay"),
        usage: Type.Optional(
          Type.Object(
            {
              imagesBytes: Type.Number({ description: "Image content: the blob store (layers as pulled, configs, manifests)." }),
              layersBytes: Type.Number({ description: "Unpacked layers and containers' writable layers (snapshots)." }),
              containersBytes: Type.Number({ description: "Container records and logs." }),
              volumesBytes: Type.Number(),
            },
            closed,
          ),
        ),
      },
      closed,
    ),
    counts: Type.Object(
      { containers: Type.Integer(), running: Type.Integer(), stopped: Type.Integer(), images: Type.Integer(), volumes: Type.Integer(), networks: Type.Integer() },
      closed,
    ),
    registries: Type.Object(
      {
        settingsFile: Type.String(),
        registryMirrors: Type.Array(Type.String()),
        mirrors: Type.Record(Type.String(), Type.Array(Type.String())),
        insecureRegistries: Type.Array(Type.String()),
      },
      closed,
    ),
    warnings: Type.Array(Type.String()),
  },
  closed,
);
