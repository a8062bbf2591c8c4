import * as path from "node:path";
import type { Logger } from "pino";
import { systemClock, type Clock } from "../lib/clock.js";
import { openRuntime, type Runtime } from "../runtime/index.js";
import { ApiServer } from "./api/server.js";
import { Controller, type ControllerOptions } from "./controller.js";

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
}

export interface Daemon {
  runtime: Runtime;
  controller: Controller;
  socketPath: string;
  /** Stops serving and reconciling; containers keep running (a new daemon adopts them). */
  stop(): Promise<void>;
}

/**
 * Starts berth's daemon: takes the root lock (one daemon per root), opens the runtime
 * (adopting running containers), the controller (desired state under `<root>/controller`)
 * and the API on the unix socket. Whatever was opened is closed again when a later step fails.
 */
export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const socketPath = o.socketPath ?? path.join(o.runRoot, "berth.sock");
  const runtime = await openRuntime({
    root: o.root,
    runRoot: o.runRoot,
    logger: o.logger.child({ component: "runtime" }),
    protectedPaths: [socketPath],
    owner: "berth daemon",
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.cgroupParent ? { cgroupParent: o.cgroupParent } : {}),
  });
  let controller: Controller | undefined;
  let server: ApiServer | undefined;
  try {
    controller = await Controller.open({
      runtime,
      stateDir: path.join(runtime.root, "controller"),
      clock: o.clock ?? systemClock,
      logger: o.logger.child({ component: "controller" }),
      options: { ...o.controller, allowPrivileged: !!o.allowPrivileged, allowHostBinds: !!o.allowHostBinds, version: o.version, root: runtime.root, runRoot: runtime.runRoot, socketPath },
    });
    server = new ApiServer(controller.api, { socketPath, logger: o.logger.child({ component: "api" }) });
    await server.listen();
    controller.start();
  } catch (err) {
    await server?.close().catch(() => {});
    await controller?.stop().catch(() => {});
    await runtime.close().catch(() => {});
    throw err;
  }
  o.logger.info({ root: runtime.root, runRoot: runtime.runRoot, socket: socketPath, pid: process.pid }, "berth daemon ready");
  let stopped: Promise<void> | undefined;
  return {
    runtime,
    controller,
    socketPath,
    stop() {
      stopped ??= (async () => {
        await server!.close();
        await controller!.stop();
        await runtime.close();
        o.logger.info("berth daemon stopped; containers keep running");
      })();
      return stopped;
    },
  };
}
