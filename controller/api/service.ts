/**
 * The service facade the API server calls (ControllerApi, api/types.ts): applies and deletes
 * go to the desired store and enqueue what they changed; reads are views over the desired
 * store, the status records and the container reconciler's observations; user actions are
 * recorded as intents and carried out by the container reconciler; the image store is plain
 * delegation (it serializes its own mutations, and Image objects reconcile through it too).
 *
 * Over 400 lines on purpose: it is the whole ControllerApi, each method a few lines of
 * delegation or a view; the heavier pieces (inspect, stats, info, local stores) are already
 * in routes/*-gather.ts and local-stores.ts.
 */
import * as path from "node:path";
import { withoutBuildIntermediates } from "../../runtime/build/executor/cache.js";
import type { Writable } from "node:stream";
import { errorMessage, failedPrecondition, invalidArgument, isBerthError, notFound, notImplemented } from "../../lib/errors.js";
import { assertValidName } from "../../lib/names.js";
import { normalizeTaggedReference } from "../../lib/reference.js";
import { applyCommitChanges } from "../../runtime/images/commit-changes.js";
import { imageHistoryOf } from "../../runtime/images/image-history.js";
import type { BuildEvent } from "../../runtime/build/executor/builder.js";
import type { RegistryService } from "../../runtime/registry/types.js";
import type { Attachment, AttachOptions, ContainerPathStat, ExecTerminal, ImageRecord, ImageRuntimeConfig, LayerChange } from "../../runtime/types.js";
import { KIND_NAMES, type Kind } from "../../schemas/kinds.js";
import { grantLoadOptions } from "../manifests/grants.js";
import { objectKey, type AnyObject } from "../manifests/model.js";
import { statusViewOf } from "../reconcilers/condition.js";
import type { ReconcilerDeps } from "../reconcilers/context.js";
import type { ContainerReconciler } from "../reconcilers/container/reconciler.js";
import { keyOf } from "../store/keys.js";
import type { StoredObject } from "../store/types.js";
import type {
  ApplyRequest,
  AttachRequest,
  ApplyResponse,
  ChangeEntry,
  ContainerCommitRequest,
  EventRecord,
  ExecRequest,
  ExecResult,
  ImageBuildRequest,
  ImageHistory,
  ImagePruneResponse,
  ImagePullRequest,
  ImagePushRequest,
  ImageRemoveResponse,
  ImageTransferEvent,
  PulledImage,
  PushedImage,
  RegistryLoginRequest,
  RegistryLoginResponse,
  RegistryLogoutRequest,
  RegistryLogoutResponse,
  ObjectView,
  VersionInfo,
} from "./protocol.js";
import { componentVersions, gatherInfo } from "./routes/info-gather.js";
import { inspectContainer, statsReadings, statsTargets, topOfContainer } from "./routes/inspect-gather.js";
import type { ContainerInspect, ContainerTop, SystemInfo } from "./protocol.js";
import { pullWith, pushWith } from "./transfer-events.js";
import type { ControllerApi, ExecIo } from "./types.js";

export interface ServiceInfo {
  version: string;
  root: string;
  runRoot: string;
  startedAtMs: number;
  /** Accept privileged containers from every apply. */
  allowPrivileged: boolean;
  /** Accept bind sources that expose the host from every apply (manifests/host-binds.ts). */
  allowHostBinds?: boolean;
  /** The API socket, which bind sources must not expose (default `<runRoot>/berth.sock`). */
  socketPath?: string;
}

