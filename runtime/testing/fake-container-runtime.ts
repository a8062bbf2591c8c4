import { createHash } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { systemClock, type Clock } from "../../lib/clock.js";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../../lib/errors.js";
import { normalizeSignal } from "../../lib/signals.js";
import { EventHub } from "../containers/events.js";
import { parseRfc3339 } from "../containers/k8s-log.js";
import { checkSpecWithImage, validateCreateSpec } from "../containers/create.js";
import { validateExecOptions } from "../containers/exec.js";
import { stateOf, type ContainerRecord } from "../containers/records.js";
import type {
  ContainerCreateSpec,
  ContainerRuntime,
  ContainerState,
  ExecExit,
  ExecOptions,
  ExecResult,
  ExecStream,
  ExecStreamOptions,
  ImageRecord,
  ImageStore,
  LogLine,
  LogOptions,
  RuntimeEvent,
  StartOptions,
  Attachment,
  AttachOptions,
  StopOptions,
} from "../types.js";
import type { LocalVolumeStore } from "../volumes/types.js";
import { CallLog, type FakeCall } from "./call-log.js";
import { FakeHost, type FakeExecHandler, type FakeStartHandler, type FakeStopBehavior, type HostContainer, type Run } from "./fake-host.js";

/**
 * (Over 400 lines on purpose: one class mirrors the whole ContainerRuntime interface, which
 * the real runtime spreads over ten files; the simulated host and process model are apart
 * in fake-host.ts.)
 *
 * An in-memory ContainerRuntime that behaves like ConmonRuncRuntime (runtime/containers/)
 * — both pass runtime/conformance/container-runtime-suite.ts — driven by an injected Clock
 * (a ManualClock in unit tests: nothing here sleeps for real).
 *
 * Contracts kept from the real runtime:
 * - ids are 64 hex characters (deterministic here); names are unique (AlreadyExists);
 *   containers resolve by id, name or a unique id prefix of 12+ characters (NotFound);
 * - create validates like the real one (InvalidArgument: name, labels, stop signal, mounts,
 *   no command, resources…), resolves the image through `images` (NotFound) and acquires
 *   named volumes on `volumes`; nothing runs;
 * - start of created or exited: a new pid, `startedAt`, exit facts cleared, `started`
 *   event; no-op when running. Named volumes must still exist (`volumes.use`);
 * - stop: the stop signal (option, spec, image, SIGTERM), then SIGKILL once the grace
 *   period (option, spec, 10s) passed on the clock; resolves with the exited state; no-op
 *   when not running. `options.signal` aborts the wait (rejects with its reason, SIGKILL is
 *   abandoned);
 * - kill: InvalidArgument for a bad signal, FailedPrecondition unless running; remove:
 *   FailedPrecondition while running unless force (SIGKILL first), force ignores NotFound;
 * - a signal ends the process with 128+n unless its stop behaviour says otherwise (below);
 *   SIGKILL always ends it (137). Exits publish `exited`, removals `removed`;
 * - exec: FailedPrecondition unless running, InvalidArgument for an empty argv, bad env or a
 *   relative workingDir; a timeout or abort resolves with exit code 137 (`timedOut` on
 *   timeout), as does the container ending first; output capped at `maxOutputBytes`;
 * - logs: tail, since, follow (ends once the container is not running or the signal
 *   aborts; also when this instance closes);
 * - every method but `events` rejects FailedPrecondition after `close()`.
 * Not modelled: the rootfs (users, bind sources, working dirs are not checked at start),
 * networking, resources, OOM (use `exit(…, {oomKilled: true})`), log rotation. The host
 * (records, processes, logs) that instances share is fake-host.ts.
 *
 * Test control surface (acts on the simulated host, also while no instance is open):
 * - `exit(idOrName, code, {oomKilled})`: the process ends by itself;
 * - `appendLog(idOrName, text, {stream})`: the container writes lines;
 * - `setStopBehavior(idOrName, "exit-on-signal" | "ignore-term")`: with ignore-term every
 *   signal but SIGKILL is ignored (a shell as pid 1 without a trap), so stop takes the whole
 *   grace period — advance the ManualClock;
 * - `onStart(handler)`: called with a FakeProcess at every start (log, exit, timers on the
 *   clock, a signal handler) to program what a container does; `onExec(handler)`: the result
 *   of every exec (default exit 0, no output);
 * - `failNext(method, error, {times})`, `calls`: fault injection and the call log of this
 *   instance (call-log.ts);
 * - `reopen()` (alias `restartDaemon()`): closes this instance and returns a new one on the
 *   same host — containers keep running with the same pids; exits that happened while no
 *   instance was open are then reported as the real adoption does (exited, exit code,
 *   finishedAt of the exit, no reason, no event);
 * - `wipeHost()`: a reboot — closes this instance, every process is gone, and the returned
 *   new instance reports containers that were running as exited 255 with REBOOT_REASON;
 * - `usesImage(digest)`: whether a container was created from the image (FakeImageStore's
 *   `inUse`); `specOf(name)`: its create spec.
 */

