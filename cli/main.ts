#!/usr/bin/env node
/**
 * The berth command line. Command modules are imported lazily inside their actions, so
 * `berth --version` and `berth --help` load nothing but commander.
 */
import { Command, CommanderError, Option } from "commander";
import { readFileSync } from "node:fs";
import { fail, UsageError } from "./errors.js";
import type { GlobalOptions } from "./local.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

export function buildProgram(): Command {
  const program = new Command("berth")
    .description("Run containers declaratively on a single Linux host.")
    .version(pkg.version, "-v, --version", "print the berth version")
    .helpOption("-h, --help", "show help for a command")
    .showSuggestionAfterError(true)
    // Before any .command(): subcommands copy these settings when they are created.
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addOption(new Option("--root <dir>", "state directory (images, containers, volumes)").env("BERTH_ROOT").default("/var/lib/berth"))
    .addOption(new Option("--run-root <dir>", "runtime directory, on tmpfs (runc state, exit files, API socket)").env("BERTH_RUN_ROOT").default("/run/berth"))
    .addOption(new Option("--socket <path>", "the daemon's API socket (default: <run-root>/berth.sock)").env("BERTH_SOCKET"))
    .addHelpText(
      "after",
      `
Examples:
  berth apply -f examples/web/ --wait    create or update the objects, wait until ready
  berth get                              list every object; berth get ctr web -o yaml
  berth logs -f web                      follow a container's output
  berth validate -f examples/web/        check manifests, print located errors
  berth validate -f app.yaml -o json     the same errors as data
  berth image import rootfs.tar localhost/busybox:latest --change 'CMD ["sh"]'
  berth image ls
  berth doctor                           check that this host can run containers

Docs: every kind's JSON Schema is in schemas/*.json (editors can use schemas/berth.json).`,
    );

  program
    .command("validate")
    .summary("check manifests and print every error with its location")
    .description(
      "Check manifests without touching the host. Prints each problem as file:line:column, the object, the field path,\n" +
        "what was expected and a suggestion where one is obvious. Exits 0 when valid, 1 when not.",
    )
    .requiredOption("-f, --filename <path...>", "files or directories of manifests; - reads standard input")
    .option("-R, --recursive", "process directories recursively", false)
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .addHelpText(
      "after",
      `
Examples:
  berth validate -f web.yaml
  berth validate -f manifests/ -R
  cat web.yaml | berth validate -f -`,
    )
    .action(async (opts: { filename: string[]; recursive: boolean; output: "text" | "json"; allowPrivileged: boolean }) => {
      const { runValidate } = await import("./commands/validate.js");
      process.exitCode = await runValidate(opts);
    });

  const globals = (cmd: Command): GlobalOptions => {
    const o = cmd.optsWithGlobals() as { root: string; runRoot: string };
    return { root: o.root, runRoot: o.runRoot };
  };
  const run = (p: Promise<number>) => p.then((code) => void (process.exitCode = code));

  // Commands that talk to the daemon over its API socket.
  const ctx = async (cmd: Command) => {
    const o = cmd.optsWithGlobals() as { runRoot: string; socket?: string };
    const { processContext } = await import("./client.js");
    return processContext({ runRoot: o.runRoot, ...(o.socket ? { socket: o.socket } : {}) });
  };
  const collect = (v: string, prev: string[]) => [...prev, v];
  const filenameHelp = "files or directories of manifests; - reads standard input (repeatable)";

  program
    .command("apply")
    .summary("create or update objects from manifests")
    .description(
      "Send manifests to the daemon, which validates them and stores them as the desired state of a stack; the " +
        "reconcile loop then makes the host match. Prints one line per object: created, configured, unchanged or " +
        "deleted. The stack defaults to the name of the first directory or file given. " +
        "Exits 0 when applied, 1 when the manifests have errors or, with --wait, an object failed or time ran out.",
    )
    .requiredOption("-f, --filename <path...>", filenameHelp)
    .option("-R, --recursive", "process directories recursively", false)
    .option("--stack <name>", "the stack the objects belong to (default: from the first path; required with -f -)")
    .option("--prune", "delete objects of the stack that are not in the manifests", false)
    .option("--dry-run", "only report what would change", false)
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .option("--wait", "wait until every applied object is ready (containers running, and healthy when they have a healthcheck)", false)
    .option("--timeout <duration>", "how long --wait waits", "5m")
    .addHelpText(
      "after",
      `
Examples:
  berth apply -f examples/web/                  stack "web"
  berth apply -f app.yaml --stack shop --prune  also delete shop's objects no longer in app.yaml
  berth apply -f manifests/ -R --dry-run
  berth apply -f web.yaml --wait --timeout 2m
  cat web.yaml | berth apply -f - --stack web`,
    )
    .action(async (opts, cmd: Command) => {
      const { runApply } = await import("./commands/apply.js");
      await run(runApply(await ctx(cmd), opts));
    });

  program
    .command("diff")
    .summary("show what apply would change, as a diff")
    .description(
      "Show, as unified diffs of their YAML, how the objects stored in the daemon would change if the manifests " +
        "were applied (a dry-run apply). Exits 0 when nothing would change, 1 when something would, 2 or more on errors.",
    )
    .requiredOption("-f, --filename <path...>", filenameHelp)
    .option("-R, --recursive", "process directories recursively", false)
    .option("--stack <name>", "the stack (default: from the first path; required with -f -)")
    .option("--prune", "also show the deletions apply --prune would make", false)
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .addHelpText(
      "after",
      `
Examples:
  berth diff -f examples/web/
  berth diff -f app.yaml --stack shop --prune`,
    )
    .action(async (opts, cmd: Command) => {
      const { runDiff } = await import("./commands/diff.js");
      await run(runDiff(await ctx(cmd), opts));
    });

  program
    .command("get")
    .summary("list objects and their status")
    .description(
      "List objects of one kind, or of every kind when none is given. KIND is singular, plural or short " +
        "(container, containers, ctr; image, img; volume, vol; network, net; healthcheck, hc).",
    )
    .argument("[kind]", "kind of object, or KIND/NAME")
    .argument("[name]", "one object's name")
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "wide", "json", "yaml", "name"]).default("table"))
    .option("-l, --selector <labels>", "only objects with these labels: key=value[,key=value...]")
    .addHelpText(
      "after",
      `
Examples:
  berth get                          every object, a table per kind
  berth get containers               NAME, IMAGE, STATUS, RESTARTS, AGE
  berth get ctr -o wide -l app=web   also PID, STACK, REASON
  berth get container web -o yaml
  berth get vol -o name`,
    )
    .action(async (kind: string | undefined, name: string | undefined, opts, cmd: Command) => {
      const { runGet } = await import("./commands/get.js");
      await run(runGet(await ctx(cmd), [kind, name].filter((a): a is string => a !== undefined), opts));
    });

  program
    .command("describe")
    .summary("show an object in detail, with its recent events")
    .description("Show an object's metadata, spec, status, last health check results and recent events.")
    .argument("<kind>", "kind of object, or KIND/NAME")
    .argument("[name]", "the object's name")
    .addHelpText(
      "after",
      `
Examples:
  berth describe container web
  berth describe vol/data`,
    )
    .action(async (kind: string, name: string | undefined, _opts, cmd: Command) => {
      const { runDescribe } = await import("./commands/describe.js");
      await run(runDescribe(await ctx(cmd), [kind, name].filter((a): a is string => a !== undefined)));
    });

  program
    .command("delete")
    .summary("delete objects, by manifest or by name")
    .description(
      "Delete the objects named in manifests (they are only parsed, not validated) or on the command line. " +
        "The daemon stops and removes what they created. Exits 3 when an object does not exist, unless --ignore-not-found.",
    )
    .argument("[objects...]", "KIND NAME... or KIND/NAME...")
    .option("-f, --filename <path...>", filenameHelp)
    .option("-R, --recursive", "process directories recursively", false)
    .option("--ignore-not-found", "treat objects that do not exist as deleted", false)
    .addHelpText(
      "after",
      `
Examples:
  berth delete -f examples/web/
  berth delete container web db
  berth delete ctr/web vol/data --ignore-not-found`,
    )
    .action(async (objects: string[], opts, cmd: Command) => {
      const { runDelete } = await import("./commands/delete.js");
      await run(runDelete(await ctx(cmd), objects, opts));
    });

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
      const { runLogs } = await import("./commands/logs.js");
      await run(runLogs(await ctx(cmd), name, opts));
    });

  program
    .command("exec")
    .summary("run a command in a running container")
    .description(
      "Run a command in a running container, print what it wrote and exit with its exit code (124 if it timed out). " +
        "Put -- before the command when it has options of its own.",
    )
    .argument("<name>", "container name")
    .argument("<command...>", "command and its arguments")
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
  berth exec web -e DEBUG=1 -u nobody -- sh -c 'echo $DEBUG'
  berth exec db --timeout 30s -- pg_isready`,
    )
    .action(async (name: string, command: string[], opts, cmd: Command) => {
      const { runExec } = await import("./commands/exec.js");
      await run(runExec(await ctx(cmd), name, command, opts));
    });

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
      const { runEvents } = await import("./commands/events.js");
      await run(runEvents(await ctx(cmd), opts));
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
      const { runWait } = await import("./commands/wait.js");
      await run(runWait(await ctx(cmd), objects, opts));
    });

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
        const { runLifecycle } = await import("./commands/lifecycle.js");
        await run(runLifecycle(await ctx(cmd), action, names));
      });
  }

  // Through the daemon when one listens on the socket (and serves this root), else directly on
  // the store under the root lock.
  const imageGlobals = (cmd: Command) => {
    const { socket } = cmd.optsWithGlobals() as { socket?: string };
    return { ...globals(cmd), ...(socket ? { socket } : {}), rootExplicit: cmd.getOptionValueSourceWithGlobals("root") !== "default" };
  };
  const image = program
    .command("image")
    .summary("manage images: load, import, save, ls, inspect, tag, rm, prune")
    .description("Manage images in berth's local store: through the daemon when one runs (--socket), else directly under the root lock.");
  image
    .command("ls")
    .alias("list")
    .summary("list images")
    .option("-q, --quiet", "only show image IDs", false)
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts, cmd: Command) => {
      const { imageList } = await import("./commands/image.js");
      await run(imageList(imageGlobals(cmd), opts));
    });
  image
    .command("inspect")
    .summary("show images as JSON")
    .argument("<image...>", "references, digests or ID prefixes")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { imageInspect } = await import("./commands/image.js");
      await run(imageInspect(imageGlobals(cmd), names));
    });
  image
    .command("load")
    .summary("load images from a docker save archive or an OCI layout")
    .description("Load images from a `docker save` archive or an OCI image layout (tar or directory), like docker load.")
    .option("-i, --input <file>", "archive file or OCI layout directory (default: standard input)")
    .option("-q, --quiet", "print nothing", false)
    .action(async (opts, cmd: Command) => {
      const { imageLoad } = await import("./commands/image.js");
      await run(imageLoad(imageGlobals(cmd), opts));
    });
  image
    .command("import")
    .summary("create an image from a rootfs tarball")
    .description("Create a one-layer image from a plain rootfs tarball (gzip or not), like docker import.")
    .argument("<file>", "tarball path, or - for standard input")
    .argument("<reference>", "name:tag of the new image")
    .option("-c, --change <instruction>", "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (file: string, reference: string, opts: { change: string[] }, cmd: Command) => {
      const { imageImport } = await import("./commands/image.js");
      await run(imageImport(imageGlobals(cmd), file, reference, opts));
    });
  image
    .command("save")
    .summary("write images to an archive docker load accepts")
    .argument("<image...>", "images to save")
    .option("-o, --output <file>", "write to this file (default: standard output)")
    .action(async (names: string[], opts, cmd: Command) => {
      const { imageSave } = await import("./commands/image.js");
      await run(imageSave(imageGlobals(cmd), names, opts));
    });
  image
    .command("tag")
    .summary("add a reference to an image")
    .argument("<source>", "existing image")
    .argument("<target>", "new name:tag")
    .action(async (source: string, target: string, _opts, cmd: Command) => {
      const { imageTag } = await import("./commands/image.js");
      await run(imageTag(imageGlobals(cmd), source, target));
    });
  image
    .command("rm")
    .alias("remove")
    .summary("remove image references; an image goes with its last one")
    .argument("<image...>", "images to remove")
    .option("-f, --force", "remove even if a container uses it (its layers stay until the container goes)", false)
    .action(async (names: string[], opts, cmd: Command) => {
      const { imageRemove } = await import("./commands/image.js");
      await run(imageRemove(imageGlobals(cmd), names, opts));
    });
  image
    .command("prune")
    .summary("remove dangling images and unused layers")
    .option("-a, --all", "remove every image no container uses, not only dangling ones", false)
    .action(async (opts, cmd: Command) => {
      const { imagePrune } = await import("./commands/image.js");
      await run(imagePrune(imageGlobals(cmd), opts));
    });

  program
    .command("up")
    .summary("run a stack in the foreground: daemon, apply, progress, logs; Ctrl-C stops it")
    .description(
      "Like `docker compose up`: start a daemon in the foreground, apply the manifests as a stack (pruned to exactly " +
        "these objects), show progress until everything is running and healthy, then stream the containers' logs. " +
        "Ctrl-C stops the stack's containers and the daemon.",
    )
    .requiredOption("-f, --filename <path...>", "files or directories of manifests")
    .option("-R, --recursive", "process directories recursively", false)
    .option("--stack <name>", "the stack name (default: from the first path)")
    .option("--timeout <duration>", "how long to wait for the stack to become ready", "5m")
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .option("--no-logs", "do not stream the containers' logs")
    .addHelpText(
      "after",
      `
