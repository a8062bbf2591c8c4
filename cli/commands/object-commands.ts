/** `berth get`, `describe` and `delete`: objects of every kind, through the daemon. */
import { Option, type Command } from "commander";
import { clientContext, filenameHelp, run } from "./registration.js";

export function registerObjectCommands(program: Command): void {
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
      const { runGet } = await import("./get.js");
      await run(runGet(await clientContext(cmd), [kind, name].filter((a): a is string => a !== undefined), opts));
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
      const { runDescribe } = await import("./describe.js");
      await run(runDescribe(await clientContext(cmd), [kind, name].filter((a): a is string => a !== undefined)));
    });

  program
    .command("delete")
    .summary("delete objects, by manifest or by name")
    .description(
      "Delete the objects named in manifests (they are only parsed, not validated; a Compose file is converted, " +
        "so it must still convert) or on the command line. " +
        "The daemon stops and removes what they created. Exits 3 when an object does not exist, unless --ignore-not-found.",
    )
    .argument("[objects...]", "KIND NAME... or KIND/NAME...")
    .option("-f, --filename <path...>", filenameHelp)
    .option("-R, --recursive", "process directories recursively", false)
    .option("--ignore-not-found", "treat objects that do not exist as deleted", false)
    .option("-p, --project-name <name>", "a Compose file's project name, as given to apply/up")
    .option("--profile <name...>", "Compose profiles, as given to apply/up")
    .addHelpText(
      "after",
      `
Examples:
  berth delete -f examples/web/
  berth delete -f compose.yaml            every object the Compose file became (its volumes too)
  berth delete container web db
  berth delete ctr/web vol/data --ignore-not-found`,
    )
    .action(async (objects: string[], opts, cmd: Command) => {
      const { runDelete } = await import("./delete.js");
      await run(runDelete(await clientContext(cmd), objects, opts));
    });
}
