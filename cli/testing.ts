/**
 * Test fixtures for CLI command tests (excluded from the build): a programmable fake
 * ControllerApi served by the real ApiServer on a temp unix socket, and a CommandContext
 * whose output is captured.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import pino from "pino";
import { ApiClient } from "../controller/api/client.js";
import type { Writable } from "node:stream";
import type {
  ApplyRequest,
  ApplyResponse,
  ContainerCommitRequest,
  ContainerStatusView,
  EventRecord,
  ExecRequest,
  ImageBuildRequest,
  ImageHistory,
  ImagePullRequest,
  ImagePushRequest,
  ImageRecord,
  ImageTransferEvent,
  PulledImage,
  PushedImage,
  RegistryLoginRequest,
  RegistryLogoutRequest,
  ObjectStatusView,
  ObjectView,
} from "../controller/api/protocol.js";
import { ApiServer } from "../controller/api/server.js";
import type { ControllerApi } from "../controller/api/types.js";
import { notFound, notImplemented } from "../lib/errors.js";
import { systemClock, type Clock } from "../lib/clock.js";
import type { BuildEvent } from "../runtime/build/executor/builder.js";
import type { ExecResult, LayerChange, LogLine } from "../runtime/types.js";
import { KIND_NAMES, type Kind } from "../schemas/kinds.js";
import type { CommandContext, Output } from "./client.js";

export const NOW = Date.parse("2024-05-01T12:00:00Z");
export const ago = (ms: number, now = NOW) => new Date(now - ms).toISOString();

export function containerView(name: string, status: Partial<ContainerStatusView> = {}, spec: Record<string, unknown> = {}, meta: Partial<ObjectView["metadata"]> = {}): ObjectView {
  return {
    apiVersion: "berth/v1",
    kind: "Container",
    metadata: { name, labels: {}, annotations: {}, stack: "demo", generation: 1, createdAt: ago(180_000), updatedAt: ago(60_000), ...meta },
    spec: { image: "docker.io/library/busybox:latest", restartPolicy: { name: "always", maxRetries: 0 }, ...spec },
    status: { phase: "Running", health: "none", restartCount: 0, ...status },
  };
}

/** A view of a kind other than Container; `status` may carry that kind's fields (a volume's mountpoint). */
export function genericView(kind: Exclude<Kind, "Container">, name: string, status: Partial<Exclude<ObjectStatusView, ContainerStatusView>> = {}, meta: Partial<ObjectView["metadata"]> = {}): ObjectView {
  return {
    apiVersion: "berth/v1",
    kind,
    metadata: { name, labels: {}, annotations: {}, stack: "demo", generation: 1, createdAt: ago(4 * 86_400_000), updatedAt: ago(60_000), ...meta },
    spec: {},
    status: { ready: true, ...status },
  };
}

export class Capture implements Output {
  text = "";
  constructor(
    public isTTY = false,
    public columns = 100,
  ) {}
  write(s: string) {
    this.text += s;
    return true;
  }
}

/**
 * A ControllerApi whose answers tests set: objects by `kind/name` (or a function of the
 * number of gets so far, to script a progression), apply's response, events, log lines,
 * exec's result. It records what it was asked.
 */
export class FakeController implements ControllerApi {
  objects = new Map<string, ObjectView | ((n: number) => ObjectView | undefined)>();
  gets = new Map<string, number>();
  applyResponse: (req: ApplyRequest) => ApplyResponse = (req) => ({ dryRun: !!req.dryRun, diagnostics: [], changes: [] });
  applied: ApplyRequest[] = [];
  deleted: string[] = [];
  acted: string[] = [];
  execs: { name: string; req: ExecRequest }[] = [];
  execResult: ExecResult = { exitCode: 0, stdout: "", stderr: "", timedOut: false };
  eventList: EventRecord[] = [];
  logLines: LogLine[] = [];
  logsAsked?: { name: string; follow: boolean; tail?: number; since?: number };
  /** Set while a follow/watch stream waits for more; resolves when the client goes away. */
  streamEnded?: Promise<void>;
  /** `changes` of any container this fake has (NotFound for others). */
  changeList: LayerChange[] = [];
  commits: { name: string; req: ContainerCommitRequest }[] = [];
  commitResult: ImageRecord = fakeImageRecord();
  /** The tar `exportContainer` writes; with `exportFailsAfter`, the first that many bytes, then a failure. */
  exportBytes = Buffer.alloc(0);
  exportFailsAfter?: number;
  /** Histories by ref (NotFound for others). */
  histories = new Map<string, ImageHistory>();

