/**
 * What a conformance-suite container (or exec) does, said once and honoured by both
 * implementations: `behaviorCommand` turns a Behavior into the busybox shell script the
 * real runtime runs, with the Behavior itself as JSON on the script's first line (a shell
 * comment); a fake reads that line back with `decodeBehavior` and acts it out (see
 * fake-harness.ts). The suite asserts only what both the script and its reading produce.
 *
 * Signals follow pid-1 rules, as inside a real container: a signal the behaviour neither
 * traps nor lists is ignored (the kernel drops unhandled signals to a namespace's init),
 * SIGKILL always ends it (exit code 137).
 */

/** The process prints `stdout` then `stderr` lines after `afterMs`, and exits with `code`. */
export interface ExitBehavior {
  kind: "exit";
  code: number;
  afterMs?: number;
  stdout?: string[];
  stderr?: string[];
}

/**
 * A service: prints "ready" once its traps are set, then runs until a trapped signal ends
 * it: `traps` maps a signal name (e.g. SIGTERM) to the exit code it exits with, after
 * printing `say` when given.
 */
export interface ServeBehavior {
  kind: "serve";
  traps?: Record<string, { exitCode: number; say?: string }>;
}

/** Prints each line, `intervalMs` apart (the first at once), then exits 0 one interval after the last. */
export interface TickBehavior {
  kind: "tick";
  lines: string[];
  intervalMs: number;
}

export type Behavior = ExitBehavior | ServeBehavior | TickBehavior;

/** An exec: after `sleepMs`, writes `stdout` and `stderr` (verbatim, no newline added) and exits with `exitCode`. */
export interface ExecBehavior {
  kind: "exec";
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  sleepMs?: number;
}

const MARK = "# berth-conformance ";

/** `'...'` for sh, any text. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** The trap's short signal name (`SIGTERM` → `TERM`). */
function trapName(signal: string): string {
  return signal.toUpperCase().replace(/^SIG/, "");
}

function script(b: Behavior | ExecBehavior): string {
  switch (b.kind) {
    case "exit": {
      const out: string[] = [];
      if (b.afterMs) out.push(`sleep ${seconds(b.afterMs)}`);
      if (b.stdout?.length) out.push(`printf '%s\\n' ${b.stdout.map(shQuote).join(" ")}`);
      if (b.stderr?.length) out.push(`printf '%s\\n' ${b.stderr.map(shQuote).join(" ")} >&2`);
      out.push(`exit ${b.code}`);
      return out.join("\n");
    }
    case "serve": {
      const out = Object.entries(b.traps ?? {}).map(
        ([sig, t]) => `trap ${shQuote(`${t.say !== undefined ? `echo ${shQuote(t.say)}; ` : ""}exit ${t.exitCode}`)} ${trapName(sig)}`,
      );
      // A trapped signal interrupts `wait` at once (a foreground sleep would delay it).
      out.push("echo ready", "while :; do sleep 3600 & wait $!; done");
      return out.join("\n");
    }
    case "tick":
      return [...b.lines.map((l) => `echo ${shQuote(l)}; sleep ${seconds(b.intervalMs)}`), "exit 0"].join("\n");
    case "exec": {
      const out: string[] = [];
      if (b.sleepMs) out.push(`sleep ${seconds(b.sleepMs)}`);
      if (b.stdout) out.push(`printf '%s' ${shQuote(b.stdout)}`);
      if (b.stderr) out.push(`printf '%s' ${shQuote(b.stderr)} >&2`);
      out.push(`exit ${b.exitCode ?? 0}`);
      return out.join("\n");
    }
  }
}

/** `["sh", "-c", script]` with the behaviour on the first line. */
export function behaviorCommand(b: Behavior | ExecBehavior): string[] {
  return ["sh", "-c", `${MARK}${JSON.stringify(b)}\n${script(b)}`];
}

/** The behaviour `behaviorCommand` put into `argv`, if any. */
export function decodeBehavior(argv: readonly string[] | undefined): Behavior | ExecBehavior | undefined {
  if (!argv || argv.length !== 3 || argv[0] !== "sh" || argv[1] !== "-c" || !argv[2]!.startsWith(MARK)) return undefined;
  const first = argv[2]!.slice(MARK.length).split("\n", 1)[0]!;
  try {
    return JSON.parse(first) as Behavior | ExecBehavior;
  } catch {
    return undefined;
  }
}
