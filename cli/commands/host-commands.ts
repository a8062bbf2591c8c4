/**
 * `berth up`, `daemon` and `doctor`: the commands that run on this host themselves (a daemon
 * in the foreground, a check of the host) rather than asking a running daemon — except
 * `up -d`, which applies to the running one as `docker compose up -d` does.
 */
import { Option, type Command } from "commander";
import { UsageError } from "../errors.js";
import { clientContext, HOST_BINDS_HELP, run } from "./registration.js";

export function registerHostCommands(program: Command): void {
  program
    .command("up")
    .summary("run a stack in the foreground: daemon, apply, progress, logs; Ctrl-C stops it")
    .description(
      "Like `docker compose up`: start a daemon in the foreground, apply the manifests as a stack (pruned to exactly " +
        "these objects), show progress until everything is running and healthy, then stream the containers' logs. " +
        "Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the stack's containers and the daemon, whether the output goes " +
        "to a terminal, a pipe or a file, and exits 128 + the signal's number (130, 143, 129); a second Ctrl-C " +
        "exits at once and leaves the containers running.",
    )
    .requiredOption("-f, --filename <path...>", "files or directories of manifests")
    .option("-R, --recursive", "process directories recursively", false)
    .option("--stack <name>", "the stack name (default: from the first path, or a Compose file's project)")
    .option("-p, --project-name <name>", "a Compose file's project name (as docker compose -p); the stack is it")
    .option("--profile <name...>", "Compose profiles to enable (default: COMPOSE_PROFILES)")
    .option("--timeout <duration>", "how long to wait for the stack to become ready", "5m")
    .option("--allow-privileged", "accept containers with privileged: true", false)
    .option("--allow-host-binds", HOST_BINDS_HELP, false)
    .option("--no-logs", "do not stream the containers' logs")
    .option("-d, --detach", "apply the stack to the running daemon and return (docker compose up -d)", false)
    .option("--wait", "with -d: return once every object is running and healthy; exit 1 as soon as one fails (naming it and, for a failed dependency, the dependency)", false)
    .addHelpText(
      "after",
      `
Examples:
  berth up -f examples/web
  berth up -f compose.yaml -p shop --profile debug
  berth up -d --wait -f compose.yaml      against the running daemon; exit 1 if something fails to become ready
  berth --root /tmp/berth --run-root /tmp/berth-run up -f stack/ --timeout 2m`,
    )
    .action(async (opts: { filename: string[]; recursive: boolean; stack?: string; projectName?: string; profile?: string[]; timeout: string; allowPrivileged: boolean; allowHostBinds: boolean; logs: boolean; detach: boolean; wait: boolean }, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { root: string; runRoot: string; socket?: string };
      if (opts.wait && !opts.detach) throw new UsageError("--wait goes with -d (without -d, up already waits, then follows the logs)");
      const { runUp, runUpDetached } = await import("./up.js");
      if (opts.detach) {
        const up = { filename: opts.filename, recursive: opts.recursive, ...(opts.stack ? { stack: opts.stack } : {}), ...(opts.projectName ? { projectName: opts.projectName } : {}), ...(opts.profile ? { profile: opts.profile } : {}), timeout: opts.timeout, allowPrivileged: opts.allowPrivileged, allowHostBinds: opts.allowHostBinds, detachLogs: true, wait: opts.wait };
        await run(runUpDetached(await clientContext(cmd), up));
        return;
      }
      await run(
        runUp(
          { root: o.root, runRoot: o.runRoot, ...(o.socket ? { socket: o.socket } : {}) },
          { filename: opts.filename, recursive: opts.recursive, ...(opts.stack ? { stack: opts.stack } : {}), ...(opts.projectName ? { projectName: opts.projectName } : {}), ...(opts.profile ? { profile: opts.profile } : {}), timeout: opts.timeout, allowPrivileged: opts.allowPrivileged, allowHostBinds: opts.allowHostBinds, detachLogs: !opts.logs },
        ),
      );
    });

  program
    .command("daemon")
    .summary("run the controller in the foreground (API on <run-root>/berth.sock)")
    .description(
      "Run berth's controller in the foreground: pino JSON logs on stdout, state under --root, the API socket " +
        "and runtime files under --run-root. Only root may use the socket (0600), unless --group lets a group's " +
        "members in (socket 0660, run-root 0710, like dockerd -G). One daemon per root. SIGTERM or Ctrl-C stops it and leaves " +
        "the containers running; the next daemon adopts them.",
    )
    .addOption(new Option("--log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"))
    .option("--allow-privileged", "accept containers with privileged: true from every apply", false)
    .option("--allow-host-binds", "accept bind mounts that expose the host (/, /proc, /sys, /dev, /boot, an engine socket, an ancestor of berth's state) from every apply", false)
    .addOption(new Option("--cgroup-parent <name>", "parent cgroup of every container (default: berth)").env("BERTH_CGROUP_PARENT"))
    .option("--group <name>", "let this group (from /etc/group) use the API socket: root:<name> 0660")
    .addOption(
      new Option("--address-pool <base/len:size>", "carve bridge networks' subnets from this block instead of Docker's default pools (repeatable), e.g. 10.90.0.0/16:24")
        .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .addOption(
      new Option("--watch <dir[=stack]>", "watch this directory as a stack from the start, as `berth watch` does (repeatable; kept across restarts)")
        .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .addOption(
      new Option("--config <file>", "the daemon settings file: registryMirrors, mirrors, insecureRegistries (default /etc/berth/daemon.json; a missing default is no settings)").env(
        "BERTH_CONFIG",
      ),
    )
    .addHelpText(
      "after",
      `
Registries: pulls and pushes use the credentials of \`berth login\` (<root>/registry/credentials.json) and of the
daemon user's Docker config ($DOCKER_CONFIG/config.json, else $HOME/.docker/config.json).

Examples:
  berth daemon
  berth daemon --config /srv/berth/daemon.json   mirrors and insecure registries from this file
  berth daemon --group berth              members of group berth may run berth commands
  berth daemon --address-pool 10.90.0.0/16:24   networks get /24s of 10.90.0.0/16
  berth --root /srv/berth --run-root /run/berth-2 daemon --log-level debug`,
    )
    .action(async (opts: { logLevel: string; allowPrivileged: boolean; allowHostBinds: boolean; cgroupParent?: string; group?: string; addressPool?: string[]; config?: string; watch?: string[] }, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { root: string; runRoot: string; socket?: string };
      const { runDaemon } = await import("./daemon.js");
      await run(runDaemon({ root: o.root, runRoot: o.runRoot, ...(o.socket ? { socket: o.socket } : {}) }, opts));
    });

  program
    .command("doctor")
    .summary("check that this host can run berth containers")
    .description("Check root, kernel, overlayfs, cgroups, runc, conmon and setfattr, and say how to get what is missing.")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (opts: { output: "text" | "json" }, cmd: Command) => {
      const { runDoctorCommand } = await import("./doctor.js");
      const { root } = cmd.optsWithGlobals() as { root: string };
      await run(runDoctorCommand({ ...opts, root }));
    });
}
