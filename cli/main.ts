#!/usr/bin/env node
/**
 * The berth command line: the program, its global options and help, and how errors become
 * exit codes. Each group of commands is registered by a `commands/*-commands.ts` file, imported
 * only when the command line needs its group (registration.ts: `berth exec` loads the
 * container commands alone; help and unknown commands every group); those import a command's
 * module lazily inside its action.
 */
import type * as Commander from "commander";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { COMMAND_GROUPS, groupsFor, type CommandGroup } from "./commands/registration.js";
import { fail, UsageError } from "./errors.js";

// commander is CommonJS: required rather than imported, which skips Node's ESM wrapper of a
// CommonJS package (finding its exports costs ~3 ms of every command's start). The groups that
// import its Option get the same module instance.
const { Command, CommanderError, Option } = createRequire(import.meta.url)("commander") as typeof Commander;
type Command = Commander.Command;

// The start of main's own code, after its static imports (berth exec's BERTH_EXEC_TIMING marks).
performance.mark("berth:main");

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/** The program with the commands of `groups` (default every group), registered in help's order. */
export async function buildProgram(groups: readonly CommandGroup[] = Object.keys(COMMAND_GROUPS) as CommandGroup[]): Promise<Command> {
  const program = new Command("berth")
    .description("Run containers declaratively on a single Linux host.")
    .version(pkg.version, "-v, --version", "print the berth version")
    .helpOption("-h, --help", "show help for a command")
    .showSuggestionAfterError(true)
    // Before any .command(): subcommands copy these settings when they are created.
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addOption(new Option("--root <dir>", "state directory (images, containers, volumes)").env("BERTH_ROOT").default("/var/lib/berth"))
    .addOption(new Option("--run-root <dir>", "runtime directory, on tmpfs (runc state, exit files, API socket)").env("BERTH_RUN_ROOT").default("/run/berth"))
    .addOption(new Option("--socket <path>", "the daemon's API socket (default: <run-root>/berth.sock)").env("BERTH_SOCKET"))
    .addHelpText(
      "after",
      `
Examples:
  berth apply -f examples/web/ --wait    create or update the objects, wait until ready
  berth get                              list every object; berth get ctr web -o yaml
  berth logs -f web                      follow a container's output
  berth validate -f examples/web/        check manifests, print located errors
  berth validate -f app.yaml -o json     the same errors as data
  berth image import rootfs.tar localhost/busybox:latest --change 'CMD ["sh"]'
  berth image ls
  berth doctor                           check that this host can run containers

Docs: every kind's JSON Schema is in schemas/*.json (editors can use schemas/berth.json).`,
    );

  // Imported together, registered in COMMAND_GROUPS' order: help lists commands as they are registered.
  const registers = await Promise.all((Object.keys(COMMAND_GROUPS) as CommandGroup[]).filter((g) => groups.includes(g)).map((g) => COMMAND_GROUPS[g]()));
  for (const register of registers) register(program);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(groupsFor(argv.slice(2)));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version "errors" are successful exits
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`berth: ${err.message}\n`);
      return 2;
    }
    return fail(err);
  }
}

// A reader that stops early (`berth ... | head`) closes the pipe: what is left to print has
// nowhere to go, which is no error of berth's. Without this, the EPIPE of the next write is an
// unhandled 'error' event and Node prints a stack trace. (`berth up` guards its
// own output with safe-output.ts, which must keep running: this one then stands aside.)
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (stream.listenerCount("error") > 1) return;
    if (err.code !== "EPIPE") throw err;
    process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  });
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