export type { FakeExecHandler, FakeExecReply, FakeProcess, FakeStartHandler, FakeStopBehavior } from "./fake-host.js";

export type FakeContainerMethod = "create" | "start" | "stop" | "kill" | "remove" | "inspect" | "list" | "exec" | "execStream" | "attach" | "logs" | "events" | "close";

/** A streamed exec's stdio as an `onExecStream` handler sees it. */
export interface FakeExecIo {
  /** What the caller sends (ends at once when it sent none). */
  stdin: AsyncIterable<Uint8Array>;
  /** Writes bytes (or a string as UTF-8); resolves once the reader took them (backpressure), at once after a kill. */
  stdout(data: Uint8Array | string): Promise<void>;
  stderr(data: Uint8Array | string): Promise<void>;
}

/** How a streamed exec ends: its exit code (default 0), or `startError` for a command that cannot be started (with 127 or 126). */
export interface FakeExecStreamReply {
  exitCode?: number;
  startError?: string;
}

export type FakeExecStreamHandler = (container: ContainerState, options: ExecStreamOptions, io: FakeExecIo) => FakeExecStreamReply | Promise<FakeExecStreamReply>;

/** `onExecStream` handlers, host-wide like the host's own handlers (kept by `reopen`). */
const execStreamHandlers = new WeakMap<FakeHost, FakeExecStreamHandler>();

export interface FakeContainerRuntimeOptions {
  /** Default: the system clock. Unit tests pass a ManualClock. */
  clock?: Clock;
  /** Resolves `spec.image` (NotFound when absent). Default: any valid reference resolves to a synthetic image with Cmd ["sh"]. */
  images?: ImageStore;
  /** Named volumes are acquired at create and released at remove, as by the real runtime. */
  volumes?: LocalVolumeStore;
  /** Default 10_000, as the real runtime. */
  defaultStopGraceMs?: number;
  /** Default 1 MiB, as the real runtime. */
  execMaxOutputBytes?: number;
}

/** Set by `reopen` / `wipeHost` for the constructor of the next instance. */
let adopting: FakeHost | undefined;

export class FakeContainerRuntime implements ContainerRuntime {
  readonly clock: Clock;
  private readonly host: FakeHost;
  private readonly hub = new EventHub();
  /** Ids whose start is in its beforeRun hook (attach may connect). */
  private readonly beforeRun = new Set<string>();
  private readonly log: CallLog<FakeContainerMethod>;
  private closed = false;

  constructor(private readonly options: FakeContainerRuntimeOptions = {}) {
    this.host = adopting ?? new FakeHost(options.clock ?? systemClock);
    adopting = undefined;
    this.clock = this.host.clock;
    this.log = new CallLog(() => this.clock.now());
    // Adoption: exits that happened while no instance was open are recorded now. Their
    // `exited` events have no subscriber yet (as in the real runtime).
    for (const c of this.host.containers.values()) {
      const p = c.pendingExit;
      if (!p) continue;
      delete c.pendingExit;
      this.applyExit(c, p.code, p.oomKilled, p.at);
    }
    this.host.open = { runtime: this, recordExit: (c, code, oomKilled, at) => this.recordExit(c, code, oomKilled, at) };
  }

