/**
 * `berth logs`, `exec`, `port`, `commit` and `export`: a running container's output, commands
 * in it, its ports, and its filesystem as an image or a tar, through the daemon. (`berth diff
 * CONTAINER` shares `diff` with the manifest diff: manifest-commands.ts.)
 */
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
    .command("commit")
    .summary("create an image from a container's changes")
    .description(
      "Create an image from a container, as docker commit: its image's layers plus a layer of what the container changed " +
        "(berth diff shows it), with the image's config — changed by --change instructions — and a history entry (-m). " +
        "Prints the new image's ID. The container is not paused: commit a stopped one for an exact copy " +
        "(a file that changes while it is read fails the commit).",
    )
    .argument("<container>", "container name")
    .argument("[repository[:tag]]", "name of the new image (tag default latest); none leaves it untagged")
    .option(
      "-c, --change <instruction>",
      "apply a Dockerfile instruction to the image config: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR (repeatable)",
      collect,
      [] as string[],
    )
    .option("-m, --message <message>", "commit message (the history entry's comment)")
    .option("-a, --author <author>", 'author, e.g. "Jane Doe <jane@example.com>"')
    .addHelpText(
      "after",
      `
Examples:
  berth commit web localhost/web:fixed
  berth commit -m 'add curl' -c 'CMD ["/app/run"]' -c 'ENV MODE=prod' web localhost/web:2`,
    )
    .action(async (name: string, reference: string | undefined, opts, cmd: Command) => {
      const { runCommit } = await import("./container-layer.js");
      await run(runCommit(await clientContext(cmd), name, reference, opts));
    });

  program
    .command("export")
    .summary("write a container's filesystem as a tar")
    .description(
      "Write a container's whole filesystem (its image and its changes, not its volumes) as a tar archive, as docker export; " +
        "berth image import takes it back as a one-layer image.",
    )
    .argument("<container>", "container name")
    .option("-o, --output <file>", "write to this file (default: standard output)")
    .addHelpText(
      "after",
      `
Examples:
  berth export web -o web.tar
  berth export web | tar -t | head
  berth export web | berth image import - localhost/web-flat:1`,
    )
    .action(async (name: string, opts, cmd: Command) => {
      const { runExport } = await import("./container-layer.js");
      await run(runExport(await clientContext(cmd), name, opts));
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
