/**
 * The client of berth's API (protocol.ts) over the daemon's unix socket: one method per
 * route, each turning the route's answer into the protocol's types or a BerthError, and the
 * stream routes (logs, events, exec, attach, build, pull, push, archives). Over 400 lines on
 * purpose: it is one concern, the CLI's only way to the daemon, and its methods share the
 * request, error and stream helpers below; split by route group they would share them
 * across files for no gain.
 */
import { createReadStream, promises as fs } from "node:fs";
import type * as http from "node:http";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BerthError, errorMessage, invalidArgument, isBerthError, notFound, unavailable, type ErrorKind } from "../../lib/errors.js";
import type { Kind } from "../../schemas/kinds.js";
import { KIND_NAMES } from "../../schemas/kinds.js";
import {
  IMAGE_STORE_PATH,
  TAR_CONTENT_TYPE,
  CONTAINER_PATH_STAT_HEADER,
  type ContainerArchivePutResponse,
  type ContainerPathStat,
  type ApplyRequest,
  type ApplyResponse,
  type ChangeEntry,
  type ContainerChanges,
  type ContainerCommitRequest,
  type ContainerInspect,
  type ContainerStatsFrame,
  type ContainerTop,
  type SystemInfo,
  type ErrorBody,
  type EventList,
  type EventRecord,
  type ExecExitStatus,
  type AttachRequest,
  type ExecRequest,
  type ExecResult,
  type ImageBuildEvent,
  type ImageBuildRequest,
  type ImageHistory,
  type ImagePullRequest,
  type ImagePushRequest,
  type ImageTransferEvent,
  type RegistryLoginRequest,
  type RegistryLoginResponse,
  type RegistryLogoutRequest,
  type RegistryLogoutResponse,
  type SourceList,
  type SourcePlan,
  type SourceRegisterRequest,
  type SourceSyncResponse,
  type SourceUnregisterResponse,
  type SourceView,
  type ImageList,
  type ImageLoadResponse,
  type ImagePruneResponse,
  type ImageRecord,
  type ImageRemoveResponse,
  type LogLine,
  type ObjectList,
  type NetworkStoreList,
  type ObjectView,
  type StoreRemoveResponse,
  type VersionInfo,
  type VolumeStoreList,
} from "./protocol.js";
import { encodeFrame, EXEC_REQUEST_CONTENT_TYPE, FrameDecoder, STREAM } from "./exec-stream.js";
import { openStreamRequest, type StreamAnswer } from "./stream-request.js";

const KINDS_OF_ERRORS = new Set<ErrorKind>(["NotFound", "AlreadyExists", "InvalidArgument", "FailedPrecondition", "Conflict", "Unavailable", "NotImplemented", "Internal"]);
const NO_DAEMON_CODES = new Set(["ENOENT", "ECONNREFUSED"]);

/**
 * True for the error of a client whose socket has no daemon behind it (no socket file, or no
 * listener): the Unavailable error carries the connect error as its cause. Other failures
 * (permission denied, a daemon that broke off) are not this.
 */
export function isNoDaemon(err: unknown): boolean {
  return isBerthError(err, "Unavailable") && NO_DAEMON_CODES.has((err.cause as NodeJS.ErrnoException | undefined)?.code ?? "");
}

/** What an upload sends: a file (sent with its length) or a stream (sent chunked). */
export type UploadSource = string | Readable | AsyncIterable<Uint8Array>;

/** A streamed exec's stdio on the client's side: stdin to send (optional), and where output bytes go. */
export interface ExecStreamIo {
  stdin?: Readable | AsyncIterable<Uint8Array>;
  /**
   * Framed input (a tty exec, attach: protocol.ts): stdin goes in stdin frames, and `control`
   * is handed the means to send resize and signal frames once the request is open.
   */
  framed?: boolean;
  control?(send: { resize(size: { cols: number; rows: number }): void; signal(name: string): void }): void;
  /** Called once the daemon answered with success headers (an attach at start: the wait is registered). */
  onAnswer?(): void;
  /** Takes each chunk of stdout as it arrives; a returned promise holds the stream up (backpressure). */
  stdout(chunk: Buffer): unknown;
  stderr(chunk: Buffer): unknown;
}