  // ------------------------------------------------------------------ test control

  /** Every ContainerRuntime call of this instance, in order. */
  get calls(): readonly FakeCall<FakeContainerMethod>[] {
    return this.log.calls;
  }

  failNext(method: FakeContainerMethod, error: unknown, options: { times?: number } = {}): void {
    this.log.failNext(method, error, options);
  }

  /** The process of a running container ends by itself with `code`. FailedPrecondition unless running. */
  exit(idOrName: string, code: number, options: { oomKilled?: boolean } = {}): void {
    const c = this.host.mustFind(idOrName, "exit");
    if (!c.run) throw failedPrecondition(`exit container ${c.rec.name}: not running`);
    this.host.endRun(c, code, !!options.oomKilled);
  }

  /** The container writes `text` (one line per "\n"-separated part). */
  appendLog(idOrName: string, text: string, options: { stream?: "stdout" | "stderr" } = {}): void {
    this.host.appendLog(this.host.mustFind(idOrName, "log to"), text, options.stream ?? "stdout");
  }

  /** How the container's process answers signals other than SIGKILL, from now on (kept across restarts). */
  setStopBehavior(idOrName: string, behavior: FakeStopBehavior): void {
    this.host.mustFind(idOrName, "configure").stopBehavior = behavior;
  }

  /** Programs every start (host-wide, kept by `reopen`). Replaces an earlier handler. */
  onStart(handler: FakeStartHandler | undefined): void {
    this.host.startHandler = handler;
  }

  /** Answers every exec (host-wide, kept by `reopen`). Default: exit 0, no output. */
  onExec(handler: FakeExecHandler | undefined): void {
    this.host.execHandler = handler;
  }

  /**
   * Programs every streamed exec (host-wide, kept by `reopen`). Default: the `onExec`
   * handler's reply, its stdout and stderr written as UTF-8.
   */
  onExecStream(handler: FakeExecStreamHandler | undefined): void {
    if (handler) execStreamHandlers.set(this.host, handler);
    else execStreamHandlers.delete(this.host);
  }

  /** The create spec of a container (as the runtime recorded it). */
  specOf(idOrName: string): ContainerCreateSpec {
    return structuredClone(this.host.mustFind(idOrName, "inspect").rec.spec);
  }

  /** True while a container (in any state) created from image `digest` exists. */
  usesImage(digest: string): boolean {
    return [...this.host.containers.values()].some((c) => c.rec.imageDigest === digest);
  }

  /** Closes this instance (containers keep running) and opens a new one on the same host. */
  async reopen(): Promise<FakeContainerRuntime> {
    await this.host.open?.runtime.close();
    adopting = this.host;
    return new FakeContainerRuntime(this.options);
  }

  /** Same as `reopen`: the daemon restarts, containers survive. */
  restartDaemon(): Promise<FakeContainerRuntime> {
    return this.reopen();
  }

  /** A reboot: closes this instance, ends every process, and opens the instance of the next boot. */
  async wipeHost(): Promise<FakeContainerRuntime> {
    await this.host.open?.runtime.close();
    this.host.reboot();
    adopting = this.host;
    return new FakeContainerRuntime(this.options);
  }

  // ------------------------------------------------------------------ ContainerRuntime

