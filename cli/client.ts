import * as path from "node:path";
import type { Readable } from "node:stream";
import { ApiClient } from "../controller/api/client.js";
import { systemClock, type Clock } from "../lib/clock.js";

/** Where output goes: process.stdout/stderr, or a capture in tests. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  /** Terminal width, when a terminal. */
  columns?: number;
}

/** The global options of the commands that talk to the daemon. */
export interface ClientGlobals {
  runRoot: string;
  /** `--socket` / BERTH_SOCKET: overrides `<run-root>/berth.sock`. */
  socket?: string;
}

/**
 * What a daemon-client command runs with. Commands write only through `stdout`/`stderr`,
 * read time only from `clock`, and return an exit code; errors they throw are reported by
 * main (one line, exit code from the error kind).
 */
export interface CommandContext {
  client: ApiClient;
  stdout: Output;
  stderr: Output;
  stdin: Readable;
  clock: Clock;
  /**
   * An AbortSignal that fires on Ctrl-C (SIGINT). Only streaming commands call it: the first
   * call installs the handler, so other commands keep Node's default (exit 130). A second
   * Ctrl-C exits at once.
   */
  interrupt(): AbortSignal;
}

export function socketPath(g: ClientGlobals): string {
  return g.socket || path.join(g.runRoot, "berth.sock");
}

export function processContext(g: ClientGlobals): CommandContext {
  let ac: AbortController | undefined;
  // `berth logs -f web | head`: a reader that went away ends the command quietly
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  return {
    client: new ApiClient(socketPath(g)),
    stdout: process.stdout,
    stderr: process.stderr,
    // Read when a command uses it: process.stdin makes a stream of fd 0 (~2 ms), which berth exec without -i never needs.
    get stdin() {
      return process.stdin;
    },
    clock: systemClock,
    interrupt() {
      if (!ac) {
        const controller = new AbortController();
        ac = controller;
        const onSignal = () => {
          if (controller.signal.aborted) process.exit(130);
          controller.abort(new Error("interrupted"));
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      }
      return ac.signal;
    },
  };
}
