import pino from "pino";
import { readFileSync } from "node:fs";
import { startDaemon } from "../../controller/daemon.js";
import type { GlobalOptions } from "../local.js";

export function berthVersion(): string {
  return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

/**
 * `berth daemon`: runs the controller in the foreground with pino JSON logs on stdout until
 * SIGTERM or SIGINT; then stops serving and leaves the containers running.
 */
export async function runDaemon(
  g: GlobalOptions & { socket?: string },
  opts: { logLevel: string; allowPrivileged: boolean; allowHostBinds?: boolean; cgroupParent?: string },
): Promise<number> {
  const logger = pino({ level: opts.logLevel, base: { pid: process.pid } });
  const daemon = await startDaemon({
    root: g.root,
    runRoot: g.runRoot,
    ...(g.socket ? { socketPath: g.socket } : {}),
    logger,
    version: berthVersion(),
    allowPrivileged: opts.allowPrivileged,
    allowHostBinds: !!opts.allowHostBinds,
    ...(opts.cgroupParent ? { cgroupParent: opts.cgroupParent } : {}),
  });
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, "stopping");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolve();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  await daemon.stop();
  return 0;
}