export class ControllerService implements ControllerApi {
  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly containers: ContainerReconciler,
    private readonly info: ServiceInfo,
  ) {}

  version(): VersionInfo {
    return { version: this.info.version, pid: process.pid, root: this.info.root, runRoot: this.info.runRoot, startedAt: new Date(this.info.startedAtMs).toISOString() };
  }

  async apply(req: ApplyRequest): Promise<ApplyResponse> {
    const d = this.deps;
    // The manifest pipeline (yaml, the validators, normalize) loads with the first apply: an idle daemon needs none of it.
    const { loadManifestTexts } = await import("../manifests/load.js");
    // A source's policy (req.allow) is the whole grant: the daemon's flags do not widen it.
    const policy = req.allow
      ? grantLoadOptions(req.allow)
      : { allowPrivileged: this.info.allowPrivileged || !!req.allowPrivileged, allowHostBinds: !!this.info.allowHostBinds || !!req.allowHostBinds };
    const loaded = loadManifestTexts(req.files, {
      ...policy,
      berthPaths: { root: this.info.root, runRoot: this.info.runRoot, ...(this.info.socketPath ? { socketPath: this.info.socketPath } : {}) },
    });
    const dryRun = !!req.dryRun;
    if (loaded.diagnostics.some((x) => x.severity === "error")) return { dryRun, changes: [], diagnostics: loaded.diagnostics };
    const objects = loaded.objects.map(stripSource);
    const before = new Map(d.desired.list({ stack: req.stack }).map((s) => [s.key, s]));
    for (const o of objects) {
      const s = d.desired.get(objectKey(o));
      if (s) before.set(s.key, s);
    }
    const cs = await d.desired.apply(req.stack, objects, { prune: !!req.prune, dryRun });
    const changes: ChangeEntry[] = cs.entries.map((e) => ({ kind: e.kind, name: e.name, action: e.action }));
    const res: ApplyResponse = { dryRun, changes, diagnostics: loaded.diagnostics };
    if (dryRun) {
      const after = new Map(objects.map((o) => [objectKey(o), o]));
      res.diffs = cs.entries
        .filter((e) => e.action !== "unchanged")
        .map((e) => {
          const b = before.get(e.key)?.object;
          const a = e.action === "deleted" ? undefined : after.get(e.key);
          return { kind: e.kind, name: e.name, ...(b ? { before: specOf(b) } : {}), ...(a ? { after: specOf(a) } : {}) };
        });
      return res;
    }
    for (const e of cs.entries) {
      if (e.action === "deleted") this.containers.markTerminating(before.get(e.key));
      if (e.action !== "unchanged") d.events.record("Normal", e.action === "deleted" ? "Deleted" : "Applied", e.key, `${e.key} ${e.action} (stack ${req.stack})`);
      d.enqueue(e.key);
    }
    return res;
  }

  async list(kind: Kind, selector: Record<string, string>): Promise<ObjectView[]> {
    const d = this.deps;
    const desired = d.indexes.keysOfKind(kind).map((k) => d.desired.get(k)!);
    const terminating = kind === "Container" ? this.containers.terminatingObjects() : [];
    return [...desired, ...terminating]
      .filter((s) => Object.entries(selector).every(([k, v]) => s.object.metadata.labels[k] === v))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => this.viewOf(s));
  }

  async get(kind: Kind, name: string): Promise<ObjectView> {
    const key = keyOf(kind, name);
    const s = this.deps.desired.get(key) ?? this.containers.terminatingObject(key);
    if (!s) throw notFound(`get ${KIND_NAMES[kind].singular} ${name}: not found`, { object: { kind, name } });
    return this.viewOf(s);
  }

  async delete(kind: Kind, name: string): Promise<ChangeEntry> {
    const d = this.deps;
    const key = keyOf(kind, name);
    if (kind === "Network" && d.desired.get(key)) {
      const users = d.indexes.containersOnNetwork(name);
      if (users.length) {
        throw failedPrecondition(`delete network ${name}: it is in use by ${users.join(", ")}; delete ${users.length === 1 ? "it" : "them"} first (or delete the whole manifest: containers go before networks)`, { object: { kind, name } });
      }
    }
    this.containers.markTerminating(d.desired.get(key));
    const e = await d.desired.delete(key);
    if (!e) throw notFound(`delete ${KIND_NAMES[kind].singular} ${name}: not found`, { object: { kind, name } });
    d.events.record("Normal", "Deleted", key, `${key} deleted`);
    d.enqueue(key);
    return { kind, name, action: "deleted" };
  }

  events(options: { watch: boolean; signal: AbortSignal }): AsyncIterable<EventRecord> {
    return this.deps.events.stream(options);
  }

  logs(name: string, options: { follow: boolean; tail?: number; since?: number; signal: AbortSignal }) {
    this.requireContainer(name);
    return this.deps.runtime.containers.logs(name, options);
  }

  /** Buffered, or with `io` streamed: output is handed over as it comes; a failing `io` ends (kills) the exec. */
  async exec(name: string, req: ExecRequest, signal: AbortSignal, io?: ExecIo): Promise<ExecResult & { startError?: string }> {
    this.requireContainer(name);
    const options = {
      argv: req.argv,
      ...(req.env ? { env: req.env } : {}),
      ...(req.user ? { user: req.user } : {}),
      ...(req.workingDir ? { workingDir: req.workingDir } : {}),
      ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
    };
    if (!io) return this.deps.runtime.containers.exec(name, { ...options, signal });
    const failed = new AbortController();
    const s = await this.deps.runtime.containers.execStream(name, { ...options, ...(io.stdin ? { stdin: io.stdin } : {}), signal: AbortSignal.any([signal, failed.signal]) });
    const pump = async (from: AsyncIterable<Uint8Array>, to: (chunk: Uint8Array) => Promise<void>) => {
      for await (const chunk of from) await to(chunk);
    };
    try {
      await Promise.all([pump(s.stdout, io.stdout), pump(s.stderr, io.stderr)]);
    } catch (err) {
      failed.abort(err);
      s.stdout.destroy();
      s.stderr.destroy();
      await s.exit;
      throw err;
    }
    const e = await s.exit;
    return { exitCode: e.exitCode, stdout: "", stderr: "", timedOut: e.timedOut, ...(e.startError ? { startError: e.startError } : {}) };
  }

  async execTerminal(name: string, req: ExecRequest, signal: AbortSignal, stdin?: AsyncIterable<Uint8Array>): Promise<ExecTerminal> {
    this.requireContainer(name);
    const rt = this.deps.runtime.containers;
    if (!rt.execTerminal) throw notImplemented(`exec in container ${name}: the runtime has no terminals`);
    return rt.execTerminal(name, {
      argv: req.argv,
      ...(req.env ? { env: req.env } : {}),
      ...(req.user ? { user: req.user } : {}),
      ...(req.workingDir ? { workingDir: req.workingDir } : {}),
      ...(req.timeoutMs ? { timeoutMs: req.timeoutMs } : {}),
      ...(req.size ? { size: req.size } : {}),
      ...(stdin ? { stdin } : {}),
      signal,
    });
  }

  async attach(name: string, req: AttachRequest, stdin?: AsyncIterable<Uint8Array>): Promise<Attachment & { exit: Promise<number | undefined> }> {
    this.requireContainer(name, "attach to");
    const rt = this.deps.runtime.containers;
    if (!rt.attach) throw notImplemented(`attach to container ${name}: the runtime has no attach`);
    const a = await rt.attach(name, attachOptionsOf(req, stdin));
    return Object.assign(a, { exit: this.exitAfter(name, a) });
  }

  attachAtStart(name: string, req: AttachRequest, stdin?: AsyncIterable<Uint8Array>): { attached: Promise<Attachment & { exit: Promise<number | undefined> }>; cancel(): void } {
    assertValidName(name, "container name");
    const rt = this.deps.runtime.containers;
    const attach = rt.attach?.bind(rt);
    if (!attach) throw notImplemented(`attach to container ${name}: the runtime has no attach`);
    const reg = this.deps.startAttachments.register(name, async () => {
      // In the start's beforeRun: the record still shows the previous run (if any).
      const before = (await rt.inspect(name).catch(() => undefined))?.startedAt ?? null;
      const a = await attach(name, attachOptionsOf(req, stdin));
      return Object.assign(a, { exit: this.exitAfter(name, a, before) });
    });
    return reg;
  }

  /**
   * The exit code once the attachment ended with the process: the socket closes when conmon
   * ends, and its exit file is read by the runtime a moment later. `before`: the run that was
   * recorded before the attach (attachAtStart) — its exit is not this one's.
   */
  private exitAfter(name: string, a: Attachment, before?: string | null): Promise<number | undefined> {
    const rt = this.deps.runtime.containers;
    return a.ended.then(async ({ exited }) => {
      if (!exited) return undefined;
      for (let i = 0; i < 100; i++) {
        const st = await rt.inspect(name).catch(() => undefined);
        if (!st) return undefined;
        const thisRun = before === undefined || (st.startedAt !== undefined && st.startedAt !== before);
        if (st.status !== "running" && thisRun) return st.exitCode;
        await new Promise((r) => setTimeout(r, 50));
      }
      return undefined;
    });
  }

  async signalContainer(name: string, signal: string): Promise<void> {
    this.requireContainer(name, "signal");
    await this.deps.runtime.containers.kill(name, signal);
  }

  /** `berth stop|start|restart`: recorded as the user's intent, carried out by the container reconciler. */
  async act(name: string, action: "stop" | "start" | "restart", signal: AbortSignal): Promise<ObjectView> {
    const stored = this.requireContainer(name);
    await this.containers.act(stored.key, action, signal);
    return this.viewOf(this.deps.desired.get(stored.key) ?? stored);
  }

  /** `berth diff CONTAINER`: the runtime's facts about its layer. */
  async changes(name: string): Promise<LayerChange[]> {
    this.requireContainer(name, "diff");
    const rt = this.deps.runtime.containers;
    if (!rt.changes) throw notImplemented(`diff container ${name}: the runtime cannot read container layers`);
    return rt.changes(name);
  }

  /**
   * `berth commit`: the changes are checked before anything else (a bad one is named, with
   * why), then applied over the config of the image the container runs — not over its
   * manifest's command, env or user, which Docker's commit would carry too: a berth
   * container's run options belong to its manifest, and the image keeps its own.
   */
  async commit(name: string, req: ContainerCommitRequest): Promise<ImageRecord> {
    const what = `commit container ${name}`;
    const changes = req.changes ?? [];
    applyCommitChanges({}, changes, what);
    if (req.reference !== undefined) {
      try {
        normalizeTaggedReference(req.reference);
      } catch (err) {
        throw invalidArgument(`${what}: ${errorMessage(err)}`, { cause: err });
      }
    }
    this.requireContainer(name, "commit");
    const rt = this.deps.runtime.containers;
    if (!rt.commit) throw notImplemented(`${what}: the runtime cannot read container layers`);
    let config: ImageRuntimeConfig | undefined;
    if (changes.length > 0) {
      const state = await rt.inspect(name);
      const image = await this.deps.runtime.images.get(state.imageDigest).catch((err: unknown) => {
        if (!isBerthError(err, "NotFound")) throw err;
        throw failedPrecondition(`${what}: its image ${state.image} (${state.imageDigest}) is no longer in the store, so there is no config to apply the changes to`, { cause: err });
      });
      config = applyCommitChanges(image.config, changes, what);
    }
    return rt.commit(name, {
      ...(req.reference !== undefined ? { reference: req.reference } : {}),
      ...(config ? { config } : {}),
      ...(req.comment ? { comment: req.comment } : {}),
      ...(req.author ? { author: req.author } : {}),
    });
  }

  /** `berth export`: the runtime writes the tar to `out` itself. */
  statContainerPath(name: string, path: string): Promise<ContainerPathStat> {
    return this.copyRuntime(name).statPath!(name, path);
  }

  archiveContainerPath(name: string, path: string, out: Writable, signal: AbortSignal, onStat: (stat: ContainerPathStat) => void): Promise<void> {
    return this.copyRuntime(name).archivePath!(name, path, out, { signal, onStat });
  }

  extractToContainer(name: string, path: string, tar: AsyncIterable<Uint8Array>, options: { copyUIDGID: boolean }): Promise<number> {
    return this.copyRuntime(name).extractArchive!(name, path, tar, options);
  }

  /** `berth cp` goes to the runtime of a Container object berth has. */
  private copyRuntime(name: string) {
    this.requireContainer(name, "copy");
    const rt = this.deps.runtime.containers;
    if (!rt.statPath || !rt.archivePath || !rt.extractArchive) throw notImplemented(`copy container ${name}: the runtime cannot read container file systems`);
    return rt;
  }

  async exportContainer(name: string, out: Writable, signal: AbortSignal): Promise<void> {
    this.requireContainer(name, "export");
    const rt = this.deps.runtime.containers;
    if (!rt.export) throw notImplemented(`export container ${name}: the runtime cannot mount container layers`);
    await rt.export(name, out, { signal });
  }

  imageHistory(ref: string): Promise<ImageHistory> {
    return imageHistoryOf(this.deps.runtime.images, ref);
  }

  /** Every image; without `all`, not the untagged images of build steps on the way (as `docker images` hides intermediates). */
  async listImages(options: { all?: boolean } = {}): Promise<ImageRecord[]> {
    const images = await this.deps.runtime.images.list();
    return options.all ? images : withoutBuildIntermediates(this.info.root, images);
  }

  async inspectImages(refs: string[]): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const ref of refs) out.push(await this.deps.runtime.images.get(ref));
    return out;
  }

  loadImages(file: string, signal: AbortSignal): Promise<ImageRecord[]> {
    return this.deps.runtime.images.load(file, { signal });
  }

  importImage(rootfs: AsyncIterable<Uint8Array>, reference: string, config: ImageRuntimeConfig, signal: AbortSignal): Promise<ImageRecord> {
    return this.deps.runtime.images.importRootfs(rootfs, reference, { config, signal });
  }

  saveImages(refs: string[], outFile: string): Promise<void> {
    return this.deps.runtime.images.save(refs, outFile);
  }

  tagImage(source: string, target: string): Promise<ImageRecord> {
    return this.deps.runtime.images.tag(source, target);
  }

  removeImage(ref: string, options: { force: boolean }): Promise<ImageRemoveResponse> {
    return this.deps.runtime.images.remove(ref, options);
  }

  /** As `berth image prune` without a daemon: dangling images, or with `all` every unused one. */
  pruneImages(options: { all: boolean }): Promise<ImagePruneResponse> {
    return this.deps.runtime.images.prune(options.all ? { all: true } : { dangling: true });
  }

  /**
   * `berth image build`: the builder reads the context from its (absolute) path with its own
   * walker, which keeps every read inside it. The result is tagged by the builder.
   */
  buildImage(req: ImageBuildRequest, onEvent: (e: BuildEvent) => void, signal: AbortSignal): Promise<ImageRecord> {
    const builder = this.deps.runtime.builder;
    if (!builder) throw notImplemented("build image: this runtime cannot build Dockerfiles");
    if (!path.isAbsolute(req.context)) throw invalidArgument(`build image: the context ${JSON.stringify(req.context)} is not an absolute path`);
    return builder.build({
      context: req.context,
      ...(req.dockerfile !== undefined ? { dockerfile: req.dockerfile } : {}),
      ...(req.dockerfileText !== undefined ? { dockerfileText: req.dockerfileText } : {}),
      tags: req.tags,
      ...(req.buildArgs ? { buildArgs: req.buildArgs } : {}),
      ...(req.target !== undefined ? { target: req.target } : {}),
      ...(req.noCache ? { noCache: true } : {}),
      ...(req.network ? { network: req.network } : {}),
      onEvent,
      signal,
    });
  }

  pullImage(req: ImagePullRequest, onEvent: (e: ImageTransferEvent) => void, signal: AbortSignal): Promise<PulledImage[]> {
    return pullWith(this.registry(`pull image ${req.reference}`), req, onEvent, signal);
  }

  pushImage(req: ImagePushRequest, onEvent: (e: ImageTransferEvent) => void, signal: AbortSignal): Promise<PushedImage> {
    return pushWith(this.registry(`push image ${req.reference}`), req, onEvent, signal);
  }

  /** The password is handed to the registry service only: never logged here. */
  login(req: RegistryLoginRequest, signal: AbortSignal): Promise<RegistryLoginResponse> {
    return this.registry(`login to ${req.registry}`).login(req.registry, { username: req.username, password: req.password, signal });
  }

  async logout(req: RegistryLogoutRequest): Promise<RegistryLogoutResponse> {
    const { credentialKey } = await import("../../runtime/registry/credentials.js");
    return { registry: credentialKey(req.registry), removed: await this.registry(`logout from ${req.registry}`).logout(req.registry) };
  }

  /** `berth volume ls|inspect|rm|prune` and `berth network ...`: ./local-stores.ts over this service's stores. */
  async listVolumeStore() {
    return (await import("./local-stores.js")).listVolumeStore(this.storeDeps());
  }

  async removeVolume(name: string, options: { force: boolean }) {
    return (await import("./local-stores.js")).removeVolume(this.storeDeps(), name, options);
  }

  async listNetworkStore() {
    return (await import("./local-stores.js")).listNetworkStore(this.storeDeps());
  }

  async removeNetwork(name: string) {
    return (await import("./local-stores.js")).removeNetwork(this.storeDeps(), name);
  }

  private storeDeps() {
    return { deps: this.deps, deleteObject: (kind: "Volume" | "Network", name: string) => this.delete(kind, name) };
  }

  // Inspection: routes/inspect-gather.ts and routes/info-gather.ts do the work.
  top(name: string, psArgs: string[] | undefined): Promise<ContainerTop> {
    return topOfContainer(this.deps, name, psArgs);
  }

  inspect(name: string): Promise<ContainerInspect> {
    return inspectContainer(this.deps, this.containers, name);
  }

  statsTargets(names: string[], all: boolean): Promise<string[]> {
    return statsTargets(this.deps, this.containers, names, all);
  }

  statsReadings(names: string[]) {
    return statsReadings(this.deps, names);
  }

  systemInfo(options: { usage: boolean }): Promise<SystemInfo> {
    return gatherInfo({ deps: this.deps, version: this.info.version, root: this.info.root, runRoot: this.info.runRoot, startedAtMs: this.info.startedAtMs }, options);
  }

  componentVersions() {
    return componentVersions();
  }

  private registry(what: string): RegistryService {
    const r = this.deps.runtime.registry;
    if (!r) throw notImplemented(`${what}: this runtime cannot talk to registries`);
    return r;
  }

  private requireContainer(name: string, verb = "get"): StoredObject {
    const s = this.deps.desired.get(keyOf("Container", name));
    if (!s) throw notFound(`${verb} container ${name}: not found`, { object: { kind: "Container", name } });
    return s;
  }

  private viewOf(s: StoredObject): ObjectView {
    return {
      apiVersion: "berth/v1",
      kind: s.kind,
      metadata: {
        name: s.name,
        labels: s.object.metadata.labels,
        annotations: s.object.metadata.annotations,
        stack: s.stack,
        generation: s.generation,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
      },
      spec: s.object.spec,
      status: s.kind === "Container" ? this.containers.statusView(s) : statusViewOf(this.deps.status.get(s.key, s.kind)),
    };
  }
}

/** The desired store compares objects; where they were read from is not part of them. */
function stripSource(o: AnyObject): AnyObject {
  const { source: _source, ...rest } = o;
  return rest as AnyObject;
}

function specOf(o: AnyObject) {
  return { metadata: o.metadata, spec: o.spec };
}

function attachOptionsOf(req: AttachRequest, stdin?: AsyncIterable<Uint8Array>): AttachOptions {
  return { ...(req.size ? { size: req.size } : {}), ...(stdin ? { stdin } : {}) };
}
