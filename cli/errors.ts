import { BerthError, errorMessage, exitCodeOfKind } from "../lib/errors.js";

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {}

/**
 * Reports an error that ended a command and returns its exit code. User errors print one
 * line; only unexpected (Internal) errors mention a stack, and only with BERTH_DEBUG=1.
 */
export function fail(err: unknown): number {
  if (err instanceof BerthError) {
    process.stderr.write(`berth: ${err.message}\n`);
    if (process.env.BERTH_DEBUG === "1" && err.stack) process.stderr.write(`${err.stack}\n`);
    return exitCodeOfKind[err.kind];
  }
  process.stderr.write(`berth: internal error: ${errorMessage(err)}\n`);
  if (process.env.BERTH_DEBUG === "1" && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write("berth: run with BERTH_DEBUG=1 for details, and please report it\n");
  return exitCodeOfKind.Internal;
}