Examples:
  berth up -f examples/web
  berth --root /tmp/berth --run-root /tmp/berth-run up -f stack/ --timeout 2m`,
    )
    .action(async (opts: { filename: string[]; recursive: boolean; stack?: string; timeout: string; allowPrivileged: boolean; logs: boolean }, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { root: string; runRoot: string; socket?: string };
      const { runUp } = await import("./commands/up.js");
      await run(
        runUp(
          { root: o.root, runRoot: o.runRoot, ...(o.socket ? { socket: o.socket } : {}) },
          { filename: opts.filename, recursive: opts.recursive, ...(opts.stack ? { stack: opts.stack } : {}), timeout: opts.timeout, allowPrivileged: opts.allowPrivileged, detachLogs: !opts.logs },
        ),
      );
    });

  program
    .command("daemon")
    .summary("run the controller in the foreground (API on <run-root>/berth.sock)")
    .description(
      "Run berth's controller in the foreground: pino JSON logs on stdout, state under --root, the API socket " +
        "(mode 0660) and runtime files under --run-root. One daemon per root. SIGTERM or Ctrl-C stops it and leaves " +
        "the containers running; the next daemon adopts them.",
    )
    .addOption(new Option("--log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"))
    .option("--allow-privileged", "accept containers with privileged: true from every apply", false)
    .addOption(new Option("--cgroup-parent <name>", "parent cgroup of every container (default: berth)").env("BERTH_CGROUP_PARENT"))
    .addHelpText(
      "after",
      `
Examples:
  berth daemon
  berth --root /srv/berth --run-root /run/berth-2 daemon --log-level debug`,
    )
    .action(async (opts: { logLevel: string; allowPrivileged: boolean; cgroupParent?: string }, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { root: string; runRoot: string; socket?: string };
      const { runDaemon } = await import("./commands/daemon.js");
      await run(runDaemon({ root: o.root, runRoot: o.runRoot, ...(o.socket ? { socket: o.socket } : {}) }, opts));
    });

  program
    .command("doctor")
    .summary("check that this host can run berth containers")
    .description("Check root, kernel, overlayfs, cgroups, runc, conmon and setfattr, and say how to get what is missing.")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (opts: { output: "text" | "json" }) => {
      const { runDoctorCommand } = await import("./commands/doctor.js");
      await run(runDoctorCommand(opts));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version "errors" are successful exits
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`berth: ${err.message}\n`);
      return 2;
    }
    return fail(err);
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
