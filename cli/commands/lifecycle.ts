import { errorMessage, exitCodeOfKind, isBerthError } from "../../lib/errors.js";
import type { CommandContext } from "../client.js";

/**
 * `berth stop|start|restart NAME...`: acts on each container in turn and prints its name,
 * as docker does. A failure is reported and the rest still run; the exit code is the
 * first failure's.
 */
export async function runLifecycle(ctx: CommandContext, action: "stop" | "start" | "restart", names: string[]): Promise<number> {
  let code = 0;
  for (const name of names) {
    try {
      await ctx.client.act(name, action);
      ctx.stdout.write(`${name}\n`);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      ctx.stderr.write(`berth: ${errorMessage(err)}\n`);
      if (err.kind === "Unavailable") return exitCodeOfKind.Unavailable;
      if (code === 0) code = exitCodeOfKind[err.kind];
    }
  }
  return code;
}
