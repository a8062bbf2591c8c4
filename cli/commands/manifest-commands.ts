/**
 * `berth validate`, `apply` and `diff`: the commands that read manifests (`diff CONTAINER`,
 * a container's changes to its image, shares the verb as Docker's). Their modules are
 * imported when the command runs (see main.ts).
 */
import { Option, type Command } from "commander";
import { clientContext, filenameHelp, HOST_BINDS_HELP, run } from "./registration.js";

export function registerManifestCommands(program: Command): void {
  program
    .command("convert")
    .summary("print the berth objects a Compose file becomes")
    .description(
      "Load Compose files as apply would (.env and the environment interpolated, extends, include, profiles) and print " +
        "the berth manifests they become, then list on stderr what grants host-level access (privileged, host network " +
        "or pid, binds of / or an engine socket). Needs no daemon. Exits 0 when converted, 1 on errors.",
    )
    .requiredOption("-f, --filename <path...>", "Compose files")
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("yaml"))
    .option("-p, --project-name <name>", "the project name (default: COMPOSE_PROJECT_NAME, name:, else the directory's name)")
    .option("--stack <name>", "the same as -p")
    .option("--profile <name...>", "profiles to enable (default: COMPOSE_PROFILES)")
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .option("--allow-host-binds", HOST_BINDS_HELP, false)
    .addHelpText(
      "after",
      `
Examples:
  berth convert -f compose.yaml
  berth convert -f compose.yaml -o json --profile debug
  berth convert -f compose.yaml > stack.yaml && berth apply -f stack.yaml --stack shop`,
    )
    .action(async (opts: { filename: string[]; output: "yaml" | "json"; projectName?: string; stack?: string; profile?: string[]; allowPrivileged: boolean; allowHostBinds: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { root: string; runRoot: string; socket?: string };
      const { runConvert } = await import("./convert.js");
      const projectName = opts.projectName ?? opts.stack;
      process.exitCode = await runConvert({
        filename: opts.filename,
        output: opts.output,
        ...(projectName ? { projectName } : {}),
        ...(opts.profile ? { profile: opts.profile } : {}),
        allowPrivileged: opts.allowPrivileged,
        allowHostBinds: opts.allowHostBinds,
        berthPaths: { root: g.root, runRoot: g.runRoot, ...(g.socket ? { socketPath: g.socket } : {}) },
      });
    });

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
    .option("--allow-host-binds", HOST_BINDS_HELP, false)
    .addHelpText(
      "after",
      `
Bind sources are checked against berth's --root, --run-root and --socket.

Examples:
  berth validate -f web.yaml
  berth validate -f manifests/ -R
  cat web.yaml | berth validate -f -`,
    )
    .action(async (opts: { filename: string[]; recursive: boolean; output: "text" | "json"; allowPrivileged: boolean; allowHostBinds: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { root: string; runRoot: string; socket?: string };
      const { runValidate } = await import("./validate.js");
      process.exitCode = await runValidate({ ...opts, berthPaths: { root: g.root, runRoot: g.runRoot, ...(g.socket ? { socketPath: g.socket } : {}) } });
    });

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
    .option("--stack <name>", "the stack the objects belong to (default: from the first path, or a Compose file's project; required with -f -)")
    .option("-p, --project-name <name>", "a Compose file's project name (as docker compose -p); the stack is it")
    .option("--profile <name...>", "Compose profiles to enable (default: COMPOSE_PROFILES)")
    .option("--prune", "delete objects of the stack that are not in the manifests", false)
    .option("--dry-run", "only report what would change", false)
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .option("--allow-host-binds", HOST_BINDS_HELP, false)
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
      const { runApply } = await import("./apply.js");
      await run(runApply(await clientContext(cmd), opts));
    });

  program
    .command("diff")
    .summary("show what apply would change (-f), or a container's changes to its image")
    .description(
      "With -f: show, as unified diffs of their YAML, how the objects stored in the daemon would change if the manifests " +
        "were applied (a dry-run apply). Exits 0 when nothing would change, 1 when something would, 2 or more on errors.\n" +
        "With a container's name instead: list the files and directories it added (A), changed (C) or deleted (D) " +
        "compared with its image, one per line, as docker diff. Exits 0.",
    )
    .argument("[container]", "a watched stack: its pending plan (berth watch --sync manual); else a container: its changes to its image (docker diff)")
    .option("-f, --filename <path...>", filenameHelp)
    .option("-R, --recursive", "process directories recursively", false)
    .option("--stack <name>", "the stack (default: from the first path; required with -f -)")
    .option("--prune", "also show the deletions apply --prune would make", false)
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .option("--allow-host-binds", HOST_BINDS_HELP, false)
    .addHelpText(
      "after",
      `
Examples:
  berth diff -f examples/web/
  berth diff -f app.yaml --stack shop --prune
  berth diff web                               A /tmp/cache, C /etc, D /etc/motd, ...
  berth diff shop                              the pending plan of watched stack shop`,
    )
    .action(async (container: string | undefined, opts, cmd: Command) => {
      const manifestOptions = ["recursive", "stack", "prune", "allowPrivileged", "allowHostBinds"].filter((k) => cmd.getOptionValueSource(k) === "cli");
      const { diffMode } = await import("./container-layer.js");
      if (diffMode(container, opts.filename, manifestOptions) === "container") {
        const { runDiffOfName } = await import("./diff.js");
        await run(runDiffOfName(await clientContext(cmd), container!));
        return;
      }
      const { runDiff } = await import("./diff.js");
      await run(runDiff(await clientContext(cmd), opts));
    });
}
