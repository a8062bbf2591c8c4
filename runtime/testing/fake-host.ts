import type { Clock } from "../../lib/clock.js";
import { notFound } from "../../lib/errors.js";
import { ID_RE, isValidName } from "../../lib/names.js";
import { signalNumber } from "../../lib/signals.js";
import { REBOOT_REASON } from "../containers/adoption.js";
import type { ContainerRecord } from "../containers/records.js";
import type { ContainerCreateSpec, ContainerState, ExecOptions, LogLine } from "../types.js";
import type { FakeContainerRuntime } from "./fake-container-runtime.js";

/**
 * The simulated host under FakeContainerRuntime (fake-container-runtime.ts): what outlives
 * a runtime instance — container records, their processes ("runs"), logs, and the start and
 * exec handlers — and the process model: signals, exits, timers on the clock. An exit is
 * recorded by the open instance at once (and published), or, while none is open, kept as
 * conmon's exit file would be, for the next instance to adopt.
 */

export type FakeStopBehavior = "exit-on-signal" | "ignore-term";

/** One run of a container's process, as the `onStart` handler sees it. */
export interface FakeProcess {
  readonly id: string;
  readonly name: string;
  readonly pid: number;
  readonly spec: ContainerCreateSpec;
  /** False once this run ended (a later start is a new FakeProcess). */
  readonly running: boolean;
  /** Writes a line (or several, split at "\n") to the container's log. */
  log(text: string, stream?: "stdout" | "stderr"): void;
  /** Ends this run by itself; no-op when it already ended. */
  exit(code: number, options?: { oomKilled?: boolean }): void;
  /** Runs `fn` after `ms` on the clock, unless this run ended first. */
  after(ms: number, fn: () => void): void;
  /** Handles every signal but SIGKILL for this run (instead of the stop behaviour). */
  onSignal(handler: (signal: string) => void): void;
}

export type FakeStartHandler = (process: FakeProcess) => void;

export interface FakeExecReply {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}

export type FakeExecHandler = (container: ContainerState, options: ExecOptions) => FakeExecReply | Promise<FakeExecReply>;

/** Signals whose default action is to be ignored. */
const IGNORED_BY_DEFAULT = new Set(["SIGCHLD", "SIGCONT", "SIGURG", "SIGWINCH"]);

export interface Run {
  pid: number;
  ended: boolean;
  timers: Set<() => void>;
  onEnd: Set<() => void>;
  signalHandler?: (signal: string) => void;
}

export interface HostContainer {
  rec: ContainerRecord;
  logs: LogLine[];
  stopBehavior: FakeStopBehavior;
  run?: Run;
  /** The process ended while no instance was open: what conmon's exit file would say. */
  pendingExit?: { code: number; oomKilled: boolean; at: string };
  /** Attach clients connected (the fake's attach): each gets what is written from then on. */
  attached?: Set<FakeAttachClient>;
}

export interface FakeAttachClient {
  write(text: string, stream: "stdout" | "stderr"): void;
  /** The process ended. */
  end(): void;
}

/** What outlives a runtime instance: containers, processes, logs, the handlers. */
export class FakeHost {
  readonly containers = new Map<string, HostContainer>();
  readonly names = new Map<string, string>();
  /** Woken on any log line, exit, removal or close (log followers wait on it). */
  readonly changed = new Set<() => void>();
  nextPid = 4000;
  nextId = 0;
  /** The open instance and how it records an exit. */
  open: { runtime: FakeContainerRuntime; recordExit: (c: HostContainer, code: number, oomKilled: boolean, at: string) => void } | undefined;
  startHandler: FakeStartHandler | undefined;
  execHandler: FakeExecHandler | undefined;

  constructor(readonly clock: Clock) {}

  notify(): void {
    for (const wake of [...this.changed]) wake();
  }

  find(idOrName: string): HostContainer | undefined {
    if (typeof idOrName !== "string") return undefined;
    if (ID_RE.test(idOrName)) {
      const c = this.containers.get(idOrName);
      if (c) return c;
    }
    if (isValidName(idOrName)) {
      const id = this.names.get(idOrName);
      if (id) return this.containers.get(id);
    }
    if (/^[a-f0-9]{12,63}$/.test(idOrName)) {
      const hits = [...this.containers.values()].filter((c) => c.rec.id.startsWith(idOrName));
      if (hits.length === 1) return hits[0];
    }
    return undefined;
  }

