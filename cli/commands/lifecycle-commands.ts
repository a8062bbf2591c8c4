/** `berth stop`, `start` and `restart`: one command each over lifecycle.ts, through the daemon. */
import type { Command } from "commander";
import { clientContext, run } from "./registration.js";

export function registerLifecycleCommands(program: Command): void {
  for (const [action, summary] of [
    ["stop", "stop running containers"],
    ["start", "start stopped containers"],
    ["restart", "restart containers"],
  ] as const) {
    program
      .command(action)
      .summary(summary)
      .description(`${summary[0]!.toUpperCase()}${summary.slice(1)}; prints each name as it is done, like docker ${action}.`)
      .argument("<names...>", "container names")
      .addHelpText(
        "after",
        `
Examples:
  berth ${action} web
  berth ${action} web db`,
      )
      .action(async (names: string[], _opts, cmd: Command) => {
        const { runLifecycle } = await import("./lifecycle.js");
        await run(runLifecycle(await clientContext(cmd), action, names));
      });
  }
}
