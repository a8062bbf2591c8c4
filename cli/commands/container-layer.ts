/**
 * `berth diff CONTAINER`, `berth commit` and `berth export`: a container's writable layer,
 * through the daemon, as docker diff, docker commit and docker export have them.
 */
import * as path from "node:path";
import { errorMessage, invalidArgument } from "../../lib/errors.js";
import { normalizeTaggedReference } from "../../lib/reference.js";
import { applyCommitChanges } from "../../runtime/images/commit-changes.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";

/**
 * Which `berth diff` was asked for: a CONTAINER (docker diff), or -f FILE (the manifest
 * diff); `manifestOptions` are the manifest diff's other options given. Both, or neither,
 * is a UsageError.
 */
export function diffMode(container: string | undefined, filename: string[] | undefined, manifestOptions: string[]): "container" | "manifest" {
  if (container !== undefined) {
    if (filename?.length || manifestOptions.length) throw new UsageError("diff: give either -f FILE (what apply would change) or a CONTAINER (its changes to its image), not both");
    return "container";
  }
  if (!filename?.length) throw new UsageError("diff: expected -f FILE (what apply would change) or a CONTAINER (its changes to its image)");
  return "manifest";
}

/** `berth diff CONTAINER`: `A /path`, `C /path`, `D /path`, sorted by path; exit 0 (as docker diff). */
export async function runContainerDiff(ctx: CommandContext, name: string): Promise<number> {
  const changes = await ctx.client.changes(name);
  ctx.stdout.write(changes.map((c) => `${c.kind} ${c.path}\n`).join(""));
  return 0;
}

export interface CommitOptions {
  change: string[];
  message?: string;
  author?: string;
}

/**
 * `berth commit CONTAINER [REPOSITORY[:TAG]]`: prints the new image's ID (`sha256:…`, its
 * config digest, as docker commit). The changes and the reference are checked here first, so
 * a bad one is reported before the daemon reads the layer (the daemon checks them again).
 */
export async function runCommit(ctx: CommandContext, name: string, reference: string | undefined, o: CommitOptions): Promise<number> {
  const what = `commit container ${name}`;
  applyCommitChanges({}, o.change, what);
  if (reference !== undefined) {
    try {
      normalizeTaggedReference(reference);
    } catch (err) {
      throw invalidArgument(`${what}: ${errorMessage(err)}`, { cause: err });
    }
  }
  const image = await ctx.client.commit(name, {
    ...(reference !== undefined ? { reference } : {}),
    ...(o.change.length ? { changes: o.change } : {}),
    ...(o.message ? { comment: o.message } : {}),
    ...(o.author ? { author: o.author } : {}),
  });
  ctx.stdout.write(`${image.configDigest}\n`);
  return 0;
}

/**
 * `berth export CONTAINER [-o FILE]`: the tar of its filesystem to the file (whole or not at
 * all) or to standard output — not to a terminal (docker export refuses one too).
 */
export async function runExport(ctx: CommandContext, name: string, o: { output?: string }): Promise<number> {
  if (o.output) {
    await ctx.client.exportContainer(name, { file: path.resolve(o.output) });
    return 0;
  }
  if (ctx.stdout.isTTY) throw invalidArgument(`export container ${name}: refusing to write a tar to a terminal; use -o FILE or redirect standard output`);
  // process.stdout, or a test's capture: both take bytes (Output is typed for text)
  await ctx.client.exportContainer(name, { stream: ctx.stdout as unknown as NodeJS.WritableStream });
  return 0;
}