/** Where a download goes: a file (written to a temp file beside it, then renamed) or a stream. */
export type DownloadSink = { file: string } | { stream: NodeJS.WritableStream };

/**
 * node:http (and node:crypto, node:readline below) are imported by the methods that use them:
 * berth exec, whose stream does not go through node:http (stream-request.ts), loads none of them.
 */
const httpModule = () => import("node:http");

const query = (params: [string, string][]) => new URLSearchParams(params).toString();

/**
 * Client of the daemon's API over its unix socket. Errors come back as BerthErrors of the
 * kind the server sent; a daemon that cannot be reached is Unavailable, saying how to start it.
 */
export class ApiClient {
  constructor(readonly socketPath: string) {}

  private unreachable(err: NodeJS.ErrnoException): BerthError {
    return unavailable(
      `connect ${this.socketPath}: ${err.code === "ENOENT" || err.code === "ECONNREFUSED" ? "no berth daemon is listening" : err.message}; start one with \`berth daemon\` (or \`berth up -f ...\`)`,
      { cause: err },
    );
  }

  private async open(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const http = await httpModule();
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.on("error", (err: NodeJS.ErrnoException) => reject(err.name === "AbortError" ? err : this.unreachable(err)));
      req.end(payload);
    });
  }

  private async fail(res: AsyncIterable<Buffer | string> & { statusCode?: number | undefined }): Promise<never> {
    let text = "";
    for await (const chunk of res) text += chunk;
    let body: ErrorBody | undefined;
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      /* not ours */
    }
    const kind = body?.error?.kind && KINDS_OF_ERRORS.has(body.error.kind) ? body.error.kind : "Internal";
    throw new BerthError(kind, body?.error?.message ?? `HTTP ${res.statusCode}: ${text.slice(0, 200)}`, body?.error?.object ? { object: body.error.object } : {});
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.open(method, path, body, signal);
    if ((res.statusCode ?? 500) >= 400) return this.fail(res);
    let text = "";
    for await (const chunk of res) text += chunk;
    return JSON.parse(text) as T;
  }

  /**
   * An NDJSON stream as objects; ends when the server ends it or `signal` aborts. With a
   * `body` it is POSTed (build, pull, push); without, a GET.
   */
  async *stream<T>(path: string, signal?: AbortSignal, body?: unknown): AsyncIterable<T> {
    const res = await this.open(body === undefined ? "GET" : "POST", path, body, signal);
    if ((res.statusCode ?? 500) >= 400) await this.fail(res);
    const lines = (await import("node:readline")).createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) if (line) yield JSON.parse(line) as T;
    } catch (err) {
      if ((err as Error).name !== "AbortError" && !signal?.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  version = () => this.request<VersionInfo>("GET", "/v1/version");
  // GitOps sources (controller/sources/)
  listSources = async () => (await this.request<SourceList>("GET", "/v1/sources")).items;
  getSource = (stack: string) => this.request<SourceView>("GET", `/v1/sources/${encodeURIComponent(stack)}`);
  registerSource = (req: SourceRegisterRequest) => this.request<SourceView>("POST", "/v1/sources", req);
  unregisterSource = (stack: string, o: { keep?: boolean } = {}) =>
    this.request<SourceUnregisterResponse>("DELETE", `/v1/sources/${encodeURIComponent(stack)}${o.keep ? "?keep=true" : ""}`);
  syncSource = (stack: string) => this.request<SourceSyncResponse>("POST", `/v1/sources/${encodeURIComponent(stack)}/sync`, {});
  sourcePlan = (stack: string) => this.request<SourcePlan>("GET", `/v1/sources/${encodeURIComponent(stack)}/plan`);
  apply = (req: ApplyRequest) => this.request<ApplyResponse>("POST", "/v1/apply", req);
  list = async (kind: Kind, selector: Record<string, string> = {}) => {
    const q = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(",");
    return (await this.request<ObjectList>("GET", `/v1/${KIND_NAMES[kind].plural}${q ? `?selector=${encodeURIComponent(q)}` : ""}`)).items;
  };
  get = (kind: Kind, name: string) => this.request<ObjectView>("GET", `/v1/${KIND_NAMES[kind].plural}/${encodeURIComponent(name)}`);
  delete = (kind: Kind, name: string) => this.request<ChangeEntry>("DELETE", `/v1/${KIND_NAMES[kind].plural}/${encodeURIComponent(name)}`);
  events = async () => (await this.request<EventList>("GET", "/v1/events")).items;
  watchEvents = (signal?: AbortSignal) => this.stream<EventRecord>("/v1/events?watch=true", signal);
  logs = (name: string, o: { follow?: boolean; tail?: number; since?: number } = {}, signal?: AbortSignal) => {
    const q = new URLSearchParams();
    if (o.follow) q.set("follow", "true");
    if (o.tail !== undefined) q.set("tail", String(o.tail));
    if (o.since !== undefined) q.set("since", String(Math.floor(o.since)));
    return this.stream<LogLine>(`/v1/containers/${encodeURIComponent(name)}/logs?${q}`, signal);
  };
  exec = (name: string, req: ExecRequest) => this.request<ExecResult>("POST", `/v1/containers/${encodeURIComponent(name)}/exec`, req);
  /**
   * `POST …/exec?stream=true` (protocol.ts): sends the request frame and then `io.stdin` as
   * it comes (its end closes the process's stdin), hands output bytes to `io` as they arrive,
   * and resolves with the exit frame. The answer's error frame, or an error answer, throws
   * as a BerthError; an answer that ends without an exit frame is Unavailable. Aborting
   * `signal` closes the connection, which makes the daemon kill the exec.
   */
  async execStream(name: string, req: ExecRequest, io: ExecStreamIo, signal?: AbortSignal): Promise<ExecExitStatus> {
    return this.frameStream(`/v1/containers/${encodeURIComponent(name)}/exec?stream=true`, `exec in ${name}`, req, { ...io, framed: io.framed ?? req.tty === true }, signal) as Promise<ExecExitStatus>;
  }

  /**
   * `POST …/attach` (protocol.ts): as execStream, with framed input; resolves with the exit
   * frame once the main process ended, or undefined when the answer ended without one (the
   * caller detached by aborting `signal` — then it rejects with the signal's reason).
   */
  async attach(name: string, req: AttachRequest, io: ExecStreamIo, signal?: AbortSignal): Promise<ExecExitStatus | undefined> {
    return this.frameStream(`/v1/containers/${encodeURIComponent(name)}/attach`, `attach to ${name}`, req, { ...io, framed: true }, signal, true);
  }

  private async frameStream(path: string, what: string, req: unknown, io: ExecStreamIo, signal?: AbortSignal, exitOptional = false): Promise<ExecExitStatus | undefined> {
    const name = what;
    // Not Node's http client: its first request in a process costs ~10 ms (stream-request.ts).
    const { request, answer } = openStreamRequest({
      socketPath: this.socketPath,
      method: "POST",
      path,
      headers: { "content-type": EXEC_REQUEST_CONTENT_TYPE },
      ...(signal ? { signal } : {}),
    });
    request.write(encodeFrame(STREAM.request, JSON.stringify(req)));
    if (io.framed) {
      io.control?.({
        resize: (size) => void (request.writable && request.write(encodeFrame(STREAM.resize, JSON.stringify(size)))),
        signal: (sig) => void (request.writable && request.write(encodeFrame(STREAM.signal, JSON.stringify({ signal: sig })))),
      });
      // Framed input stays open for resizes even without stdin; the request's end is the stream's.
    }
    if (!io.stdin && !io.framed) request.end();
    else if (io.stdin) {
      const source = io.stdin instanceof Readable ? io.stdin : Readable.from(io.stdin);
      // Not pipeline(): the answer may end the exec before stdin does, and stdin (a
      // terminal, say) is the caller's to close.
      const onData = (chunk: Buffer) => {
        if (!request.write(io.framed ? encodeFrame(STREAM.request, chunk) : chunk)) {
          source.pause();
          request.once("drain", () => source.resume());
        }
      };
      // A stdin that cannot be read any more is closed (framed: an empty stdin frame says so; the request stays open for control frames).
      const onEnd = () => (io.framed ? void (request.writable && request.write(encodeFrame(STREAM.request, Buffer.alloc(0)))) : request.end());
      source.on("data", onData);
      source.once("end", onEnd);
      source.once("error", onEnd);
      request.once("close", () => {
        source.off("data", onData);
        source.off("end", onEnd);
        source.pause();
      });
    }
    let res: StreamAnswer;
    try {
      res = await answer;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw e.name === "AbortError" ? e : request.connected() ? unavailable(`${name}: ${e.message}`, { cause: e }) : this.unreachable(e);
    }
    try {
      if ((res.statusCode ?? 500) >= 400) return await this.fail(res);
      io.onAnswer?.();
      const decoder = new FrameDecoder("read exec stream");
      let exit: ExecExitStatus | undefined;
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          for (const f of decoder.push(chunk)) {
            if (f.id === STREAM.stdout) await io.stdout(f.payload);
            else if (f.id === STREAM.stderr) await io.stderr(f.payload);
            else if (f.id === STREAM.exit) exit = JSON.parse(f.payload.toString("utf8")) as ExecExitStatus;
            else if (f.id === STREAM.error) {
              const body = JSON.parse(f.payload.toString("utf8")) as ErrorBody;
              const kind = KINDS_OF_ERRORS.has(body.error?.kind) ? body.error.kind : "Internal";
              throw new BerthError(kind, body.error?.message ?? "exec failed", body.error?.object ? { object: body.error.object } : {});
            }
          }
        }
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (isBerthError(err) || (err as Error).name === "AbortError") throw err;
        throw unavailable(`${name}: the answer from ${this.socketPath} broke off: ${errorMessage(err)}`, { cause: err });
      }
      if (!exit && exitOptional) return undefined;
      if (!exit) throw unavailable(`${name}: the answer from ${this.socketPath} ended without an exit status`);
      return exit;
    } finally {
      res.destroy();
      request.destroy();
    }
  }
  act = (name: string, action: "stop" | "start" | "restart") => this.request<ObjectView>("POST", `/v1/containers/${encodeURIComponent(name)}/${action}`, {});

  listImages = async (options: { all?: boolean } = {}) => (await this.request<ImageList>("GET", options.all ? `${IMAGE_STORE_PATH}?all=true` : IMAGE_STORE_PATH)).items;
  inspectImages = (refs: string[]) => this.request<ImageRecord[]>("GET", `${IMAGE_STORE_PATH}/inspect?${query(refs.map((r) => ["ref", r]))}`);
  tagImage = (source: string, target: string) => this.request<ImageRecord>("POST", `${IMAGE_STORE_PATH}/tag`, { source, target });
  removeImage = (ref: string, o: { force?: boolean } = {}) =>
    this.request<ImageRemoveResponse>("DELETE", `${IMAGE_STORE_PATH}?${query([["ref", ref], ...(o.force ? ([["force", "true"]] as [string, string][]) : [])])}`);
  pruneImages = (o: { all?: boolean } = {}) => this.request<ImagePruneResponse>("POST", `${IMAGE_STORE_PATH}/prune`, o.all ? { all: true } : {});
  /** `docker load`: uploads a `docker save` archive or OCI layout tar. */
  loadImages = async (archive: UploadSource, signal?: AbortSignal) => (await this.upload<ImageLoadResponse>(`${IMAGE_STORE_PATH}/load`, archive, signal)).loaded;
  /** `docker import`: uploads a rootfs tarball; `changes` are `--change` instructions. */
  importImage = (rootfs: UploadSource, reference: string, changes: string[] = [], signal?: AbortSignal) =>
    this.upload<ImageRecord>(`${IMAGE_STORE_PATH}/import?${query([["reference", reference], ...changes.map((c): [string, string] => ["change", c])])}`, rootfs, signal);

  /**
   * `docker save`: downloads the archive of `refs` into `sink`; returns its size. A file
   * appears whole or not at all; a stream may have received part of an archive when this
   * throws (a transfer cut short is an error, never a silent short archive).
   */
  saveImages(refs: string[], sink: DownloadSink, signal?: AbortSignal): Promise<number> {
    return this.download(`${IMAGE_STORE_PATH}/save?${query(refs.map((r) => ["ref", r]))}`, sink, "save images", signal);
  }

  /**
   * `docker build`: the build's events as the daemon streams them, ending with `done` or
   * `error` (an answer that ends without either broke off). Aborting `signal` closes the
   * connection, which aborts the build.
   */
  buildImage = (req: ImageBuildRequest, signal?: AbortSignal) => this.stream<ImageBuildEvent>(`${IMAGE_STORE_PATH}/build`, signal, req);
  /** `docker pull`: progress, `pulled` per image, or `error` last. */
  pullImage = (req: ImagePullRequest, signal?: AbortSignal) => this.stream<ImageTransferEvent>(`${IMAGE_STORE_PATH}/pull`, signal, req);
  /** `docker push`: progress, then `pushed` or `error`. */
  pushImage = (req: ImagePushRequest, signal?: AbortSignal) => this.stream<ImageTransferEvent>(`${IMAGE_STORE_PATH}/push`, signal, req);
  /** The password travels in the body over the socket only. */
  listVolumeStore = async () => (await this.request<VolumeStoreList>("GET", "/v1/volume-store")).items;
  removeVolume = (name: string, o: { force?: boolean } = {}) => this.request<StoreRemoveResponse>("DELETE", `/v1/volume-store/${encodeURIComponent(name)}${o.force ? "?force=true" : ""}`);
  listNetworkStore = async () => (await this.request<NetworkStoreList>("GET", "/v1/network-store")).items;
  removeNetwork = (name: string) => this.request<StoreRemoveResponse>("DELETE", `/v1/network-store/${encodeURIComponent(name)}`);
  login = (req: RegistryLoginRequest) => this.request<RegistryLoginResponse>("POST", "/v1/registry/login", req);
  logout = (req: RegistryLogoutRequest) => this.request<RegistryLogoutResponse>("POST", "/v1/registry/logout", req);

  /** `docker history` of one image, newest first. */
  imageHistory = (ref: string) => this.request<ImageHistory>("GET", `${IMAGE_STORE_PATH}/history?${query([["ref", ref]])}`);

  /** `docker top`: ps options as one string, split by the daemon as Docker's ps_args. */
  top = (name: string, psArgs?: string) =>
    this.request<ContainerTop>("GET", `/v1/containers/${encodeURIComponent(name)}/top${psArgs ? `?${query([["psArgs", psArgs]])}` : ""}`);
  /** `docker inspect` of a container (moby's ContainerJSON, the fields berth has). */
  inspect = (name: string) => this.request<ContainerInspect>("GET", `/v1/containers/${encodeURIComponent(name)}/inspect`);
  /** `docker info`; `usage: false` skips measuring disk use. */
  info = (o: { usage?: boolean } = {}) => this.request<SystemInfo>("GET", `/v1/info${o.usage === false ? "?usage=false" : ""}`);
  /** One stats frame (taking one interval), or with `stream` NDJSON frames until `signal` aborts or `count` frames came. */
  private statsPath = (names: string[], o: { all?: boolean; stream?: boolean; count?: number; intervalMs?: number }) => {
    const p: [string, string][] = names.map((n) => ["name", n]);
    if (o.all) p.push(["all", "true"]);
    if (o.stream) p.push(["stream", "true"]);
    if (o.count !== undefined) p.push(["count", String(o.count)]);
    if (o.intervalMs !== undefined) p.push(["intervalMs", String(o.intervalMs)]);
    return `/v1/stats${p.length ? `?${query(p)}` : ""}`;
  };
  stats = (names: string[], o: { all?: boolean; intervalMs?: number } = {}) => this.request<ContainerStatsFrame>("GET", this.statsPath(names, o));
  statsStream = (names: string[], o: { all?: boolean; count?: number; intervalMs?: number } = {}, signal?: AbortSignal) =>
    this.stream<ContainerStatsFrame>(this.statsPath(names, { ...o, stream: true }), signal);

  /** `docker diff`: the container's changes to its image, sorted by path. */
  changes = async (name: string) => (await this.request<ContainerChanges>("GET", `/v1/containers/${encodeURIComponent(name)}/changes`)).items;
  /** `docker commit`: the new image. */
  commit = (name: string, req: ContainerCommitRequest) => this.request<ImageRecord>("POST", `/v1/containers/${encodeURIComponent(name)}/commit`, req);
  /**
   * `docker export`: downloads the tar of the container's filesystem into `sink` (as
   * saveImages does: a file whole or not at all; a transfer cut short is an error); returns
   * its size.
   */
  exportContainer(name: string, sink: DownloadSink, signal?: AbortSignal): Promise<number> {
    return this.download(`/v1/containers/${encodeURIComponent(name)}/export`, sink, `export container ${name}`, signal);
  }

  /** `docker cp`: the stat of a path in the container (NotFound when absent). */
  statContainerPath = (name: string, path: string) =>
    this.request<ContainerPathStat>("GET", `/v1/containers/${encodeURIComponent(name)}/archive?${query([["path", path], ["stat", "true"]])}`);

  /**
   * `docker cp` from the container: the stat of the path (from the answer's header) and its
   * tar as a stream. The stream errors when the answer was cut (the server destroys the
   * connection on a failure after the tar began), so a short tar is never taken for a whole one.
   */
  async archiveContainerPath(name: string, path: string, signal?: AbortSignal): Promise<{ stat: ContainerPathStat; tar: AsyncIterable<Buffer> }> {
    const res = await this.open("GET", `/v1/containers/${encodeURIComponent(name)}/archive?${query([["path", path]])}`, undefined, signal);
    if ((res.statusCode ?? 500) >= 400) return this.fail(res);
    const header = res.headers[CONTAINER_PATH_STAT_HEADER];
    let stat: ContainerPathStat;
    try {
      stat = JSON.parse(Buffer.from(String(header), "base64").toString("utf8")) as ContainerPathStat;
    } catch (err) {
      res.destroy();
      throw unavailable(`copy from ${name}:${path}: the answer has no valid ${CONTAINER_PATH_STAT_HEADER} header`, { cause: err });
    }
    const what = `copy from ${name}:${path}`;
    const socketPath = this.socketPath;
    async function* tar(): AsyncGenerator<Buffer> {
      let n = 0;
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          n += chunk.length;
          yield chunk;
        }
        if (!res.complete) throw new Error("the connection closed before the end");
      } catch (err) {
        if ((err as Error).name === "AbortError") throw err;
        throw unavailable(`${what}: the transfer from ${socketPath} broke off after ${n} bytes: ${errorMessage(err)}`, { cause: err });
      } finally {
        res.destroy();
      }
    }
    return { stat, tar: tar() };
  }

  /** `docker cp` into the container: uploads a tar to be extracted into the directory `path`. */
  extractToContainer = (name: string, path: string, tar: UploadSource, options: { copyUIDGID?: boolean } = {}, signal?: AbortSignal) =>
    this.upload<ContainerArchivePutResponse>(
      `/v1/containers/${encodeURIComponent(name)}/archive?${query([["path", path], ...(options.copyUIDGID ? ([["copyUIDGID", "true"]] as [string, string][]) : [])])}`,
      tar,
      signal,
      "PUT",
    );

  /**
   * GETs `route` and copies the answer's body into `sink`; returns its size. A body shorter
   * than its content-length, or cut off (a chunked answer whose connection the server
   * destroyed), is Unavailable; a file sink is written to a temp file beside it and renamed
   * only when the whole body arrived.
   */
  private async download(route: string, sink: DownloadSink, what: string, signal?: AbortSignal): Promise<number> {
    const res = await this.open("GET", route, undefined, signal);
    if ((res.statusCode ?? 500) >= 400) return this.fail(res);
    const expected = Number(res.headers["content-length"] ?? NaN);
    let n = 0;
    const copy = async (write: (chunk: Buffer) => Promise<unknown>) => {
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          n += chunk.length;
          await write(chunk);
        }
        // a chunked answer cut off ends without its last chunk: Node marks it incomplete
        if (!res.complete) throw new Error("the connection closed before the end");
      } catch (err) {
        if ((err as Error).name === "AbortError") throw err;
        throw unavailable(`${what}: the transfer from ${this.socketPath} broke off after ${n} bytes: ${errorMessage(err)}`, { cause: err });
      }
      if (Number.isFinite(expected) && n !== expected) throw unavailable(`${what}: the transfer ended after ${n} of ${expected} bytes`);
    };
    if ("stream" in sink) {
      const out = sink.stream;
      await copy((chunk) => (out.write(chunk) ? Promise.resolve() : new Promise((resolve) => out.once("drain", resolve))));
      return n;
    }
    const file = path.resolve(sink.file);
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${(await import("node:crypto")).randomBytes(6).toString("hex")}.tmp`);
    const fh = await fs.open(tmp, "wx", 0o644);
    try {
      await copy((chunk) => fh.write(chunk));
      await fh.sync();
      await fh.close();
      await fs.rename(tmp, file);
    } catch (err) {
      res.destroy();
      await fh.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return n;
  }

  /**
   * POSTs `source` as a raw tar body and returns the JSON answer. The source is read only once
   * the connection stands, so when no daemon listens (isNoDaemon) it is untouched and can be
   * used otherwise. A server that answers before the body is complete (an error: too large,
   * a bad reference) is heard: sending stops and its error is thrown.
   */
  private async upload<T>(route: string, source: UploadSource, signal?: AbortSignal, method: "POST" | "PUT" = "POST"): Promise<T> {
    let size: number | undefined;
    if (typeof source === "string") {
      const st = await fs.stat(source).catch((err: NodeJS.ErrnoException) => {
        throw (err.code === "ENOENT" ? notFound : invalidArgument)(`read ${source}: ${err.message}`, { cause: err });
      });
      if (!st.isFile()) throw invalidArgument(`read ${source}: not a regular file`);
      size = st.size;
    }
    const http = await httpModule();
    const { req, res } = await new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
      let connected = false;
      let answered = false;
      const req = http.request({
        socketPath: this.socketPath,
        method,
        path: route,
        agent: false,
        headers: { "content-type": TAR_CONTENT_TYPE, ...(size !== undefined ? { "content-length": size } : {}) },
        ...(signal ? { signal } : {}),
      });
      const failed = (err: NodeJS.ErrnoException) => {
        if (answered) return;
        if (err.name === "AbortError" || isBerthError(err)) reject(err);
        else if (!connected) reject(this.unreachable(err));
        else reject(unavailable(`upload to ${this.socketPath}: ${err.message}`, { cause: err }));
      };
      req.on("response", (res) => {
        answered = true;
        resolve({ req, res });
      });
      req.on("error", failed);
      req.on("socket", (sock) => {
        const send = () => {
          connected = true;
          const body = typeof source === "string" ? createReadStream(source, { highWaterMark: 1 << 20 }) : source instanceof Readable ? source : Readable.from(source);
          body.once("error", (err: NodeJS.ErrnoException) =>
            failed(isBerthError(err) ? err : invalidArgument(`read ${typeof source === "string" ? source : "input"}: ${err.message}`, { cause: err })),
          );
          pipeline(body, req).catch(() => {
            /* reported through the streams' error events, or the answer */
          });
        };
        if (sock.connecting) sock.once("connect", send);
        else send();
      });
    });
    try {
      if ((res.statusCode ?? 500) >= 400) return await this.fail(res);
      let text = "";
      for await (const chunk of res) text += chunk;
      return JSON.parse(text) as T;
    } finally {
      req.destroy();
    }
  }
}
