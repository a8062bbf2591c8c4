/**
 * `berth image ls|inspect|history|build|pull|push|load|import|save|tag|rm|prune` over
 * image.ts and image-transfer.ts, and the top-level `berth build` (docker build's alias),
 * `berth login` and `berth logout`.
 */
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
    .summary("manage images: build, pull, push, load, import, save, ls, inspect, history, tag, rm, prune")
    .description("Manage images in berth's local store: through the daemon when one runs (--socket), else directly under the root lock.");
  image
    .command("ls")
    .alias("list")
    .summary("list images")
    .option("-a, --all", "also the untagged images of build steps (hidden by default, as docker images hides intermediates)", false)
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
  const collect = (v: string, prev: string[]) => [...prev, v];
  const transfer = async (cmd: Command) => {
    const { processTransferContext } = await import("./image-transfer.js");
    return processTransferContext(imageGlobals(cmd));
  };
  const defineBuild = (c: Command) =>
    c
      .summary("build an image from a Dockerfile")
      .description(
        "Build an image from a Dockerfile and a context directory, as docker build: each step as `#N [stage i/N] INSTRUCTION`, " +
          "` ---> CACHED` or the reason the cache missed, RUN output as it comes, then `Successfully built <id>` and " +
          "`Successfully tagged <name>`. Needs the daemon (RUN steps run in containers); it reads the context by its path on this host. " +
          "A failed build prints its located error (Dockerfile:LINE:COL: ...) and exits 1.",
      )
      .argument("<context>", "the build context directory")
      .option("-t, --tag <name[:tag]>", "name the image (repeatable)", collect, [] as string[])
      .option("-f, --file <Dockerfile>", "the Dockerfile (default CONTEXT/Dockerfile; - reads standard input; may be outside the context)")
      .option("--build-arg <name=value>", "set a build argument; a bare NAME takes its value from the environment (repeatable)", collect, [] as string[])
      .option("--target <stage>", "build this stage (default the last)")
      .option("--no-cache", "do not use the build cache")
      .addOption(new Option("--network <mode>", "network of RUN steps (default bridge)").choices(["bridge", "host", "none"]))
      .addOption(new Option("--progress <mode>", "output: auto (a terminal's or plain), plain, quiet").choices(["auto", "plain", "quiet"]).default("auto"))
      .option("-q, --quiet", "print only the image ID", false)
      .addHelpText(
        "after",
        `
Examples:
  berth image build -t localhost/app:1 .
  berth build -t localhost/app:dev -f docker/Dockerfile.dev --build-arg VERSION=2 --target runtime .
  berth build -t localhost/tool --network none -f - . < Dockerfile`,
      )
      .action(async (context: string, opts, cmd: Command) => {
        const { runBuild } = await import("./image-transfer.js");
        await run(runBuild(await transfer(cmd), context, opts));
      });
  defineBuild(image.command("build"));
  image
    .command("pull")
    .summary("pull an image from a registry")
    .description(
      "Pull an image (or with --all-tags every tag of a repository) from its registry, as docker pull: per-layer progress, then the " +
        "digest, the status and the reference. Mirrors, insecure registries and credentials: the daemon's settings (berth daemon --help).",
    )
    .argument("<reference>", "name[:tag] or name@sha256:digest (Docker Hub when the name has no registry)")
    .option("-a, --all-tags", "pull every tag of the repository", false)
    .option("-q, --quiet", "print only the reference", false)
    .action(async (ref: string, opts: { allTags: boolean; quiet: boolean }, cmd: Command) => {
      const { runPull } = await import("./image-transfer.js");
      await run(runPull(await transfer(cmd), ref, opts));
    });
  image
    .command("push")
    .summary("push an image to a registry")
    .description("Push an image to the registry its name says, as docker push: only the layers the repository lacks, then the manifest; prints `<tag>: digest: sha256:... size: N`.")
    .argument("<reference>", "the image's name[:tag], which says where it goes")
    .option("-q, --quiet", "print only the name", false)
    .action(async (ref: string, opts: { quiet: boolean }, cmd: Command) => {
      const { runPush } = await import("./image-transfer.js");
      await run(runPush(await transfer(cmd), ref, opts));
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

  defineBuild(program.command("build"));
  program
    .command("login")
    .summary("log in to a registry")
    .description(
      "Check a user name and password against a registry and store them for pulls and pushes (the daemon's <root>/registry/credentials.json, 0600), " +
        "as docker login. SERVER defaults to Docker Hub. Give the password on standard input (--password-stdin); -p puts it where other users may see it.",
    )
    .argument("[server]", "registry host[:port] or URL (default Docker Hub, https://index.docker.io/v1/)")
    .option("-u, --username <user>", "user name")
    .option("-p, --password <password>", "password (insecure: prefer --password-stdin)")
    .option("--password-stdin", "read the password from standard input", false)
    .addHelpText(
      "after",
      `
Examples:
  printf '%s' "$TOKEN" | berth login -u me --password-stdin registry.example.com
  berth login -u me --password-stdin < ~/.secrets/hub`,
    )
    .action(async (server: string | undefined, opts: { username?: string; password?: string; passwordStdin: boolean }, cmd: Command) => {
      const { runLogin } = await import("./image-transfer.js");
      await run(runLogin(await transfer(cmd), server, opts));
    });
  program
    .command("logout")
    .summary("remove stored registry credentials")
    .argument("[server]", "registry host[:port] or URL (default Docker Hub)")
    .action(async (server: string | undefined, _opts, cmd: Command) => {
      const { runLogout } = await import("./image-transfer.js");
      await run(runLogout(await transfer(cmd), server));
    });
}
