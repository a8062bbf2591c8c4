/** `berth logs`, `exec` and `port`: a running container's output, commands in it and its ports, through the daemon. */
import type { Command } from "commander";
import { clientContext, run } from "./registration.js";

export function registerContainerCommands(program: Command): void {
  const collect = (v: string, prev: string[]) => [...prev, v];

  program
    .command("logs")
    .summary("print a container's output")
    .description("Print a container's output: its stdout to stdout and its stderr to stderr. With -f, keep printing until Ctrl-C.")
    .argument("<name>", "container name")
    .option("-f, --follow", "keep printing new output", false)
    .option("-n, --tail <lines>", 'only the last N lines ("all" for every line)')
    .option("--since <time>", "only output since a time: a duration back from now (10m) or an RFC 3339 time")
    .option("-t, --timestamps", "prefix each line with its time (RFC 3339, nanoseconds)", false)
    .addHelpText(
      "after",
      `
Examples:
  berth logs web
  berth logs -f --tail 20 web
  berth logs --since 10m -t web
  berth logs --since 2024-05-01T10:00:00Z web`,
    )
    .action(async (name: string, opts, cmd: Command) => {
      const { runLogs } = await import("./logs.js");
      await run(runLogs(await clientContext(cmd), name, opts));
    });

  program
    .command("exec")
    .summary("run a command in a running container")
    .description(
      "Run a command in a running container, as docker exec: its stdout and stderr are written here as they come, byte for byte, " +
        "and berth exits with its exit code — 127 if the command does not exist, 126 if it cannot be run, 124 if it timed out, " +
        "130 after Ctrl-C (which kills it). With -i, standard input is passed on (and closed at its end). " +
        "Put -- before the command when it has options of its own.",
    )
    .argument("<name>", "container name")
    .argument("<command...>", "command and its arguments")
    .option("-i, --interactive", "pass standard input to the command", false)
    .option("-e, --env <name=value>", "set an environment variable (repeatable)", collect, [] as string[])
    .option("-u, --user <user>", "user[:group] to run as (name or id)")
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("--timeout <duration>", "kill the command after this long")
    .allowUnknownOption()
    .addHelpText(
      "after",
      `
Examples:
  berth exec web -- cat /etc/hostname
  berth exec db -- cat /var/lib/data.db > data.db
  printf 'SELECT 1;' | berth exec -i db -- sqlite3 /data/app.db
  berth exec web -e DEBUG=1 -u nobody -- sh -c 'echo $DEBUG'
  berth exec db --timeout 30s -- pg_isready`,
    )
    .action(async (name: string, command: string[], opts, cmd: Command) => {
      const { runExec } = await import("./exec.js");
      await run(runExec(await clientContext(cmd), name, command, opts));
    });

  program
    .command("port")
    .summary("list a container's published ports")
    .description("List the published ports of a container as docker port does, or the host address of one container port (random host ports resolved).")
    .argument("<name>", "container name")
    .argument("[port]", "a container port, e.g. 80 or 53/udp")
    .addHelpText(
      "after",
      `
Examples:
  berth port web
  berth port web 80
  curl http://$(berth port web 80)/`,
    )
    .action(async (name: string, port: string | undefined, _opts, cmd: Command) => {
      const { runPort } = await import("./port.js");
      await run(runPort(await clientContext(cmd), name, port));
    });
}
