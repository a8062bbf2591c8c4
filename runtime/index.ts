import type { Logger } from "pino";
import pino from "pino";
import * as path from "node:path";
import type { Clock } from "../lib/clock.js";
import { acquireRootLock, type RootLock } from "../lib/root-lock.js";
import type { PhaseObserver } from "./containers/options.js";
import { openContainerRuntime } from "./containers/runtime.js";
import type { BuildRequest } from "./build/executor/builder.js";
import { openImageRuntime } from "./images/index.js";
import { hostPlatform } from "./images/platform.js";
import { openNetworkDriver } from "./networks/index.js";
import { openRegistryImages, type RegistryImagesOptions } from "./registry/registry-images.js";
import type { RegistryService } from "./registry/types.js";
import type { ContainerRuntime, ImageRecord, ImageStore, NetworkDriver, VolumeStore } from "./types.js";
import { openVolumeStore } from "./volumes/volume-store.js";

export interface RuntimeOptions {
  /** Persistent state: blobs, images, snapshots, containers, volumes. Default /var/lib/berth. */
  root: string;
  /** Per-boot state on tmpfs: runc state, conmon exit files, pid files. Default /run/berth. */
  runRoot: string;
  logger?: Logger;
  clock?: Clock;
  /** Paths bind mounts must never expose besides root and runRoot (e.g. the API socket). */
  protectedPaths?: string[];
  /** What the root lock's holder says it is (`berth daemon`): a refused opener's message names it. */
  owner?: string;
  /** Parent cgroup of every container (default `berth`). */
  cgroupParent?: string;
  /** Blocks bridge networks' subnets are carved from (default Docker's pools). */
  addressPools?: { base: string; size: number }[];
  /** Phase timings of container creates and starts (bench/). */
  onPhases?: PhaseObserver;
  /**
   * Registry pull/push: the daemon settings file (mirrors, insecure registries), the Docker
   * client config and berth's credentials file, limits (runtime/registry/registry-images.ts).
   */
  registry?: Partial<Omit<RegistryImagesOptions, "root" | "content" | "images" | "snapshots" | "clock" | "logger">>;
}

export function defaultRuntimeOptions(): RuntimeOptions {
  return {
    root: process.env.BERTH_ROOT || "/var/lib/berth",
    runRoot: process.env.BERTH_RUN_ROOT || "/run/berth",
  };
}

/**
 * A runtime as its consumers (controller, CLI, daemon) see it: the three stores by their
 * interfaces (runtime/types.ts), so another driver (an existing Docker Engine, later) or
 * the fakes of runtime/testing can stand in for the embedded one. Each store's contract,
 * and the conformance suites of runtime/conformance, say what an implementation owes.
 */
export interface ImageBuilder {
  build(req: BuildRequest): Promise<ImageRecord>;
}

export interface Runtime {
  containers: ContainerRuntime;
  images: ImageStore;
  volumes: VolumeStore;
  networks: NetworkDriver;
  /** Pull from and push to registries, login/logout (runtime/registry/types.ts). */
  registry: RegistryService;
  /** Persistent state dir of this runtime (the controller keeps its own state below it). */
  root: string;
  /** Per-boot state dir. */
  runRoot: string;
  /** Dockerfile builds (runtime/build/executor/builder.ts); runtimes that cannot build leave it out. */
  builder?: ImageBuilder;
  /** Stops watching and releases the root lock; containers keep running. */
  close(): Promise<void>;
}

/**
 * Opens berth's runtime: takes the root lock (one owner per root, released by the kernel when
 * the process dies, see lib/root-lock.ts; Unavailable naming the holder otherwise),
 * opens the stores, adopts running containers. Facts only: nothing is restarted here.
 */
export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const root = path.resolve(options.root);
  const runRoot = path.resolve(options.runRoot);
  const logger = options.logger ?? pino({ level: "silent" });
  const lock: RootLock = await acquireRootLock(root, options.owner ?? "berth");
  try {
    const image = await openImageRuntime({ root, logger, ...(options.clock ? { clock: options.clock } : {}) });
    const registry = await openRegistryImages({
      ...(options.registry ?? {}),
      root,
      content: image.content,
      images: image.images,
      snapshots: image.snapshots,
      logger: logger.child({ component: "registry" }),
      ...(options.clock ? { clock: options.clock } : {}),
    });
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
      logger: logger.child({ component: "containers" }),
      ...(options.onPhases ? { onPhases: options.onPhases } : {}),
    });
    const networks = await openNetworkDriver({ root, log: logger.child({ component: "networks" }), ...(options.addressPools ? { pools: options.addressPools } : {}) }).catch(async (err) => {
      await containers.close();
      throw err;
    });
    // The builder (and the Dockerfile parser) loads on the first build: an idle daemon needs none of it.
    let loaded: Promise<ImageBuilder> | undefined;
    const builder: ImageBuilder = {
      async build(req) {
        loaded ??= import("./build/executor/builder.js").then(
          ({ Builder }) =>
            new Builder({
              runtime: { containers, networks },
              images: image.images,
              withImageView: async (img, fn) => image.snapshots.withImageView(img ? await image.ensureUnpacked(img) : [], fn),
              pull: async (ref, signal) => (await registry.pull(ref, signal ? { signal } : {})).image,
              root,
              platform: hostPlatform(),
            }),
        );
        return (await loaded).build(req);
      },
    };
    return {
      images: image.images,
      volumes,
      containers,
      networks,
      builder,
      registry,
      root,
      runRoot,
      async close() {
        await networks.close();
        await containers.close();
        await image.snapshots.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
