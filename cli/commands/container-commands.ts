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
    .option("-t, --tty", "run it on a pseudo-terminal in the container (with -i: this terminal in raw mode, Ctrl-C goes to it)", false)
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
  berth exec -it web -- sh
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
    .command("run")
    .summary("create and run a container, as docker run")
    .description(
      "Create a Container object (stack run unless --stack) through the same apply path as manifests and run it: its output is shown until it ends, " +
        "with -i your input is passed on and with -t it gets a terminal; berth exits with its exit code. --rm deletes the object when it exited; " +
        "Ctrl-P Ctrl-Q detaches and leaves it running. -p and -v take the manifests' short syntax.",
    )
    .argument("<image>", "image reference")
    .argument("[command...]", "command and its arguments")
    .option("--rm", "delete the container's object when it exited", false)
    .option("-i, --interactive", "pass standard input on (keeps the container's stdin open)", false)
    .option("-t, --tty", "give it a terminal", false)
    .option("-d, --detach", "print its name and return once it runs", false)
    .option("--name <name>", "its name (default: generated, as Docker's)")
    .option("-e, --env <name=value>", "set an environment variable (repeatable)", collect, [] as string[])
    .option("-p, --publish <port>", "publish a port, [ip:]host:container[/proto] (repeatable)", collect, [] as string[])
    .option("-v, --volume <mount>", "mount a volume or bind, source:target[:ro] (repeatable)", collect, [] as string[])
    .option("--network <name>", "a network to join (or host, none, container:<name>)")
    .option("--restart <policy>", "no, always, unless-stopped, on-failure[:N] (default no)")
    .option("--stack <stack>", "the stack of its object (default run)")
    .option("--detach-keys <keys>", "the detach sequence, as Docker's", "ctrl-p,ctrl-q")
    .addHelpText(
      "after",
      `
Examples:
  berth run --rm localhost/busybox echo hello
  berth run --rm -it localhost/busybox sh
  berth run -d --name web -p 8000:80 localhost/nginx`,
    )
    .action(async (image: string, command: string[], opts, cmd: Command) => {
      const { runRun } = await import("./run.js");
      await run(runRun(await clientContext(cmd), image, command, opts));
    });

  program
    .command("attach")
    .summary("attach to a running container's main process")
    .description(
      "Attach this terminal to a running container's main process, as docker attach: its output from now on, your input when it has stdin: true, " +
        "a terminal (raw mode) when it has tty: true. Ctrl-P Ctrl-Q detaches and leaves it running; otherwise berth exits with its exit code when it ends.",
    )
    .argument("<name>", "container name")
    .option("--detach-keys <keys>", "the detach sequence, as Docker's (ctrl-<c> or a character, comma-separated)", "ctrl-p,ctrl-q")
    .option("--sig-proxy <bool>", "send signals berth receives to the container (without a terminal, Ctrl-C stops it)", "true")
    .option("--no-stdin", "do not pass input on")
    .action(async (name: string, opts: { detachKeys: string; sigProxy: string; stdin: boolean }, cmd: Command) => {
      const { runAttach } = await import("./attach.js");
      await run(runAttach(await clientContext(cmd), name, { detachKeys: opts.detachKeys, sigProxy: opts.sigProxy !== "false", stdin: opts.stdin }));
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
    .command("cp")
    .summary("copy files between a container and the local file system")
    .description(
      "Copy files or directories between a container and here, as docker cp, running or stopped. NAME:PATH is a path in the " +
        "container as it sees it (its volumes and tmpfs too, while it runs); symlinks in it are followed inside the container, " +
        "never out of it. A trailing / says PATH must be a directory; DIR/. copies the contents of DIR. - reads a tar from " +
        "standard input (into a directory) or writes one to standard output. Files copied into a container are owned by its " +
        "root, copied out by you; with -a by the uid/gid they had at the source.",
    )
    .argument("<src>", "NAME:PATH, a local path, or - (a tar on standard input)")
    .argument("<dst>", "NAME:PATH, a local path, or - (a tar on standard output)")
    .option("-a, --archive", "keep the uid/gid of the source", false)
    .option("-L, --follow-link", "follow a symlink named by the source path", false)
    .option("-q, --quiet", "print nothing on success", false)
    .addHelpText(
      "after",
      `
Examples:
  berth cp web:/etc/nginx/nginx.conf .
  berth cp ./site/. web:/usr/share/nginx/html
  berth cp -a db:/var/lib/data ./backup
  berth cp web:/var/log - | tar -t
  tar -c conf | berth cp - web:/etc/app`,
    )
    .action(async (src: string, dst: string, opts, cmd: Command) => {
      const { runCp } = await import("./cp.js");
      await run(runCp(await clientContext(cmd), src, dst, opts));
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

  registerInspectionCommands(program);
}

/** `berth top`, `stats`, `inspect`, `info` and `version`: inspection, through the daemon. */
function registerInspectionCommands(program: Command): void {
  program
    .command("top")
    .summary("list a container's processes")
    .description(
      "List the processes of a running container as the host sees them, as docker top: PID, USER, TIME and CMD, read from /proc (the image needs no ps). " +
        "With ps options the host's ps is run with them over the container's processes only.",
    )
    .argument("<name>", "container name")
    .argument("[ps-options...]", "options for the host's ps, e.g. -o pid,comm or aux")
    .option("--output-json", "print the titles and rows as JSON", false)
    .allowUnknownOption()
    .addHelpText(
      "after",
      `
Examples:
  berth top web
  berth top web aux
  berth top web -o pid,ppid,rss,comm`,
    )
    .action(async (name: string, psArgs: string[], opts: { outputJson: boolean }, cmd: Command) => {
      const { runTop } = await import("./top.js");
      await run(runTop(await clientContext(cmd), name, psArgs, opts.outputJson ? { output: "json" } : {}));
    });

  program
    .command("stats")
    .summary("show containers' resource use, live")
    .description(
      "Show CPU %, memory usage / limit and %, network I/O, block I/O and pids of containers, as docker stats, redrawn every second until Ctrl-C. " +
        "Without names: the running containers (-a: every one). Memory is usage without cache (as Docker's), the limit the host's memory when there is none.",
    )
    .argument("[names...]", "container names")
    .option("-a, --all", "every container, not only the running ones", false)
    .option("--no-stream", "print one sample (over one second) and exit")
    .option("--format <format>", "table or json (one object per container per sample)", "table")
    .addHelpText(
      "after",
      `
Examples:
  berth stats
  berth stats --no-stream web db
  berth stats --no-stream --format json web`,
    )
    .action(async (names: string[], opts: { all: boolean; stream: boolean; format: string }, cmd: Command) => {
      const { runStats } = await import("./stats.js");
      await run(runStats(await clientContext(cmd), names, opts));
    });

  program
    .command("inspect")
    .summary("show containers (or images) as docker inspect does")
    .description(
      "Print a JSON array with each container as docker inspect shows it (State, Config, HostConfig, Mounts, NetworkSettings, RestartCount, Health with its log); " +
        "fields berth has no value for are left out. A name that is no container is looked up as an image (berth image inspect's record). Exit 1 if a name is neither.",
    )
    .argument("<names...>", "container (or image) names")
    .option("-o, --output <format>", "json or yaml", "json")
    .option("--type <type>", "only container or only image")
    .addHelpText(
      "after",
      `
Examples:
  berth inspect web
  berth inspect web | jq '.[0].NetworkSettings.Networks'
  berth inspect --type image localhost/busybox:latest`,
    )
    .action(async (names: string[], opts: { output: string; type?: string }, cmd: Command) => {
      const { runInspect } = await import("./inspect.js");
      await run(runInspect(await clientContext(cmd), names, opts));
    });

  program
    .command("info")
    .summary("show the daemon's host, runtime, storage and counts")
    .description("Show what the daemon runs on and with, as docker info: host, runc and conmon, cgroups, storage and its disk use, counts, registry settings, and warnings (berth doctor's).")
    .option("-o, --output <format>", "text, json or yaml", "text")
    .option("--no-usage", "do not measure the state directory's disk use")
    .action(async (opts: { output: string; usage: boolean }, cmd: Command) => {
      const { runInfo } = await import("./info.js");
      await run(runInfo(await clientContext(cmd), opts));
    });

  program
    .command("version")
    .summary("show the client's and the daemon's versions")
    .description("Show the versions of this client and of the daemon (API, Node, OS, runc, conmon), as docker version. The client's are shown even when no daemon answers; then berth exits 1.")
    .option("-o, --output <format>", "text, json or yaml", "text")
    .action(async (opts: { output: string }, cmd: Command) => {
      const { runVersion } = await import("./version.js");
      await run(runVersion(await clientContext(cmd), opts));
    });
}
