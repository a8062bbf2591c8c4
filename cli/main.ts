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
    .addHelpText(
      "after",
      `
Examples:
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

  const image = program.command("image").summary("manage images: load, import, save, ls, inspect, tag, rm, prune").description("Manage images in berth's local store.");
  image
    .command("ls")
    .alias("list")
    .summary("list images")
    .option("-q, --quiet", "only show image IDs", false)
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts, cmd: Command) => {
      const { imageList } = await import("./commands/image.js");
      await run(imageList(globals(cmd), opts));
    });
  image
    .command("inspect")
    .summary("show images as JSON")
    .argument("<image...>", "references, digests or ID prefixes")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { imageInspect } = await import("./commands/image.js");
      await run(imageInspect(globals(cmd), names));
    });
  image
    .command("load")
    .summary("load images from a docker save archive or an OCI layout")
    .description("Load images from a `docker save` archive or an OCI image layout (tar or directory), like docker load.")
    .option("-i, --input <file>", "archive file or OCI layout directory (default: standard input)")
    .option("-q, --quiet", "print nothing", false)
    .action(async (opts, cmd: Command) => {
      const { imageLoad } = await import("./commands/image.js");
      await run(imageLoad(globals(cmd), opts));
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
      await run(imageImport(globals(cmd), file, reference, opts));
    });
  image
    .command("save")
    .summary("write images to an archive docker load accepts")
    .argument("<image...>", "images to save")
    .option("-o, --output <file>", "write to this file (default: standard output)")
    .action(async (names: string[], opts, cmd: Command) => {
      const { imageSave } = await import("./commands/image.js");
      await run(imageSave(globals(cmd), names, opts));
    });
  image
    .command("tag")
    .summary("add a reference to an image")
    .argument("<source>", "existing image")
    .argument("<target>", "new name:tag")
    .action(async (source: string, target: string, _opts, cmd: Command) => {
      const { imageTag } = await import("./commands/image.js");
      await run(imageTag(globals(cmd), source, target));
    });
  image
    .command("rm")
    .alias("remove")
    .summary("remove image references; an image goes with its last one")
    .argument("<image...>", "images to remove")
    .option("-f, --force", "remove even if a container uses it (its layers stay until the container goes)", false)
    .action(async (names: string[], opts, cmd: Command) => {
      const { imageRemove } = await import("./commands/image.js");
      await run(imageRemove(globals(cmd), names, opts));
    });
  image
    .command("prune")
    .summary("remove dangling images and unused layers")
    .option("-a, --all", "remove every image no container uses, not only dangling ones", false)
    .action(async (opts, cmd: Command) => {
      const { imagePrune } = await import("./commands/image.js");
      await run(imagePrune(globals(cmd), opts));
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
