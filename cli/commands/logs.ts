import type { CommandContext, Output } from "../client.js";
import { UsageError } from "../errors.js";
import { parseSince } from "../manifest-args.js";

export interface LogsOptions {
  follow: boolean;
  /** A number of lines, or `all`. */
  tail?: string;
  since?: string;
  timestamps: boolean;
}

/** `--tail`: a whole number or `all` (docker) → lines, undefined for all. */
export function parseTail(text: string | undefined): number | undefined {
  if (text === undefined || text === "all") return undefined;
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`invalid --tail ${JSON.stringify(text)}: expected a number of lines or "all"`);
  return Number(text);
}

/**
 * `berth logs NAME`: stdout lines to stdout, stderr lines to stderr, partial lines joined as
 * the container wrote them; `--timestamps` prefixes each line with its RFC 3339 time (docker).
 * With -f it streams until the container's log ends or Ctrl-C, which exits 0.
 */
export async function runLogs(ctx: CommandContext, name: string, o: LogsOptions): Promise<number> {
  const tail = parseTail(o.tail);
  const since = o.since === undefined ? undefined : parseSince(o.since, ctx.clock.now());
  const signal = o.follow ? ctx.interrupt() : undefined;
  // a partial line continues on the next line of the same stream: no second timestamp
  const atLineStart = { stdout: true, stderr: true };
  const outs: Record<"stdout" | "stderr", Output> = { stdout: ctx.stdout, stderr: ctx.stderr };
  const lines = ctx.client.logs(name, { follow: o.follow, ...(tail !== undefined ? { tail } : {}), ...(since !== undefined ? { since } : {}) }, signal);
  try {
    for await (const line of lines) {
      const stream = line.stream === "stderr" ? "stderr" : "stdout";
      const prefix = o.timestamps && atLineStart[stream] ? `${line.time} ` : "";
      outs[stream].write(`${prefix}${line.text}${line.full ? "\n" : ""}`);
      atLineStart[stream] = line.full;
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  return 0;
}