  async create(spec: ContainerCreateSpec): Promise<ContainerState> {
    this.enter("create", [spec]);
    validateCreateSpec(spec);
    if (this.host.names.has(spec.name)) {
      throw alreadyExists(`create container ${spec.name}: the name is in use`, { object: { kind: "container", name: spec.name } });
    }
    const image = await this.resolveImage(spec.image);
    const id = createHash("sha256").update(`berth-fake-container:${this.host.nextId++}`).digest("hex");
    checkSpecWithImage(spec, image.config, id, `/berth/${id}`);
    // The image lookup is asynchronous: the name may have been taken meanwhile.
    if (this.host.names.has(spec.name)) {
      throw alreadyExists(`create container ${spec.name}: the name is in use`, { object: { kind: "container", name: spec.name } });
    }
    const volumes = [...new Set(spec.mounts.flatMap((m) => (m.type === "volume" ? [m.source] : [])))];
    this.host.names.set(spec.name, id);
    try {
      for (const v of volumes) {
        if (!this.options.volumes) throw failedPrecondition(`create container ${spec.name}: volume ${v} needs a volume store`);
        await this.options.volumes.acquire(v, id);
      }
    } catch (err) {
      for (const v of volumes) await this.options.volumes?.release(v, id).catch(() => {});
      this.host.names.delete(spec.name);
      throw err;
    }
    const rec: ContainerRecord = {
      version: 1,
      id,
      name: spec.name,
      spec: structuredClone(spec),
      imageDigest: image.digest,
      imageConfig: structuredClone(image.config),
      chainIds: [...image.chainIds],
      cgroupsPath: `/berth/${id}`,
      createdAt: new Date(this.clock.now()).toISOString(),
      status: "created",
      oomKilled: false,
      volumes,
    };
    this.host.containers.set(id, { rec, logs: [], stopBehavior: "exit-on-signal" });
    return stateOf(rec);
  }

  async start(idOrName: string, options: StartOptions = {}): Promise<ContainerState> {
    this.enter("start", [idOrName]);
    const c = this.host.mustFind(idOrName, "start");
    if (c.rec.status === "running") return stateOf(c.rec);
    for (const m of c.rec.spec.mounts) {
      if (m.type !== "volume") continue;
      if (!this.options.volumes) throw failedPrecondition(`start container ${c.rec.name}: volume ${m.source} needs a volume store`);
      await this.options.volumes.use(m.source);
    }
    // The process exists, not yet running (the real runtime's `runc create` done): the hook's
    // time, its failure only logged there.
    if (options.beforeRun) {
      this.beforeRun.add(c.rec.id);
      await options.beforeRun().catch(() => {});
      this.beforeRun.delete(c.rec.id);
    }
    // The volume lookups and the hook are asynchronous: look again.
    this.assertOpen();
    if (this.host.mustFind(c.rec.id, "start").rec.status === "running") return stateOf(c.rec);
    const run: Run = { pid: this.host.nextPid++, ended: false, timers: new Set(), onEnd: new Set() };
    c.run = run;
    const rec = c.rec;
    rec.status = "running";
    rec.pid = run.pid;
    rec.startedAt = new Date(this.clock.now()).toISOString();
    rec.oomKilled = false;
    delete rec.exitCode;
    delete rec.finishedAt;
    delete rec.reason;
    const state = stateOf(rec);
    this.hub.publish({ type: "started", id: rec.id, name: rec.name, pid: run.pid, at: rec.startedAt });
    this.host.startHandler?.(this.host.processOf(c, run));
    return state;
  }

  /**
   * `attach`: what the process writes from now on (its log lines, each with its "\n"), ended
   * with the run; FailedPrecondition unless running or in its start's beforeRun. Stdin and
   * resizes go nowhere.
   */
  async attach(idOrName: string, _options: AttachOptions = {}): Promise<Attachment> {
    this.enter("attach", [idOrName]);
    const c = this.host.mustFind(idOrName, "attach to");
    if (c.rec.status !== "running" && !this.beforeRun.has(c.rec.id)) throw failedPrecondition(`attach to container ${c.rec.name}: not running`);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let settle!: (v: { exited: boolean }) => void;
    const ended = new Promise<{ exited: boolean }>((r) => (settle = r));
    const client = {
      write: (text: string, stream: "stdout" | "stderr") => void (stream === "stdout" ? stdout : stderr).write(text),
      end: () => {
        stdout.end();
        stderr.end();
        settle({ exited: true });
      },
    };
    (c.attached ??= new Set()).add(client);
    return {
      tty: c.rec.spec.tty === true,
      stdin: c.rec.spec.stdin === true,
      stdout,
      stderr,
      resize: async () => {},
      detach: () => {
        c.attached?.delete(client);
        stdout.end();
        stderr.end();
        settle({ exited: false });
      },
      ended,
    };
  }

