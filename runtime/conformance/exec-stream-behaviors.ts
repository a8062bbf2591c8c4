import type { Clock } from "../../lib/clock.js";
import type { ExecStreamOptions } from "../types.js";
import type { FakeExecIo, FakeExecStreamReply } from "../testing/fake-container-runtime.js";
import { decodeBehavior, shQuote } from "./behaviors.js";

/**
 * What the suite's streamed execs do (the behaviors.ts pattern, for bytes and stdin): a
 * busybox script for the real runtime, carrying the behaviour as JSON on its first line,
 * and `actOutExecStream` — the fake's `onExecStream` handler — doing the same. Plus two
 * commands that cannot be started: MISSING_COMMAND (nowhere on $PATH) and NOT_EXECUTABLE
 * (a file without the x bit, in every busybox rootfs), which the fake knows by name.
 */

/** Writes the 256 byte values 0x00..0xff, in order, `repeat` times, to `stream`. */
export interface BytesBehavior {
  kind: "bytes";
  repeat: number;
  stream: "stdout" | "stderr";
}

/** Copies stdin to stdout as it comes (`cat`), then exits 0. */
export interface CatBehavior {
  kind: "cat";
}

export type ExecStreamBehavior = BytesBehavior | CatBehavior;

export const MISSING_COMMAND = "berth-conformance-no-such-command";
export const NOT_EXECUTABLE = "/etc/passwd";

const MARK = "# berth-conformance-stream ";

/** The 256 byte values, in order, `repeat` times: what a BytesBehavior writes. */
export function byteRamp(repeat: number): Buffer {
  const one = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return Buffer.concat(Array.from({ length: repeat }, () => one));
}

function script(b: ExecStreamBehavior): string {
  switch (b.kind) {
    case "bytes": {
      const format = Array.from({ length: 256 }, (_, i) => `\\${i.toString(8).padStart(3, "0")}`).join("");
      return `i=0; while [ $i -lt ${b.repeat} ]; do printf ${shQuote(format)}${b.stream === "stderr" ? " >&2" : ""}; i=$((i+1)); done`;
    }
    case "cat":
      return "exec cat";
  }
}

/** `["sh", "-c", script]` with the behaviour on the first line. */
export function execStreamCommand(b: ExecStreamBehavior): string[] {
  return ["sh", "-c", `${MARK}${JSON.stringify(b)}\n${script(b)}`];
}

function decode(argv: readonly string[]): ExecStreamBehavior | undefined {
  if (argv.length !== 3 || argv[0] !== "sh" || argv[1] !== "-c" || !argv[2]!.startsWith(MARK)) return undefined;
  try {
    return JSON.parse(argv[2]!.slice(MARK.length).split("\n", 1)[0]!) as ExecStreamBehavior;
  } catch {
    return undefined;
  }
}

/**
 * The fake's `onExecStream` handler: acts out ExecStreamBehaviors, behaviors.ts's
 * ExecBehaviors (sleeping on `clock`), and runc's start failures for MISSING_COMMAND and
 * NOT_EXECUTABLE (exit codes 127 and 126, in runc's words). Anything else exits 0.
 */
export function actOutExecStream(clock: Clock) {
  return async (_container: unknown, options: ExecStreamOptions, io: FakeExecIo): Promise<FakeExecStreamReply> => {
    const argv0 = options.argv[0]!;
    if (argv0 === MISSING_COMMAND) return { exitCode: 127, startError: `exec: ${JSON.stringify(argv0)}: executable file not found in $PATH` };
    if (argv0 === NOT_EXECUTABLE) return { exitCode: 126, startError: `exec: ${JSON.stringify(argv0)}: permission denied` };
    const s = decode(options.argv);
    if (s?.kind === "bytes") {
      const all = byteRamp(s.repeat);
      for (let i = 0; i < all.length; i += 64 * 1024) await io[s.stream](all.subarray(i, i + 64 * 1024));
      return { exitCode: 0 };
    }
    if (s?.kind === "cat") {
      for await (const chunk of io.stdin) await io.stdout(chunk);
      return { exitCode: 0 };
    }
    const b = decodeBehavior(options.argv);
    if (b?.kind !== "exec") return { exitCode: 0 };
    if (b.sleepMs) await clock.sleep(b.sleepMs);
    if (b.stdout) await io.stdout(b.stdout);
    if (b.stderr) await io.stderr(b.stderr);
    return { exitCode: b.exitCode ?? 0 };
  };
}
