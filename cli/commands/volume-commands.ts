/**
 * `berth volume create|ls|inspect|rm|prune`, `berth network create|ls|inspect|rm|prune` and
 * `berth container prune`, over volume.ts, network.ts and container-prune.ts.
 */
import { Option, type Command } from "commander";
import { clientContext, run } from "./registration.js";

const collect = (v: string, prev: string[]) => [...prev, v];
const FILTER = "filter output (repeatable)";
const outputOption = () => new Option("-o, --output <format>", "output format: table, json, yaml, name");
const formatOption = () => new Option("--format <format>", "Docker's: table, or json (one object per line)");

export function registerVolumeCommands(program: Command): void {
  const volume = program
    .command("volume")
    .summary("manage volumes: create, ls, inspect, rm, prune")
    .description(
      "Manage volumes as docker volume does, through the daemon's desired state: a volume created here is a Volume object " +
        "(stack cli unless --stack) like one applied from a manifest, and a manifest's container mounts it by name. " +
        "In use means a desired container mounts it. ls, inspect, rm and prune also see the volumes berth made for containers' " +
        "mounts without an object (an undeclared name, an anonymous /path).",
    );
  volume
    .command("create")
    .summary("create a volume")
    .description(
      "Create a volume as a Volume object, applied as manifests are, in a stack of its own (default cli: berth apply --prune " +
        "of another stack never deletes it). Prints its name; with no NAME a generated one, and the volume is anonymous " +
        "(volume prune removes it once unused). Creating one that exists with the same options prints its name again.",
    )
    .argument("[name]", "the volume's name (a DNS label)")
    .addOption(new Option("-d, --driver <driver>", "volume driver (only local)").default("local"))
    .option("--opt <key=value>", "driver option: type=tmpfs, size=64m, mode=1777 (Docker's device=tmpfs o=size=..,mode=.. too) (repeatable)", collect, [] as string[])
    .option("--label <key=value>", "set a label (repeatable)", collect, [] as string[])
    .option("--stack <stack>", "the stack the object belongs to", "cli")
    .addHelpText("after", "\nExamples:\n  berth volume create data\n  berth volume create --opt type=tmpfs --opt size=64m scratch\n  berth volume create --label team=web --stack shared cache")
    .action(async (name: string | undefined, opts, cmd: Command) => {
      const { volumeCreate } = await import("./volume.js");
      await run(volumeCreate(await clientContext(cmd), name, opts));
    });
  volume
    .command("ls")
    .alias("list")
    .summary("list volumes")
    .option("-q, --quiet", "only show volume names", false)
    .option("-f, --filter <filter>", `${FILTER}: dangling=true|false (no desired container mounts it), label=KEY[=VALUE], name=PART, driver=local`, collect, [] as string[])
    .addOption(outputOption())
    .addOption(formatOption())
    .action(async (opts, cmd: Command) => {
      const { volumeLs } = await import("./volume.js");
      await run(volumeLs(await clientContext(cmd), opts));
    });
  volume
    .command("inspect")
    .summary("show volumes as Docker-shaped JSON")
    .argument("<name...>", "volume names")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { volumeInspect } = await import("./volume.js");
      await run(volumeInspect(await clientContext(cmd), names));
    });
  volume
    .command("rm")
    .alias("remove")
    .summary("remove volumes")
    .description(
      "Remove volumes. One a desired container mounts is refused, naming the containers (exit 5), unless -f: its object is then " +
        "deleted all the same and the volume goes once no container has it mounted. A Volume object's volume is removed by its reconcile.",
    )
    .argument("<name...>", "volume names")
    .option("-f, --force", "remove even while desired containers mount it; a missing volume is no error", false)
    .action(async (names: string[], opts: { force: boolean }, cmd: Command) => {
      const { volumeRm } = await import("./volume.js");
      await run(volumeRm(await clientContext(cmd), names, opts));
    });
  volume
    .command("prune")
    .summary("remove unused anonymous volumes (-a: all unused)")
    .description(
      "Remove volumes no desired container mounts: anonymous ones only (as Docker 23+), or with -a every unused one — Volume objects " +
        "applied from manifests too (a stack that applies them again makes them again, empty). Asks first on a terminal; without one, -f is required.",
    )
    .option("-a, --all", "also named volumes", false)
    .option("-f, --force", "do not ask for confirmation", false)
    .option("--filter <filter>", `${FILTER}: label=KEY[=VALUE], label!=KEY[=VALUE], all=true`, collect, [] as string[])
    .action(async (opts, cmd: Command) => {
      const { volumePrune } = await import("./volume.js");
      await run(volumePrune(await clientContext(cmd), opts));
    });

  const network = program
    .command("network")
    .summary("manage networks: create, ls, inspect, rm, prune")
    .description(
      "Manage bridge networks as docker network does, through the daemon's desired state: a network created here is a Network object " +
        "(stack cli unless --stack) that a manifest's container joins by name. In use means a desired container is on it. ls, inspect, rm and " +
        "prune also see the networks berth makes itself: each stack's default network (<stack>-default) and the build network.",
    );
  network
    .command("create")
    .summary("create a network")
    .argument("<name>", "the network's name (a DNS label)")
    .addOption(new Option("-d, --driver <driver>", "network driver (only bridge)").default("bridge"))
    .option("--subnet <cidr>", "subnet in CIDR notation (default: a free /24)")
    .option("--gateway <ip>", "gateway address in the subnet (default: its first address)")
    .option("--internal", "no route to the outside world", false)
    .option("--label <key=value>", "set a label (repeatable)", collect, [] as string[])
    .option("--stack <stack>", "the stack the object belongs to", "cli")
    .addHelpText("after", "\nExamples:\n  berth network create backend\n  berth network create --subnet 10.89.7.0/24 --gateway 10.89.7.1 --internal db-only")
    .action(async (name: string, opts, cmd: Command) => {
      const { networkCreate } = await import("./network.js");
      await run(networkCreate(await clientContext(cmd), name, opts));
    });
  network
    .command("ls")
    .alias("list")
    .summary("list networks")
    .option("-q, --quiet", "only show network IDs", false)
    .option("--no-trunc", "do not truncate IDs")
    .option("-f, --filter <filter>", `${FILTER}: dangling=true|false, driver=bridge, id=PREFIX, label=KEY[=VALUE], name=PART, type=custom|builtin`, collect, [] as string[])
    .addOption(outputOption())
    .addOption(formatOption())
    .action(async (opts: { quiet: boolean; trunc: boolean; filter: string[]; output?: string; format?: string }, cmd: Command) => {
      const { networkLs } = await import("./network.js");
      await run(networkLs(await clientContext(cmd), { ...opts, noTrunc: !opts.trunc }));
    });
  network
    .command("inspect")
    .summary("show networks as Docker-shaped JSON")
    .argument("<network...>", "network names or ID prefixes")
    .action(async (refs: string[], _opts, cmd: Command) => {
      const { networkInspect } = await import("./network.js");
      await run(networkInspect(await clientContext(cmd), refs));
    });
  network
    .command("rm")
    .alias("remove")
    .summary("remove networks")
    .description(
      "Remove networks. Refused while a desired container is on one, naming the containers (exit 5); never berth's build network, " +
        "nor a stack's default network while the stack has containers on it.",
    )
    .argument("<network...>", "network names or ID prefixes")
    .option("-f, --force", "a missing network is no error", false)
    .action(async (refs: string[], opts: { force: boolean }, cmd: Command) => {
      const { networkRm } = await import("./network.js");
      await run(networkRm(await clientContext(cmd), refs, opts));
    });
  network
    .command("prune")
    .summary("remove unused networks")
    .description(
      "Remove networks no desired container is on and no container is attached to: Network objects (of any stack) and default " +
        "networks left by stacks with no containers — never the build network. Asks first on a terminal; without one, -f is required.",
    )
    .option("-f, --force", "do not ask for confirmation", false)
    .option("--filter <filter>", `${FILTER}: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME`, collect, [] as string[])
    .action(async (opts, cmd: Command) => {
      const { networkPrune } = await import("./network.js");
      await run(networkPrune(await clientContext(cmd), opts));
    });

  // `berth container ...` may be registered by another group too: prune joins it.
  const container =
    program.commands.find((c) => c.name() === "container") ??
    program.command("container").summary("manage containers: prune").description("Commands on containers as docker container has them.");
  container
    .command("prune")
    .summary("remove stopped containers that berth run made")
    .option("-f, --force", "do not ask for confirmation", false)
    .option("--filter <filter>", `${FILTER}: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME`, collect, [] as string[])
    .description("Remove the stopped containers that were made imperatively (berth run) and will not run again; asks first on a terminal, without one -f is required.")
    .addHelpText(
      "after",
      `
Which containers (container-prune.ts states the rule):
  - made imperatively: in the "run" stack (berth run's), or annotated
    berth.dev/created-by: run. Containers applied from manifests, Compose files
    or sources are never pruned: their files want them.
  - exited for good: Failed (the restart policy gave up), or Exited under
    restart policy "no", or "on-failure" after exit code 0. "always" and
    "unless-stopped" ones are left: berth starts "always" containers again
    when it restarts.
  - matching the filters: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME
    (its object created before TIME: 24h, 2024-05-01T12:00:00Z, a Unix time).`,
    )
    .action(async (opts, cmd: Command) => {
      const { containerPrune } = await import("./container-prune.js");
      await run(containerPrune(await clientContext(cmd), opts));
    });
}