  async stop(idOrName: string, options: StopOptions = {}): Promise<ContainerState> {
    this.enter("stop", [idOrName, options]);
    const c = this.host.mustFind(idOrName, "stop");
    const run = c.run;
    if (c.rec.status !== "running" || !run) return stateOf(c.rec);
    let sig: string;
    if (options.stopSignal !== undefined) {
      const s = normalizeSignal(options.stopSignal);
      if (!s) throw invalidArgument(`stop container ${c.rec.name}: invalid signal ${JSON.stringify(options.stopSignal)}`);
      sig = s;
    } else {
      sig = normalizeSignal(c.rec.spec.stopSignal ?? c.rec.imageConfig.StopSignal ?? "SIGTERM") ?? "SIGTERM";
    }
    options.signal?.throwIfAborted();
    const grace = options.graceMs ?? c.rec.spec.stopGracePeriodMs ?? this.options.defaultStopGraceMs ?? 10_000;
    if (sig !== "SIGKILL" && grace > 0) {
      this.host.deliver(c, sig);
      if (await this.host.waitEnded(run, grace, options.signal)) return stateOf(this.host.mustFind(c.rec.id, "stop").rec);
    }
    options.signal?.throwIfAborted();
    this.host.deliver(c, "SIGKILL");
    return stateOf(this.host.mustFind(c.rec.id, "stop").rec);
  }

  async kill(idOrName: string, signal: string): Promise<void> {
    this.enter("kill", [idOrName, signal]);
    const c = this.host.mustFind(idOrName, "kill");
    const sig = normalizeSignal(signal);
    if (!sig) throw invalidArgument(`kill container ${idOrName}: invalid signal ${JSON.stringify(signal)}`);
    if (c.rec.status !== "running") throw failedPrecondition(`kill container ${c.rec.name}: not running`, { object: { kind: "container", name: c.rec.name } });
    this.host.deliver(c, sig);
  }

  async remove(idOrName: string, options: { force?: boolean } = {}): Promise<void> {
    this.enter("remove", [idOrName, options]);
    const c = this.host.find(idOrName);
    if (!c) {
      if (options.force) return;
      throw notFound(`remove container ${idOrName}: not found`, { object: { kind: "container", name: String(idOrName) } });
    }
    if (c.rec.status === "running") {
      if (!options.force) {
        throw failedPrecondition(`remove container ${c.rec.name}: running (stop it first, or force)`, { object: { kind: "container", name: c.rec.name } });
      }
      this.host.deliver(c, "SIGKILL");
    }
    const { id, name } = c.rec;
    if (!this.host.containers.has(id)) return;
    this.host.containers.delete(id);
    if (this.host.names.get(name) === id) this.host.names.delete(name);
    for (const v of c.rec.volumes) await this.options.volumes?.release(v, id);
    this.hub.publish({ type: "removed", id, name, at: new Date(this.clock.now()).toISOString() });
    this.host.notify();
  }

  async inspect(idOrName: string): Promise<ContainerState> {
    this.enter("inspect", [idOrName]);
    return stateOf(this.host.mustFind(idOrName, "inspect").rec);
  }

