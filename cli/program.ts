/**
 * The berth program: its global options, help, and the command groups registered in help's
 * order (registration.ts). Apart from main.ts, whose import runs the command line, so that
 * tests can build the program.
 */
import type * as Commander from "commander";
import { createRequire } from "node:module";
import { COMMAND_GROUPS, type CommandGroup } from "./commands/registration.js";

// commander is CommonJS: required rather than imported, which skips Node's ESM wrapper of a
// CommonJS package (finding its exports costs ~3 ms of every command's start). The groups that
// import its Option get the same module instance.
const { Command, Option } = createRequire(import.meta.url)("commander") as typeof Commander;
type Command = Commander.Command;

/** The program with the commands of `groups` (default every group), registered in help's order. */
export async function buildProgram(version: string, groups: readonly CommandGroup[] = Object.keys(COMMAND_GROUPS) as CommandGroup[]): Promise<Command> {
  const program = new Command("berth")
    .description("Run containers declaratively on a single Linux host.")
    .version(version, "-v, --version", "print the berth version")
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
