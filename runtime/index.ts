import type { Logger } from "pino";
import pino from "pino";
import * as path from "node:path";
import type { Clock } from "../lib/clock.js";
import { acquireRootLock, type RootLock } from "../lib/root-lock.js";
import { openContainerRuntime, type ConmonRuncRuntime } from "./containers/runtime.js";
import { openImageRuntime, type ImageRuntime } from "./images/index.js";
import { openVolumeStore } from "./volumes/volume-store.js";
import type { LocalVolumeStore } from "./volumes/types.js";

export interface RuntimeOptions {
  /** Persistent state: blobs, images, snapshots, containers, volumes. Default /var/lib/berth. */
  root: string;
  /** Per-boot state on tmpfs: runc state, conmon exit files, pid files. Default /run/berth. */
  runRoot: string;
  logger?: Logger;
  clock?: Clock;
  /** Paths bind mounts must never expose besides root and runRoot (e.g. the API socket). */
  protectedPaths?: string[];
  /** Who takes the root lock, for the message a second owner gets. */
  owner?: string;
  /** Parent cgroup of every container (default `berth`). */
  cgroupParent?: string;
}

export function defaultRuntimeOptions(): RuntimeOptions {
  return {
    root: process.env.BERTH_ROOT || "/var/lib/berth",
    runRoot: process.env.BERTH_RUN_ROOT || "/run/berth",
  };
}

/** The whole embedded runtime over one state root. */
export interface Runtime extends ImageRuntime {
  volumes: LocalVolumeStore;
  containers: ConmonRuncRuntime;
  root: string;
  runRoot: string;
  /** Stops watching and releases the root lock; containers keep running. */
  close(): Promise<void>;
}

/**
 * Opens berth's runtime: takes the root lock (one owner per root; Unavailable otherwise),
 * opens the stores, adopts running containers. Facts only: nothing is restarted here.
 */
export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const root = path.resolve(options.root);
  const runRoot = path.resolve(options.runRoot);
  const logger = options.logger ?? pino({ level: "silent" });
  const lock: RootLock = await acquireRootLock(root, options.owner ?? "berth");
  try {
    const image = await openImageRuntime({ root, logger, ...(options.clock ? { clock: options.clock } : {}) });
    const volumes = await openVolumeStore({ root });
    const containers = await openContainerRuntime({
      root,
      runRoot,
      images: image.images,
      snapshots: image.snapshots,
      volumes,
      ...(options.protectedPaths ? { protectedPaths: options.protectedPaths } : {}),
      ...(options.cgroupParent ? { cgroupParent: options.cgroupParent } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    return {
      ...image,
      volumes,
      containers,
      root,
      runRoot,
      async close() {
        await containers.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
