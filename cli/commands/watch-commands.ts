/** `berth events` and `wait`: watching what the daemon does, through the daemon. */
import type { Command } from "commander";
import { clientContext, run } from "./registration.js";

export function registerWatchCommands(program: Command): void {
  program
    .command("events")
    .summary("list what the daemon did and saw")
    .description("List recent events (created, started, died, back-off, unhealthy, ...). With -w, keep printing new ones until Ctrl-C.")
    .option("-w, --watch", "keep printing new events", false)
    .option("--for <object>", "only events of this object (KIND/NAME)")
    .addHelpText(
      "after",
      `
Examples:
  berth events
  berth events -w --for container/web`,
    )
    .action(async (opts, cmd: Command) => {
      const { runEvents } = await import("./events.js");
      await run(runEvents(await clientContext(cmd), opts));
    });

  program
    .command("wait")
    .summary("wait until objects are healthy, running, ready or deleted")
    .description(
      "Wait until every object meets the condition; print `KIND/NAME condition met` for each. Exits 1 on timeout " +
        "(naming the last state) and at once when a container fails. Conditions: healthy, running, ready (as apply --wait), " +
        "deleted.",
    )
    .argument("<objects...>", "KIND/NAME... or KIND NAME...")
    .requiredOption("--for <condition>", "healthy | running | ready | deleted")
    .option("--timeout <duration>", "how long to wait", "5m")
    .addHelpText(
      "after",
      `
Examples:
  berth wait --for=healthy container/web
  berth wait --for=deleted ctr/web --timeout 30s`,
    )
    .action(async (objects: string[], opts, cmd: Command) => {
      const { runWait } = await import("./wait.js");
      await run(runWait(await clientContext(cmd), objects, opts));
    });
}