  async list(labels?: Record<string, string>): Promise<ContainerState[]> {
    this.enter("list", [labels]);
    return [...this.host.containers.values()]
      .filter((c) => !labels || Object.entries(labels).every(([k, v]) => c.rec.spec.labels[k] === v))
      .map((c) => stateOf(c.rec))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  async exec(idOrName: string, options: ExecOptions): Promise<ExecResult> {
    this.enter("exec", [idOrName, options]);
    const c = this.host.mustFind(idOrName, "exec");
    const name = c.rec.name;
    validateExecOptions(name, c.rec.status === "running" && c.run !== undefined, options);
    const run = c.run!; // a running container has a run
    const killed = (timedOut: boolean): ExecResult => ({ exitCode: 137, stdout: "", stderr: "", timedOut });
    const handler: FakeExecHandler = this.host.execHandler ?? (() => ({ exitCode: 0 }));
    return new Promise<ExecResult>((resolve, reject) => {
      let done = false;
      const cleanups: (() => void)[] = [];
      const finish = (r: ExecResult | Error, ok = true) => {
        if (done) return;
        done = true;
        for (const f of cleanups) f();
        if (ok) resolve(r as ExecResult);
        else reject(r);
      };
      if (options.timeoutMs !== undefined) cleanups.push(this.clock.setTimer(options.timeoutMs, () => finish(killed(true))));
      if (options.signal) {
        const onAbort = () => finish(killed(false));
        if (options.signal.aborted) return finish(killed(false));
        options.signal.addEventListener("abort", onAbort, { once: true });
        cleanups.push(() => options.signal!.removeEventListener("abort", onAbort));
      }
      const onEnd = () => finish(killed(false));
      run.onEnd.add(onEnd);
      cleanups.push(() => run.onEnd.delete(onEnd));
      const cap = options.maxOutputBytes ?? this.options.execMaxOutputBytes ?? 1024 * 1024;
      Promise.resolve()
        .then(() => handler(stateOf(c.rec), options))
        .then(
          (r) => finish({ exitCode: r.exitCode ?? 0, stdout: capBytes(r.stdout ?? "", cap), stderr: capBytes(r.stderr ?? "", cap), timedOut: false }),
          (err: Error) => finish(err, false),
        );
    });
  }

  /**
   * As the real runtime's: the handler acts as the process (FakeExecIo); a timeout, an abort
   * or the container's end kills it — both streams end, exit code 137 (`timedOut` on
   * timeout) — and whatever the handler still does is dropped. `exit` resolves once the
   * handler returned (or the kill) and both streams were ended.
   */
  async execStream(idOrName: string, options: ExecStreamOptions): Promise<ExecStream> {
    this.enter("execStream", [idOrName, options]);
    const c = this.host.mustFind(idOrName, "exec");
    const name = c.rec.name;
    validateExecOptions(name, c.rec.status === "running" && c.run !== undefined, options);
    const run = c.run!; // a running container has a run
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let ended = false;
    let settle: (e: ExecExit) => void = () => {};
    const exit = new Promise<ExecExit>((resolve) => (settle = resolve));
    const cleanups: (() => void)[] = [];
    const wakeWriters = new Set<() => void>();
    const end = (e: ExecExit) => {
      if (ended) return;
      ended = true;
      for (const f of cleanups) f();
      for (const w of [...wakeWriters]) w();
      stdout.end();
      stderr.end();
      settle(e);
    };
    const writer = (stream: PassThrough) => (data: Uint8Array | string) =>
      new Promise<void>((resolve) => {
        if (ended) return resolve();
        if (stream.write(typeof data === "string" ? Buffer.from(data, "utf8") : data)) return resolve();
        const wake = () => {
          wakeWriters.delete(wake);
          stream.off("drain", wake);
          resolve();
        };
        wakeWriters.add(wake);
        stream.once("drain", wake);
      });
    const killed = (timedOut: boolean) => end({ exitCode: 137, timedOut });
    if (options.timeoutMs !== undefined) cleanups.push(this.clock.setTimer(options.timeoutMs, () => killed(true)));
    if (options.signal) {
      const onAbort = () => killed(false);
      options.signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => options.signal!.removeEventListener("abort", onAbort));
    }
    const onEnd = () => killed(false);
    run.onEnd.add(onEnd);
    cleanups.push(() => run.onEnd.delete(onEnd));
    const io: FakeExecIo = {
      stdin: options.stdin ?? Readable.from([]),
      stdout: writer(stdout),
      stderr: writer(stderr),
    };
    const state = stateOf(c.rec);
    const streamHandler = execStreamHandlers.get(this.host);
    const execHandler: FakeExecHandler = this.host.execHandler ?? (() => ({ exitCode: 0 }));
    const act = async (): Promise<FakeExecStreamReply> => {
      if (streamHandler) return streamHandler(state, options, io);
      const { stdin: _stdin, ...rest } = options;
      const r = await execHandler(state, rest);
      if (r.stdout) await io.stdout(r.stdout);
      if (r.stderr) await io.stderr(r.stderr);
      return { exitCode: r.exitCode ?? 0 };
    };
    if (options.signal?.aborted) killed(false);
    else {
      Promise.resolve()
        .then(act)
        .then(
          (r) => end({ exitCode: r.exitCode ?? 0, timedOut: false, ...(r.startError ? { startError: r.startError } : {}) }),
          (err: unknown) => {
            // A handler that throws is a process that could not run.
            end({ exitCode: 126, timedOut: false, startError: `exec: ${err instanceof Error ? err.message : String(err)}` });
          },
        );
    }
    return { stdout, stderr, exit };
  }

