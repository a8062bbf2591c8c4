import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { objectArgs, parseTimeout } from "../manifest-args.js";
import { failureMessage, timeoutMessage, waitFor, WAIT_CONDITIONS, type WaitCondition } from "../progress.js";

export interface WaitOptions {
  for: string;
  timeout: string;
  pollMs?: number;
}

/**
 * `berth wait --for=COND KIND/NAME...`: 0 when every object meets the condition (printing
 * `container/web condition met`, as kubectl wait); 1 on timeout, naming the last state, or at
 * once when a container is Failed. A missing object is NotFound (exit 3) except for `deleted`.
 */
export async function runWait(ctx: CommandContext, args: string[], o: WaitOptions): Promise<number> {
  const condition = o.for as WaitCondition;
  if (!WAIT_CONDITIONS.includes(condition)) throw new UsageError(`invalid --for ${JSON.stringify(o.for)}: use one of ${WAIT_CONDITIONS.join(", ")}`);
  const timeoutMs = parseTimeout(o.timeout);
  const targets = objectArgs(args);
  const result = await waitFor(ctx, targets, { condition, timeoutMs, notFoundIsError: true, ...(o.pollMs ? { pollMs: o.pollMs } : {}) });
  if (result.outcome === "failed") {
    for (const s of result.states.filter((x) => x.failed)) ctx.stderr.write(`berth: ${failureMessage(s)}\n`);
    return 1;
  }
  if (result.outcome === "timeout") {
    ctx.stderr.write(`berth: ${timeoutMessage(result.states, timeoutMs, condition)}\n`);
    return 1;
  }
  for (const s of result.states) ctx.stdout.write(`${s.ref} condition met\n`);
  return 0;
}
