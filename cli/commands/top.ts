import type { CommandContext } from "../client.js";
import { formatTable } from "../table.js";

/**
 * `berth top NAME [ps-options]`, as `docker top`: the container's processes as the host sees
 * them — PID, USER, TIME, CMD read from /proc without options; with options the host's ps
 * is run with them over the container's processes only (`berth top web -o pid,comm`, `berth
 * top web aux`).
 */
export async function runTop(ctx: CommandContext, name: string, psArgs: string[], opts: { output?: string } = {}): Promise<number> {
  const top = await ctx.client.top(name, psArgs.length ? psArgs.join(" ") : undefined);
  if (opts.output === "json") {
    ctx.stdout.write(`${JSON.stringify(top, null, 2)}\n`);
    return 0;
  }
  ctx.stdout.write(formatTable(top.titles, top.processes));
  return 0;
}
