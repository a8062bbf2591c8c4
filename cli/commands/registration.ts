/**
 * What the `*-commands.ts` registration files share. They import only commander and types
 * at load time: a command's module (and the API client) is imported inside its action, so
 * `berth --version` and `berth --help` load nothing else. main.ts imports a group's file
 * only when the command line needs it (COMMAND_GROUPS, VERB_GROUPS).
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

/** The groups of commands, in the order help lists them: each loads its file (when needed) and gives its register function. */
export const COMMAND_GROUPS = {
  manifest: () => import("./manifest-commands.js").then((m) => m.registerManifestCommands), // validate, apply, diff, convert
  object: () => import("./object-commands.js").then((m) => m.registerObjectCommands), // get, describe, delete
  container: () => import("./container-commands.js").then((m) => m.registerContainerCommands), // logs, exec, run, attach, cp, top, stats, ...
  watch: () => import("./watch-commands.js").then((m) => m.registerWatchCommands), // events, wait
  lifecycle: () => import("./lifecycle-commands.js").then((m) => m.registerLifecycleCommands), // stop, start, restart
  sources: () => import("./sources-commands.js").then((m) => m.registerSourceCommands), // watch, unwatch, sync
  image: () => import("./image-commands.js").then((m) => m.registerImageCommands), // image ..., build
  volume: () => import("./volume-commands.js").then((m) => m.registerVolumeCommands), // volume ..., network ..., container prune
  host: () => import("./host-commands.js").then((m) => m.registerHostCommands), // up, daemon, doctor
} as const satisfies Record<string, () => Promise<(program: Command) => void>>;

export type CommandGroup = keyof typeof COMMAND_GROUPS;

/**
 * The group that registers each top-level command (registration.test.ts checks this against
 * what every group registers). `berth exec ...` then imports container-commands.ts alone.
 */
export const VERB_GROUPS: Readonly<Record<string, CommandGroup>> = {
  validate: "manifest", apply: "manifest", diff: "manifest", convert: "manifest",
  get: "object", describe: "object", delete: "object",
  logs: "container", exec: "container", run: "container", attach: "container", commit: "container", cp: "container", export: "container", port: "container",
  top: "container", stats: "container", inspect: "container", info: "container", version: "container",
  events: "watch", wait: "watch",
  stop: "lifecycle", start: "lifecycle", restart: "lifecycle",
  watch: "sources", unwatch: "sources", sync: "sources",
  image: "image", build: "image", login: "image", logout: "image",
  volume: "volume", network: "volume", container: "volume",
  up: "host", daemon: "host", doctor: "host",
};

/** The program's options that take a value (`--root DIR`): what comes after them is no command. */
const VALUE_OPTIONS = new Set(["--root", "--run-root", "--socket"]);

/**
 * The groups a command line needs: the group of its command (the first argument that is
 * neither an option nor an option's value), or every group when there is none or it is not
 * one of VERB_GROUPS (`berth`, `berth --help`, `berth help exec`, a typo): help then lists every
 * command and a typo gets its suggestion.
 */
export function groupsFor(args: readonly string[]): CommandGroup[] {
  const all = Object.keys(COMMAND_GROUPS) as CommandGroup[];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return all;
    if (a.startsWith("-")) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    const g = Object.hasOwn(VERB_GROUPS, a) ? VERB_GROUPS[a] : undefined;
    return g ? [g] : all;
  }
  return all;
}
