import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Logger } from "pino";
import { systemClock, type Clock } from "../lib/clock.js";
import { invalidArgument } from "../lib/errors.js";
import { openRuntime, type Runtime, type RuntimeOptions } from "../runtime/index.js";
import { ApiServer } from "./api/server.js";
import { Controller, type ControllerOptions } from "./controller.js";
import { SourceManager, type SourceManagerOptions } from "./sources/manager.js";
import { chokidarWatch } from "./sources/watch.js";
import { stackObjectCounts } from "./sources/stack-objects.js";

export interface DaemonOptions {
  root: string;
  runRoot: string;
  /** Default `<runRoot>/berth.sock`. */
  socketPath?: string;
  logger: Logger;
  clock?: Clock;
  version: string;
  allowPrivileged?: boolean;
  /** Accept bind sources that expose the host from every apply (`--allow-host-binds`). */
  allowHostBinds?: boolean;
  controller?: Partial<ControllerOptions>;
  cgroupParent?: string;
  /** Blocks bridge networks' subnets are carved from (`--address-pool`); default Docker's pools. */
  addressPools?: { base: string; size: number }[];
  /**
   * The group whose members may use the API (`berth daemon --group`, like dockerd's `-G`): the
   * socket is root:group 0660 and the run-root root:group 0710 (traversable, not listable).
   * Without it only root may: socket 0600, run-root 0700.
   */
  group?: { name: string; gid: number };
  /** The registry service's files (runtime/registry/default-files.ts: settings, Docker's config.json, berth's credentials). */
  registry?: RuntimeOptions["registry"];
  /** Directories watched as stacks from the start (`berth daemon --watch DIR[=STACK]`), registered unless they are. */
  watch?: { dir: string; stack: string }[];
  sources?: Partial<SourceManagerOptions>;
}

/**
 * Directories the rest of the host uses: the daemon sets its run-root's mode and group (0700,
 * or 0710 for `group`), which on one of these would lock every other user out of it.
 */
const SHARED_DIRS = new Set(["/", "/run", "/var/run", "/tmp", "/var/tmp", "/dev/shm", "/var", "/var/lib", "/root", "/home", "/etc", "/usr"]);

export interface Daemon {
  runtime: Runtime;
  controller: Controller;
  sources: SourceManager;
  socketPath: string;
  /** Stops serving and reconciling; containers keep running (a new daemon adopts them). */
  stop(): Promise<void>;
}

/**
 * Starts berth's daemon: takes the root lock (one daemon per root), opens the runtime
 * (adopting running containers), the controller (desired state under `<root>/controller`)
 * and the API on the unix socket. Whatever was opened is closed again when a later step fails.
 * The run-root's group and mode are set (see `group`) before the socket exists; a run-root
 * the rest of the host shares (/run, /tmp, ...) is refused with InvalidArgument first.
 */
export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const socketPath = o.socketPath ?? path.join(o.runRoot, "berth.sock");
  const realRunRoot = await fs.realpath(o.runRoot).catch(() => path.resolve(o.runRoot));
  if (SHARED_DIRS.has(realRunRoot)) {
    throw invalidArgument(`start daemon: run-root ${o.runRoot} is shared with the rest of the host; give berth a directory of its own (e.g. /run/berth)`);
  }
  const runtime = await openRuntime({
    root: o.root,
    runRoot: o.runRoot,
    logger: o.logger.child({ component: "runtime" }),
    protectedPaths: [socketPath],
    owner: "berth daemon",
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.cgroupParent ? { cgroupParent: o.cgroupParent } : {}),
    ...(o.addressPools ? { addressPools: o.addressPools } : {}),
    ...(o.registry ? { registry: o.registry } : {}),
  });
  let controller: Controller | undefined;
  let server: ApiServer | undefined;
  let sources: SourceManager | undefined;
  try {
    controller = await Controller.open({
      runtime,
      stateDir: path.join(runtime.root, "controller"),
      clock: o.clock ?? systemClock,
      logger: o.logger.child({ component: "controller" }),
      options: { ...o.controller, allowPrivileged: !!o.allowPrivileged, allowHostBinds: !!o.allowHostBinds, version: o.version, root: runtime.root, runRoot: runtime.runRoot, socketPath },
    });
    await fs.chown(runtime.runRoot, -1, o.group?.gid ?? process.getgid!());
    await fs.chmod(runtime.runRoot, o.group ? 0o710 : 0o700);
    const c = controller;
    const logger = o.logger.child({ component: "sources" });
    sources = await SourceManager.open({
      root: runtime.root,
      clock: o.clock ?? systemClock,
      logger,
      // the sources apply through the service facade, the code path of POST /v1/apply
      target: { apply: (req, signal) => c.api.apply(req, signal), event: (...e) => void c.events.record(...e), objects: (stack) => stackObjectCounts(c.api, stack) },
      watch: chokidarWatch(logger),
      ...(o.sources ? { options: o.sources } : {}),
    });
    server = new ApiServer(controller.api, {
      sources,
      socketPath,
      logger: o.logger.child({ component: "api" }),
      mode: o.group ? 0o660 : 0o600,
      ...(o.group ? { gid: o.group.gid } : {}),
    });
    await server.listen();
    controller.start();
    sources.start();
    for (const w of o.watch ?? []) await sources.ensureDir(w.dir, w.stack, AbortSignal.timeout(5 * 60_000));
  } catch (err) {
    await sources?.stop().catch(() => {});
    await server?.close().catch(() => {});
    await controller?.stop().catch(() => {});
    await runtime.close().catch(() => {});
    throw err;
  }
  o.logger.info({ root: runtime.root, runRoot: runtime.runRoot, socket: socketPath, ...(o.group ? { group: o.group.name } : {}), pid: process.pid }, "berth daemon ready");
  let stopped: Promise<void> | undefined;
  return {
    runtime,
    controller,
    sources: sources!,
    socketPath,
    stop() {
      stopped ??= (async () => {
        await server!.close();
        await sources!.stop();
        await controller!.stop();
        await runtime.close();
        o.logger.info("berth daemon stopped; containers keep running");
      })();
      return stopped;
    },
  };
}
