/**
 * The body of an unpack worker thread (unpack-pool.ts starts it): it runs `unpackLayer` for
 * each request it is sent, one at a time, and answers with the result or the error. The
 * layer's decompression, hashing, tar parsing and file creation then run beside the thread
 * that started it, which stays free for downloads, the API and health probes.
 *
 * Messages in:  {type: "unpack", id, opts} | {type: "abort", id}
 * Messages out: {type: "ready"} once, its modules loaded
 *               {type: "log", id, obj, msg} (the layer writer's debug lines)
 *               {type: "done", id, result} | {type: "error", id, error: WorkerError}
 */
import { parentPort } from "node:worker_threads";
import type { Logger } from "pino";
import { isBerthError } from "../../lib/errors.js";
import { unpackLayer } from "./layer-unpack.js";
import type { UnpackRequest, WorkerError, WorkerMessageIn, WorkerMessageOut } from "./unpack-protocol.js";

const port = parentPort;
if (!port) throw new Error("unpack-worker.js runs only as a worker thread");

const running = new Map<number, AbortController>();

function post(m: WorkerMessageOut): void {
  port!.postMessage(m);
}

/** The one logger method the layer writer uses, forwarded to the pool's logger. */
function loggerFor(id: number): Logger {
  return { debug: (obj: object, msg: string) => post({ type: "log", id, obj, msg }) } as unknown as Logger;
}

function errorOf(err: unknown, aborted: boolean): WorkerError {
  if (aborted) return { aborted: true, message: "aborted" };
  if (isBerthError(err)) return { kind: err.kind, message: err.message };
  return { message: err instanceof Error ? err.message : String(err) };
}

async function run(id: number, opts: UnpackRequest): Promise<void> {
  const ac = new AbortController();
  running.set(id, ac);
  try {
    const result = await unpackLayer({ ...opts, logger: loggerFor(id), signal: ac.signal });
    post({ type: "done", id, result });
  } catch (err) {
    post({ type: "error", id, error: errorOf(err, ac.signal.aborted) });
  } finally {
    running.delete(id);
  }
}

port.on("message", (m: WorkerMessageIn) => {
  if (m.type === "abort") running.get(m.id)?.abort();
  else void run(m.id, m.opts);
});

// Its imports are evaluated by now: the pool's warm() resolves.
post({ type: "ready" });
