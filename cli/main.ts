#!/usr/bin/env node
/**
 * The berth command line. Command modules are imported lazily inside their actions, so
 * `berth --version` and `berth --help` load nothing but commander.
 */
import { Command, CommanderError, Option } from "commander";
import { readFileSync } from "node:fs";
import { fail, UsageError } from "./errors.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

export function buildProgram(): Command {
  const program = new Command("berth")
    .description("Run containers declaratively on a single Linux host.")
    .version(pkg.version, "-v, --version", "print the berth version")
    .helpOption("-h, --help", "show help for a command")
    .showSuggestionAfterError(true)
    // Before any .command(): subcommands copy these settings when they are created.
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      "after",
      `
Examples:
  berth validate -f examples/web/        check manifests, print located errors
  berth validate -f app.yaml -o json     the same errors as data

Docs: every kind's JSON Schema is in schemas/*.json (editors can use schemas/berth.json).`,
    );

  program
    .command("validate")
    .summary("check manifests and print every error with its location")
    .description(
      "Check manifests without touching the host. Prints each problem as file:line:column, the object, the field path,\n" +
        "what was expected and a suggestion where one is obvious. Exits 0 when valid, 1 when not.",
    )
    .requiredOption("-f, --filename <path...>", "files or directories of manifests; - reads standard input")
    .option("-R, --recursive", "process directories recursively", false)
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .addHelpText(
      "after",
      `
Examples:
  berth validate -f web.yaml
  berth validate -f manifests/ -R
  cat web.yaml | berth validate -f -`,
    )
    .action(async (opts: { filename: string[]; recursive: boolean; output: "text" | "json"; allowPrivileged: boolean }) => {
      const { runValidate } = await import("./commands/validate.js");
      process.exitCode = await runValidate(opts);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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

main(process.argv).then((code) => {
  process.exitCode = code;
});