  put(view: ObjectView | ((n: number) => ObjectView | undefined), key?: string) {
    const k = key ?? (typeof view === "function" ? undefined : `${view.kind}/${view.metadata.name}`);
    if (!k) throw new Error("put: a key is needed with a function");
    this.objects.set(k, view);
  }

  private lookup(kind: Kind, name: string): ObjectView | undefined {
    const key = `${kind}/${name}`;
    const n = (this.gets.get(key) ?? 0) + 1;
    this.gets.set(key, n);
    const v = this.objects.get(key);
    return typeof v === "function" ? v(n) : v;
  }

  version() {
    return { version: "0.1.0", pid: 1, root: "/r", runRoot: "/rr", startedAt: "t" };
  }
  async apply(req: ApplyRequest) {
    this.applied.push(req);
    return this.applyResponse(req);
  }
  async list(kind: Kind, selector: Record<string, string>) {
    const out: ObjectView[] = [];
    for (const [key, v] of this.objects) {
      if (!key.startsWith(`${kind}/`)) continue;
      const view = typeof v === "function" ? v(0) : v;
      if (view && Object.entries(selector).every(([k, val]) => view.metadata.labels[k] === val)) out.push(view);
    }
    return out;
  }
  async get(kind: Kind, name: string) {
    const v = this.lookup(kind, name);
    if (!v) throw notFound(`get ${KIND_NAMES[kind].singular} ${name}: not found`, { object: { kind, name } });
    return v;
  }
  async delete(kind: Kind, name: string) {
    const key = `${kind}/${name}`;
    if (!this.objects.has(key)) throw notFound(`delete ${KIND_NAMES[kind].singular} ${name}: not found`, { object: { kind, name } });
    this.objects.delete(key);
    this.deleted.push(key);
    return { kind, name, action: "deleted" as const };
  }
  async *events({ watch, signal }: { watch: boolean; signal: AbortSignal }) {
    yield* this.eventList;
    if (watch) await this.untilAborted(signal);
  }
  async *logs(name: string, o: { follow: boolean; tail?: number; since?: number; signal: AbortSignal }) {
    this.logsAsked = { name, follow: o.follow, ...(o.tail !== undefined ? { tail: o.tail } : {}), ...(o.since !== undefined ? { since: o.since } : {}) };
    yield* this.logLines;
    if (o.follow) await this.untilAborted(o.signal);
  }
  async exec(name: string, req: ExecRequest) {
    this.execs.push({ name, req });
    return this.execResult;
  }
  // Terminals, attach and cp: not used by the CLI's unit tests (their e2e tests use a real daemon).
  async execTerminal(): Promise<never> {
    throw notImplemented("fake controller: execTerminal");
  }
  async attach(): Promise<never> {
    throw notImplemented("fake controller: attach");
  }
  attachAtStart(): never {
    throw notImplemented("fake controller: attachAtStart");
  }
  async signalContainer(): Promise<never> {
    throw notImplemented("fake controller: signalContainer");
  }
  async statContainerPath(): Promise<never> {
    throw notImplemented("fake controller: statContainerPath");
  }
  async archiveContainerPath(): Promise<never> {
    throw notImplemented("fake controller: archiveContainerPath");
  }
  async extractToContainer(): Promise<never> {
    throw notImplemented("fake controller: extractToContainer");
  }
  async act(name: string, action: "stop" | "start" | "restart", _signal: AbortSignal) {
    const v = this.lookup("Container", name);
    if (!v) throw notFound(`${action} container ${name}: not found`, { object: { kind: "Container", name } });
    this.acted.push(`${action} ${name}`);
    return v;
  }

  private requireContainer(name: string, verb: string) {
    if (!this.objects.has(`Container/${name}`)) throw notFound(`${verb} container ${name}: not found`, { object: { kind: "Container", name } });
  }
  async changes(name: string) {
    this.requireContainer(name, "diff");
    return this.changeList;
  }
  async commit(name: string, req: ContainerCommitRequest) {
    this.requireContainer(name, "commit");
    this.commits.push({ name, req });
    return this.commitResult;
  }
  async exportContainer(name: string, out: Writable) {
    this.requireContainer(name, "export");
    if (this.exportFailsAfter === undefined) {
      await new Promise<void>((resolve, reject) => out.end(this.exportBytes, () => resolve()).once("error", reject));
      return;
    }
    await new Promise<void>((resolve) => out.write(this.exportBytes.subarray(0, this.exportFailsAfter), () => resolve()));
    const err = new Error("disk read failed");
    out.destroy(err);
    throw err;
  }
  async imageHistory(ref: string) {
    const h = this.histories.get(ref);
    if (!h) throw notFound(`get image ${ref}: not found`);
    return h;
  }

