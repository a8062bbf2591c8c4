import { Readable } from "node:stream";
import type { ExecStreamIo } from "../../controller/api/client.js";
import type { CommandContext, Output } from "../client.js";
import { UsageError } from "../errors.js";
// What only some execs need (--timeout, -t) is imported when they do: `berth exec NAME -- CMD`
// loads this file, the API client and little else.

export interface ExecOptions {
  env: string[];
  user?: string;
  workdir?: string;
  timeout?: string;
  /** `-i`: forward this process's stdin (closed at its end). */
  interactive?: boolean;
  /** `-t`: a pseudo-terminal in the container; with -i on a terminal, raw mode here. */
  tty?: boolean;
}

/** Exit code of a command that ran out of time (as GNU timeout). */
export const EXEC_TIMEOUT_EXIT = 124;
/** Exit code after Ctrl-C (128 + SIGINT): the command in the container is killed. */
export const EXEC_INTERRUPTED_EXIT = 130;

/** `--env K=V` (repeatable) → a map; `--env K` takes K from this process's environment (docker). */
export function parseEnv(list: string[], environ: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf("=");
    const key = i < 0 ? item : item.slice(0, i);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`invalid --env ${JSON.stringify(item)}: expected NAME=VALUE`);
    if (i >= 0) env[key] = item.slice(i + 1);
    else if (environ[key] !== undefined) env[key] = environ[key]!;
  }
  return env;
}

/**
 * Writes bytes to `out`, waiting while it is full. `Output` is typed for text, but what a
 * command gets — process.stdout/stderr, or a test capture — takes bytes as well.
 */
function byteSink(out: Output): (chunk: Buffer) => Promise<void> {
  const w = out as unknown as { write(chunk: Uint8Array): boolean; once?(event: "drain" | "close", fn: () => void): unknown; off?(event: "drain" | "close", fn: () => void): unknown };
  return (chunk) =>
    w.write(chunk) !== false || !w.once
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          // Whichever comes first; the other listener goes (one left per full write would pile up).
          const done = () => {
            w.off?.("drain", done);
            w.off?.("close", done);
            resolve();
          };
          w.once!("drain", done);
          w.once!("close", done);
        });
}

/**
 * BERTH_EXEC_TIMING=1 (bench/exec): at exit, one line `berth-exec-timing {json}` on stderr —
 * ms from the process's start to main's code (`mainMs`: Node and main's imports), to this
 * command (`commandMs`: commander and the verb's modules), the request until the exec's
 * answer was complete (`requestMs`), and from then to the exit (`exitMs`).
 */
function timingMarks(): { answered(): void } | undefined {
  if (process.env.BERTH_EXEC_TIMING !== "1") return undefined;
  const commandMs = performance.now();
  const mainMs = performance.getEntriesByName("berth:main")[0]?.startTime;
  let answeredAt: number | undefined;
  process.once("exit", () => {
    const exitAt = performance.now();
    const r = (x: number | undefined) => (x === undefined ? undefined : Math.round(x * 100) / 100);
    const marks = { mainMs: r(mainMs), commandMs: r(commandMs), requestMs: r(answeredAt === undefined ? undefined : answeredAt - commandMs), exitMs: r(answeredAt === undefined ? undefined : exitAt - answeredAt) };
    process.stderr.write(`berth-exec-timing ${JSON.stringify(marks)}\n`);
  });
  return { answered: () => void (answeredAt = performance.now()) };
}

/**
 * `berth exec [-i] NAME -- CMD [ARGS...]`, as docker exec: what the command writes goes to
 * stdout and stderr as it comes, byte for byte; with -i this process's stdin is forwarded.
 * Exits with the command's exit code; 127 (not found) or 126 (not executable) with the
 * reason on one line when it cannot be started; 124 on timeout; 130 on Ctrl-C, which kills
 * the command.
 */
export async function runExec(ctx: CommandContext, name: string, argv: string[], o: ExecOptions): Promise<number> {
  const marks = timingMarks();
  if (argv.length === 0) throw new UsageError("no command given; usage: berth exec NAME -- CMD [ARGS...]");
  const env = parseEnv(o.env);
  // (the API takes whole milliseconds: `1.5ms` waits 2)
  const timeoutMs = o.timeout === undefined ? undefined : Math.ceil((await import("../manifest-args.js")).parseTimeout(o.timeout));
  // docker exec -it refuses a stdin that is not a terminal (a pipe would never be raw).
  if (o.tty && o.interactive && (ctx.stdin as { isTTY?: boolean }).isTTY !== true) throw new UsageError("the input device is not a TTY (use -i without -t for a pipe)");
  // With a raw terminal Ctrl-C is a byte for the container's terminal, not an interrupt here.
  const raw = o.tty === true && o.interactive === true;
  const signal = raw ? new AbortController().signal : ctx.interrupt();
  const terminal = o.tty ? await import("./attach.js") : undefined;
  const session = terminal?.openTerminal(ctx, { raw, forwardStdin: o.interactive === true, detachKeys: Buffer.alloc(0), onDetach: () => {} });
  const io: ExecStreamIo = session
    ? { stdout: byteSink(ctx.stdout), stderr: byteSink(ctx.stderr), framed: true, control: session.control, ...(session.stdin ? { stdin: Readable.from(session.stdin) } : {}) }
    : { stdout: byteSink(ctx.stdout), stderr: byteSink(ctx.stderr), ...(o.interactive ? { stdin: ctx.stdin } : {}) };
  const size = terminal?.terminalSize(ctx.stdout);
  let exit;
  try {
    exit = await ctx.client.execStream(
      name,
      {
        argv,
        ...(Object.keys(env).length ? { env } : {}),
        ...(o.user ? { user: o.user } : {}),
        ...(o.workdir ? { workingDir: o.workdir } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(o.tty ? { tty: true } : {}),
        ...(size ? { size } : {}),
      },
      io,
      signal,
    );
  } catch (err) {
    if (signal.aborted) return EXEC_INTERRUPTED_EXIT;
    throw err;
  } finally {
    marks?.answered();
    session?.restore();
    // A terminal (or a pipe still open) would keep this process alive.
    if (o.interactive) ctx.stdin.destroy();
  }
  if (exit.startError) {
    ctx.stderr.write(`berth: ${exit.startError}\n`);
    return exit.exitCode;
  }
  if (exit.timedOut) {
    const after = timeoutMs !== undefined ? ` after ${(await import("../../lib/units.js")).formatDuration(timeoutMs)}` : "";
    ctx.stderr.write(`berth: exec in ${name}: ${argv[0]} timed out${after}\n`);
    return EXEC_TIMEOUT_EXIT;
  }
  return exit.exitCode;
}
