/**
 * Layer unpacks on worker threads. A layer's unpack is CPU work (gunzip, sha256, tar parsing)
 * and thousands of small synchronous file-system calls; on the daemon's thread it would hold
 * the event loop for most of a pull, delaying the API, downloads and health probes. The pool
 * runs each unpack on a worker (unpack-worker.ts), started on first use and kept for the next;
 * an idle worker does not keep the process alive, a busy one does.
 *
 * Size: `threads` workers (default: one less than the host's CPUs, at least two and at most
 * four: an unpack spends much of its time waiting on file-system calls, so two overlap well
 * even on two CPUs — a 6-layer pull unpacked 25% sooner with two than with one here);
 * requests beyond that wait in order. An abort
 * is sent to the worker, which stops between chunks; the request then rejects with the
 * signal's reason. A worker that dies fails its request (Internal) and is replaced on the next.
 *
 * Without a worker script — running from the TypeScript sources, where there is no built
 * `unpack-worker.js` beside this module — unpacks run on the calling thread (`inline`), with
 * the same results: tests of the sources exercise the same unpackLayer.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { builtSibling } from "../../lib/built-script.js";
import { BerthError, internal } from "../../lib/errors.js";
import type { UnpackRequest, UnpackResult, WorkerMessageIn, WorkerMessageOut } from "./unpack-protocol.js";

export type { UnpackRequest, UnpackResult } from "./unpack-protocol.js";

export interface UnpackPoolOptions {
  logger: Logger;
  /** Worker threads at most. */
  threads?: number;
  /** The worker's script; undefined: unpack on the calling thread. Default: defaultWorkerScript(). */
  workerScript?: string | undefined;
}

/** `unpack-worker.js` beside this module when this module is the built one; else undefined. */
export function defaultWorkerScript(): string | undefined {
  return builtSibling(import.meta.url, "unpack-worker.js");
}

interface Task {
  id: number;
  opts: UnpackRequest;
  signal: AbortSignal | undefined;
  resolve: (r: UnpackResult) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
  /** Resolves once the worker has loaded its modules (its "ready" message). */
  ready: Promise<void>;
}

export class UnpackPool {
  private readonly threads: number;
  private readonly script: string | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: UnpackPoolOptions) {
    this.threads = Math.max(1, opts.threads ?? Math.min(4, Math.max(2, availableParallelism() - 1)));
    this.script = "workerScript" in opts ? opts.workerScript : defaultWorkerScript();
  }

  /** Where unpacks run: `threads` (worker threads) or `inline` (no worker script). */
  get mode(): "threads" | "inline" {
    return this.script ? "threads" : "inline";
  }

  /**
   * Starts a worker ahead of the first unpack (module loading off the critical path);
   * resolves once one is ready. Inline, and once closed, there is nothing to start.
   */
  warm(): Promise<void> {
    if (!this.script || this.closed) return Promise.resolve();
    if (this.slots.length === 0) this.slots.push(this.spawn());
    return this.slots[0]!.ready;
  }

  async unpack(opts: UnpackRequest, signal?: AbortSignal): Promise<UnpackResult> {
    if (this.closed) throw internal(`${opts.what}: the unpack pool is closed`);
    signal?.throwIfAborted();
    if (!this.script) {
      const { unpackLayer } = await import("./layer-unpack.js");
      return unpackLayer({ ...opts, logger: this.opts.logger, ...(signal ? { signal } : {}) });
    }
    return new Promise<UnpackResult>((resolve, reject) => {
      const task: Task = { id: this.nextId++, opts, signal, resolve, reject };
      if (signal) {
        const onAbort = () => {
          const queued = this.queue.indexOf(task);
          if (queued >= 0) {
            this.queue.splice(queued, 1);
            reject(signal.reason);
          } else this.send(this.slotOf(task), { type: "abort", id: task.id });
        };
        signal.addEventListener("abort", onAbort, { once: true });
        const settle = <T>(f: (v: T) => void) => (v: T) => {
          signal.removeEventListener("abort", onAbort);
          f(v);
        };
        task.resolve = settle(resolve);
        task.reject = settle(reject);
      }
      this.queue.push(task);
      this.dispatch();
    });
  }

  /** Terminates the workers; requests still queued or running reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(internal(`${t.opts.what}: the unpack pool closed`));
    await Promise.all(
      this.slots.splice(0).map(async (s) => {
        s.task?.reject(internal(`${s.task.opts.what}: the unpack pool closed`));
        s.task = undefined;
        await s.worker.terminate();
      }),
    );
  }

  private slotOf(task: Task): Slot | undefined {
    return this.slots.find((s) => s.task === task);
  }

  private send(slot: Slot | undefined, m: WorkerMessageIn): void {
    slot?.worker.postMessage(m);
  }

  private dispatch(): void {
    while (this.queue.length && !this.closed) {
      let slot = this.slots.find((s) => !s.task);
      if (!slot && this.slots.length < this.threads) this.slots.push((slot = this.spawn()));
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      this.send(slot, { type: "unpack", id: task.id, opts: task.opts });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.script!);
    let ready!: () => void;
    let failed!: (err: unknown) => void;
    const slot: Slot = { worker, task: undefined, ready: new Promise<void>((res, rej) => ((ready = res), (failed = rej))) };
    slot.ready.catch(() => {});
    worker.unref();
    worker.on("message", (m: WorkerMessageOut) => {
      if (m.type === "ready") return ready();
      const task = slot.task;
      if (!task || task.id !== m.id) return;
      if (m.type === "log") {
        this.opts.logger.debug(m.obj, m.msg);
        return;
      }
      slot.task = undefined;
      worker.unref();
      if (m.type === "done") task.resolve(m.result);
      else if (m.error.aborted && task.signal?.aborted) task.reject(task.signal.reason);
      else task.reject(new BerthError(m.error.kind ?? "InvalidArgument", m.error.message));
      this.dispatch();
    });
    const fail = (why: string) => {
      failed(internal(`the unpack worker ${why}`));
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const task = slot.task;
      slot.task = undefined;
      if (task) task.reject(internal(`${task.opts.what}: the unpack worker ${why}`));
      if (!this.closed) this.dispatch();
    };
    worker.on("error", (err) => fail(`failed: ${err.message}`));
    worker.on("exit", (code) => fail(`exited with code ${code}`));
    return slot;
  }
}