  mustFind(idOrName: string, verb: string): HostContainer {
    const c = this.find(idOrName);
    if (!c) throw notFound(`${verb} container ${idOrName}: not found`, { object: { kind: "container", name: String(idOrName) } });
    return c;
  }

  /** Ends the current run; the open instance records the exit and publishes it, else it waits for the next open. */
  endRun(c: HostContainer, code: number, oomKilled = false): void {
    const run = c.run;
    if (!run || run.ended) return;
    run.ended = true;
    for (const cancel of run.timers) cancel();
    run.timers.clear();
    c.run = undefined;
    const at = new Date(this.clock.now()).toISOString();
    if (this.open) this.open.recordExit(c, code, oomKilled, at);
    else c.pendingExit = { code, oomKilled, at };
    for (const f of [...run.onEnd]) f();
    for (const a of [...(c.attached ?? [])]) a.end();
    c.attached?.clear();
    this.notify();
  }

  /** The container writes `text`, one line per "\n"-separated part. */
  appendLog(c: HostContainer, text: string, stream: "stdout" | "stderr"): void {
    const time = new Date(this.clock.now()).toISOString();
    for (const line of text.split("\n")) c.logs.push({ time, stream, full: true, text: line });
    for (const a of c.attached ?? []) a.write(`${text}\n`, stream);
    this.notify();
  }

  /** A reboot (no instance open): every run ends unrecorded; what was running is exited 255 with REBOOT_REASON. */
  reboot(): void {
    const now = new Date(this.clock.now()).toISOString();
    for (const c of this.containers.values()) {
      const run = c.run;
      if (run) {
        run.ended = true;
        for (const cancel of run.timers) cancel();
        c.run = undefined;
        for (const f of [...run.onEnd]) f();
      }
      delete c.pendingExit;
      if (c.rec.status !== "running") continue;
      c.rec.status = "exited";
      c.rec.exitCode = 255;
      c.rec.finishedAt = now;
      c.rec.reason = REBOOT_REASON;
      delete c.rec.pid;
    }
    this.notify();
  }

  /** Delivers a signal: SIGKILL ends the run (137); else the run's handler, or the stop behaviour (128+n unless ignored). */
  deliver(c: HostContainer, sig: string): void {
    const run = c.run;
    if (!run || run.ended) return;
    if (sig === "SIGKILL") return this.endRun(c, 137);
    if (run.signalHandler) return run.signalHandler(sig);
    if (c.stopBehavior === "ignore-term" || IGNORED_BY_DEFAULT.has(sig)) return;
    this.endRun(c, 128 + (signalNumber(sig) ?? Number(sig)));
  }

  /** True when `run` ends within `ms` on the clock; rejects with the signal's reason on abort. */
  waitEnded(run: Run, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (run.ended) return Promise.resolve(true);
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        cancelTimer();
        run.onEnd.delete(onEnd);
        signal?.removeEventListener("abort", onAbort);
      };
      const onEnd = () => {
        cleanup();
        resolve(true);
      };
      const onAbort = () => {
        cleanup();
        reject(signal!.reason);
      };
      const cancelTimer = this.clock.setTimer(ms, () => {
        cleanup();
        resolve(false);
      });
      run.onEnd.add(onEnd);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The FakeProcess handed to the start handler for `run`. */
  processOf(c: HostContainer, run: Run): FakeProcess {
    const host = this;
    const clock = this.clock;
    return {
      id: c.rec.id,
      name: c.rec.name,
      pid: run.pid,
      spec: structuredClone(c.rec.spec),
      get running() {
        return !run.ended;
      },
      log(text, stream = "stdout") {
        if (!run.ended) host.appendLog(c, text, stream);
      },
      exit(code, options = {}) {
        if (c.run === run) host.endRun(c, code, !!options.oomKilled);
      },
      after(ms, fn) {
        if (run.ended) return;
        const cancel = clock.setTimer(ms, () => {
          run.timers.delete(cancel);
          if (!run.ended) fn();
        });
        run.timers.add(cancel);
      },
      onSignal(handler) {
        run.signalHandler = handler;
      },
    };
  }
}
