/** `berth image ls|inspect|history|load|import|save|tag|rm|prune` over image.ts. */
import { Option, type Command } from "commander";
import { globals, run } from "./registration.js";

export function registerImageCommands(program: Command): void {
  // Through the daemon when one listens on the socket (and serves this root), else directly on
  // the store under the root lock.
  const imageGlobals = (cmd: Command) => {
    const { socket } = cmd.optsWithGlobals() as { socket?: string };
    return { ...globals(cmd), ...(socket ? { socket } : {}), rootExplicit: cmd.getOptionValueSourceWithGlobals("root") !== "default" };
  };
  const image = program
    .command("image")
    .summary("manage images: load, import, save, ls, inspect, history, tag, rm, prune")
    .description("Manage images in berth's local store: through the daemon when one runs (--socket), else directly under the root lock.");
  image
    .command("ls")
    .alias("list")
    .summary("list images")
    .option("-q, --quiet", "only show image IDs", false)
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts, cmd: Command) => {
      const { imageList } = await import("./image.js");
      await run(imageList(imageGlobals(cmd), opts));
    });
  image
    .command("inspect")
    .summary("show images as JSON")
    .argument("<image...>", "references, digests or ID prefixes")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { imageInspect } = await import("./image.js");
      await run(imageInspect(imageGlobals(cmd), names));
    });
  image
    .command("history")
    .summary("show the history of an image")
    .description(
      "Show how an image was made, newest step first, as docker history: its ID on the top row (<missing> below: berth keeps no " +
        "intermediate images), when each step ran, what it ran (cut to 45 characters unless --no-trunc), the size of its layer and its comment.",
    )
    .argument("<image>", "reference, digest or ID prefix")
    .option("--no-trunc", "do not truncate IDs and commands")
    .option("-q, --quiet", "only show image IDs", false)
    .addOption(new Option("--format <format>", "output format: table, or json (one object per line)").choices(["table", "json"]).default("table"))
    .action(async (ref: string, opts: { trunc: boolean; quiet: boolean; format: "table" | "json" }, cmd: Command) => {
      const { imageHistory } = await import("./image.js");
      await run(imageHistory(imageGlobals(cmd), ref, { noTrunc: !opts.trunc, quiet: opts.quiet, format: opts.format }));
    });
  image
    .command("load")
    .summary("load images from a docker save archive or an OCI layout")
    .description("Load images from a `docker save` archive or an OCI image layout (tar or directory), like docker load.")
    .option("-i, --input <file>", "archive file or OCI layout directory (default: standard input)")
    .option("-q, --quiet", "print nothing", false)
    .action(async (opts, cmd: Command) => {
      const { imageLoad } = await import("./image.js");
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
      const { imageImport } = await import("./image.js");
      await run(imageImport(imageGlobals(cmd), file, reference, opts));
    });
  image
    .command("save")
    .summary("write images to an archive docker load accepts")
    .argument("<image...>", "images to save")
    .option("-o, --output <file>", "write to this file (default: standard output)")
    .action(async (names: string[], opts, cmd: Command) => {
      const { imageSave } = await import("./image.js");
      await run(imageSave(imageGlobals(cmd), names, opts));
    });
  image
    .command("tag")
    .summary("add a reference to an image")
    .argument("<source>", "existing image")
    .argument("<target>", "new name:tag")
    .action(async (source: string, target: string, _opts, cmd: Command) => {
      const { imageTag } = await import("./image.js");
      await run(imageTag(imageGlobals(cmd), source, target));
    });
  image
    .command("rm")
    .alias("remove")
    .summary("remove image references; an image goes with its last one")
    .argument("<image...>", "images to remove")
    .option("-f, --force", "remove even if a container uses it (its layers stay until the container goes)", false)
    .action(async (names: string[], opts, cmd: Command) => {
      const { imageRemove } = await import("./image.js");
      await run(imageRemove(imageGlobals(cmd), names, opts));
    });
  image
    .command("prune")
    .summary("remove dangling images and unused layers")
    .option("-a, --all", "remove every image no container uses, not only dangling ones", false)
    .action(async (opts, cmd: Command) => {
      const { imagePrune } = await import("./image.js");
      await run(imagePrune(imageGlobals(cmd), opts));
    });
}
