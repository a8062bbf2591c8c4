#!/usr/bin/env node
/**
 * The berth command line: how an argv is parsed (program.ts builds the program) and how
 * errors become exit codes. Each group of commands is registered by a `commands/*-commands.ts` file, imported
 * only when the command line needs its group (registration.ts: `berth exec` loads the
 * container commands alone; help and unknown commands every group); those import a command's
 * module lazily inside its action.
 */
import type * as Commander from "commander";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { groupsFor } from "./commands/registration.js";
import { fail, UsageError } from "./errors.js";
import { endOptionsAtOperand } from "./operands.js";
import { buildProgram } from "./program.js";

// commander is CommonJS: required, as program.ts does (the same module instance).
const { CommanderError } = createRequire(import.meta.url)("commander") as typeof Commander;

// The start of main's own code, after its static imports (berth exec's BERTH_EXEC_TIMING marks).
performance.mark("berth:main");

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(pkg.version, groupsFor(argv.slice(2)));
  try {
    await program.parseAsync(endOptionsAtOperand(argv, program));
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
