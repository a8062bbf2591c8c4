/** The messages between unpack-pool.ts and its worker threads (unpack-worker.ts). */
import type { ErrorKind } from "../../lib/errors.js";
import type { UnpackLayerOptions } from "./layer-unpack.js";

/** What a worker needs to unpack one layer: layer-unpack.ts's options less the logger and signal (which stay on each side). */
export type UnpackRequest = Omit<UnpackLayerOptions, "logger" | "signal">;

export interface UnpackResult {
  size: number;
  entries: number;
}

/** An error crossing the thread boundary: its kind (a BerthError's) and message, or an abort. */
export interface WorkerError {
  kind?: ErrorKind;
  message: string;
  aborted?: boolean;
}

export type WorkerMessageIn = { type: "unpack"; id: number; opts: UnpackRequest } | { type: "abort"; id: number };

export type WorkerMessageOut =
  | { type: "ready" }
  | { type: "log"; id: number; obj: object; msg: string }
  | { type: "done"; id: number; result: UnpackResult }
  | { type: "error"; id: number; error: WorkerError };