  logs(idOrName: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    let failure: { error: unknown } | undefined;
    try {
      this.enter("logs", [idOrName, options]);
    } catch (error) {
      failure = { error };
    }
    return this.readLogs(idOrName, options, failure);
  }

  events(signal?: AbortSignal): AsyncIterable<RuntimeEvent> {
    let failure: { error: unknown } | undefined;
    try {
      this.log.enter("events", [signal]);
    } catch (error) {
      failure = { error };
    }
    if (!failure) return this.hub.subscribe(signal);
    return (async function* (): AsyncGenerator<RuntimeEvent> {
      throw failure.error;
    })();
  }

  async close(): Promise<void> {
    this.log.enter("close", []);
    this.closed = true;
    this.hub.close();
    if (this.host.open?.runtime === this) this.host.open = undefined;
    this.host.notify();
  }

  // ------------------------------------------------------------------ internals

  private enter(method: FakeContainerMethod, args: unknown[]): void {
    this.log.enter(method, args);
    this.assertOpen();
  }

  private assertOpen(): void {
    if (this.closed) throw failedPrecondition("container runtime: closed");
  }

  private async resolveImage(ref: string): Promise<Pick<ImageRecord, "digest" | "config" | "chainIds">> {
    if (this.options.images) return this.options.images.get(ref);
    if (typeof ref !== "string" || ref === "") throw invalidArgument(`get image ${JSON.stringify(ref)}: empty reference`);
    const digest = `sha256:${createHash("sha256").update(`berth-fake-image:${ref}`).digest("hex")}`;
    return { digest, config: { Cmd: ["sh"] }, chainIds: [digest] };
  }

  /** Records an exit (called by the host while this instance is open). */
  private recordExit(c: HostContainer, code: number, oomKilled: boolean, at: string): void {
    this.applyExit(c, code, oomKilled, at);
    this.hub.publish({ type: "exited", id: c.rec.id, name: c.rec.name, exitCode: code, oomKilled, at });
  }

  private applyExit(c: HostContainer, code: number, oomKilled: boolean, at: string): void {
    const rec = c.rec;
    rec.status = "exited";
    rec.exitCode = code;
    rec.oomKilled = oomKilled;
    rec.finishedAt = at;
    delete rec.pid;
    delete rec.reason;
  }

  private async *readLogs(idOrName: string, options: LogOptions, failure: { error: unknown } | undefined): AsyncGenerator<LogLine> {
    if (failure) throw failure.error;
    const c = this.host.mustFind(idOrName, "read logs of");
    const { since, tail, follow, signal } = options;
    const keep = (l: LogLine) => since === undefined || parseRfc3339(l.time) >= since;
    let first = c.logs.filter(keep);
    if (tail !== undefined) first = tail <= 0 ? [] : first.slice(-tail);
    let pos = c.logs.length;
    yield* first.map((l) => ({ ...l }));
    if (!follow) return;
    for (;;) {
      while (pos < c.logs.length) {
        const l = c.logs[pos++]!;
        if (keep(l)) yield { ...l };
      }
      if (signal?.aborted || this.closed || c.rec.status !== "running" || !this.host.containers.has(c.rec.id)) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.host.changed.delete(wake);
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.host.changed.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
  }
}

function capBytes(s: string, max: number): string {
  const b = Buffer.from(s, "utf8");
  return b.length <= max ? s : b.subarray(0, max).toString("utf8");
}
