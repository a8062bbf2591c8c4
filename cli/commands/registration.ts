/**
 * What the `*-commands.ts` registration files share. They import only commander and types
 * at load time: a command's module (and the API client) is imported inside its action, so
 * `berth --version` and `berth --help` load nothing else.
 */
import type { Command } from "commander";
import type { CommandContext } from "../client.js";
import type { GlobalOptions } from "../local.js";

/** `--root` and `--run-root`, for commands that open the state directory themselves. */
export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { root: string; runRoot: string };
  return { root: o.root, runRoot: o.runRoot };
}

/** Sets the process exit code to what the command returned. */
export const run = (p: Promise<number>) => p.then((code) => void (process.exitCode = code));

/** The API client of a command that talks to the daemon over its socket (`--socket`, `--run-root`). */
export async function clientContext(cmd: Command): Promise<CommandContext> {
  const o = cmd.optsWithGlobals() as { runRoot: string; socket?: string };
  const { processContext } = await import("../client.js");
  return processContext({ runRoot: o.runRoot, ...(o.socket ? { socket: o.socket } : {}) });
}

export const filenameHelp = "files or directories of manifests; - reads standard input (repeatable)";

/** The help of every `--allow-host-binds`. */
export const HOST_BINDS_HELP = "accept bind mounts that expose the host: /, /proc, /sys, /dev, /boot, a container engine's socket, or a directory holding berth's state or socket";
