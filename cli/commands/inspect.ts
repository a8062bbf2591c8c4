import { stringify } from "yaml";
import { isBerthError } from "../../lib/errors.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";

/**
 * `berth inspect NAME...`, as `docker inspect`: a JSON array with each container as moby's
 * ContainerJSON (the fields berth has; controller/api/routes/inspect-view.ts). A name that is
 * no container falls back to the image store (`berth image inspect`'s record), as docker
 * inspect looks for an image when there is no such container. Every name is tried; a name that
 * is neither prints Docker's `Error: No such object: NAME` on stderr and the exit code is 1,
 * after the others were printed.
 */
export async function runInspect(ctx: CommandContext, names: string[], opts: { output?: string; type?: string } = {}): Promise<number> {
  const output = opts.output ?? "json";
  if (output !== "json" && output !== "yaml") throw new UsageError(`invalid output format ${JSON.stringify(output)}: use json or yaml`);
  const type = opts.type;
  if (type !== undefined && type !== "container" && type !== "image") throw new UsageError(`invalid --type ${JSON.stringify(type)}: use container or image`);
  const found: unknown[] = [];
  let code = 0;
  for (const name of names) {
    const item = await lookup(ctx, name, type);
    if (item === undefined) {
      ctx.stderr.write(`Error: No such object: ${name}\n`);
      code = 1;
    } else found.push(item);
  }
  ctx.stdout.write(output === "json" ? `${JSON.stringify(found, null, 4)}\n` : stringify(found, { lineWidth: 0 }));
  return code;
}

async function lookup(ctx: CommandContext, name: string, type: string | undefined): Promise<unknown> {
  const notFound = (err: unknown) => {
    if (isBerthError(err, "NotFound") || isBerthError(err, "InvalidArgument")) return undefined;
    throw err;
  };
  if (type !== "image") {
    const c = await ctx.client.inspect(name).catch(notFound);
    if (c !== undefined || type === "container") return c;
  }
  const images = await ctx.client.inspectImages([name]).catch(notFound);
  return images?.[0];
}