  // The rest of the image store is not faked here (the image commands are tested against real stores).
  listImages = () => Promise.reject(notImplemented("list images: fake controller"));
  inspectImages = () => Promise.reject(notImplemented("inspect images: fake controller"));
  loadImages = () => Promise.reject(notImplemented("load images: fake controller"));
  importImage = () => Promise.reject(notImplemented("import image: fake controller"));
  saveImages = () => Promise.reject(notImplemented("save images: fake controller"));
  tagImage = () => Promise.reject(notImplemented("tag image: fake controller"));
  removeImage = () => Promise.reject(notImplemented("remove image: fake controller"));
  pruneImages = () => Promise.reject(notImplemented("prune images: fake controller"));

  /** Build, pull and push replay these events, then end with `result`, or throw `fail` after them. */
  builds: ImageBuildRequest[] = [];
  buildEvents: BuildEvent[] = [];
  buildFails?: Error;
  pulls: ImagePullRequest[] = [];
  pushes: ImagePushRequest[] = [];
  transferEvents: ImageTransferEvent[] = [];
  transferFails?: Error;
  /** Logins asked (with the password: the fake is where a test checks it arrived, and only there). */
  logins: RegistryLoginRequest[] = [];
  loginFails?: Error;
  logouts: RegistryLogoutRequest[] = [];

  async buildImage(req: ImageBuildRequest, onEvent: (e: BuildEvent) => void, _signal?: AbortSignal) {
    this.builds.push(req);
    for (const e of this.buildEvents) onEvent(e);
    if (this.buildFails) throw this.buildFails;
    return fakeImageRecord({ references: req.tags });
  }
  private async transfer(onEvent: (e: ImageTransferEvent) => void) {
    for (const e of this.transferEvents) onEvent(e);
    if (this.transferFails) throw this.transferFails;
  }
  async pullImage(req: ImagePullRequest, onEvent: (e: ImageTransferEvent) => void) {
    this.pulls.push(req);
    await this.transfer(onEvent);
    return this.transferEvents.filter((e): e is PulledImage => e.kind === "pulled");
  }
  async pushImage(req: ImagePushRequest, onEvent: (e: ImageTransferEvent) => void) {
    this.pushes.push(req);
    await this.transfer(onEvent);
    const pushed = this.transferEvents.find((e): e is PushedImage => e.kind === "pushed");
    if (!pushed) throw notImplemented("push image: the fake has no pushed event");
    return pushed;
  }
  async login(req: RegistryLoginRequest) {
    this.logins.push(req);
    if (this.loginFails) throw this.loginFails;
    return { registry: req.registry, stored: "/fake/credentials.json" };
  }
  async logout(req: RegistryLogoutRequest) {
    this.logouts.push(req);
    return { registry: req.registry, removed: true };
  }

  private untilAborted(signal: AbortSignal): Promise<void> {
    this.streamEnded = new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
    return this.streamEnded;
  }
}

/** An image record as the API returns one (digests made of one repeated hex digit). */
export function fakeImageRecord(over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    references: [],
    digest: `sha256:${"d".repeat(64)}`,
    configDigest: `sha256:${"c".repeat(64)}`,
    layers: [],
    diffIds: [],
    chainIds: [],
    config: {},
    os: "linux",
    architecture: "amd64",
    size: 0,
    ...over,
  };
}

export interface Harness {
  fake: FakeController;
  ctx: CommandContext;
  stdout: Capture;
  stderr: Capture;
  dir: string;
  /** What Ctrl-C does: aborts the context's interrupt signal. */
  interrupt(): void;
  close(): Promise<void>;
}

/** Serves `fake` on a socket in a fresh temp dir; the context's client talks to it. */
export async function startHarness(options: { tty?: boolean; stdin?: string; clock?: Clock } = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), "berth-cli-"));
  const socketPath = path.join(dir, "berth.sock");
  const fake = new FakeController();
  const server = new ApiServer(fake, { socketPath, logger: pino({ level: "silent" }) });
  await server.listen();
  const stdout = new Capture(options.tty ?? false);
  const stderr = new Capture();
  const ac = new AbortController();
  const ctx: CommandContext = {
    client: new ApiClient(socketPath),
    stdout,
    stderr,
    stdin: Readable.from(options.stdin !== undefined ? [Buffer.from(options.stdin)] : []),
    clock: options.clock ?? systemClock,
    interrupt: () => ac.signal,
  };
  return {
    fake,
    ctx,
    stdout,
    stderr,
    dir,
    interrupt: () => ac.abort(new Error("interrupted")),
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
