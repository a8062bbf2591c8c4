/** `berth stop`, `start` and `restart`: one command each over lifecycle.ts, through the daemon. */
import type { Command } from "commander";
import { clientContext, run } from "./registration.js";

export function registerLifecycleCommands(program: Command): void {
  for (const [action, summary] of [
    ["stop", "stop running containers"],
    ["start", "start stopped containers"],
    ["restart", "restart containers"],
  ] as const) {
    const cmd = program.command(action);
    if (action === "start") {
      cmd
        .option("-a, --attach", "attach to its output before it runs, as docker start -a; berth exits with its exit code", false)
        .option("-i, --interactive", "with -a: pass your input on (a container with stdin: true)", false)
        .option("--detach-keys <keys>", "the detach sequence, as Docker's", "ctrl-p,ctrl-q");
    }
    cmd
      .summary(summary)
      .description(`${summary[0]!.toUpperCase()}${summary.slice(1)}; prints each name as it is done, like docker ${action}.`)
      .argument("<names...>", "container names")
      .addHelpText(
        "after",
        `
Examples:
  berth ${action} web
  berth ${action} web db${action === "start" ? "\n  berth start -ai shell             attached from its first byte, your input passed on" : ""}`,
      )
      .action(async (names: string[], opts: { attach?: boolean; interactive?: boolean; detachKeys?: string }, cmd: Command) => {
        const { runLifecycle, runStartAttached } = await import("./lifecycle.js");
        const ctx = await clientContext(cmd);
        if (action === "start" && (opts.attach || opts.interactive)) await run(runStartAttached(ctx, names, { interactive: opts.interactive === true, detachKeys: opts.detachKeys }));
        else await run(runLifecycle(ctx, action, names));
      });
  }
}
