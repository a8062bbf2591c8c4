import pino from "pino";
import { acquireRootLock } from "../lib/root-lock.js";
import { openImageRuntime, type ImageRuntime } from "../runtime/images/index.js";

export interface GlobalOptions {
  root: string;
  runRoot: string;
}

/**
 * Runs `fn` with the image half of the runtime opened directly on the state root, holding
 * the root lock for its duration (a running daemon owns the root; then this refuses with
 * Unavailable, naming it). `berth image` uses this only when no daemon serves the root;
 * otherwise it goes through the daemon's API.
 */
export async function withImages<T>(g: GlobalOptions, fn: (rt: ImageRuntime) => Promise<T>): Promise<T> {
  const lock = await acquireRootLock(g.root, "berth");
  try {
    const rt = await openImageRuntime({ root: g.root, logger: pino({ level: process.env.BERTH_LOG_LEVEL ?? "silent" }) });
    return await fn(rt);
  } finally {
    await lock.release();
  }
}
