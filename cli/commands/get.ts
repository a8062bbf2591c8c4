import { stringify } from "yaml";
import type { ObjectView } from "../../controller/api/protocol.js";
import { KIND_NAMES, KINDS, type Kind } from "../../schemas/kinds.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { formatObjectTable, formatObjectTables, objectRef } from "../format-status.js";
import { kindArg, parseSelector } from "../manifest-args.js";

export type GetOutput = "table" | "wide" | "json" | "yaml" | "name";
export const GET_OUTPUTS: GetOutput[] = ["table", "wide", "json", "yaml", "name"];

export interface GetOptions {
  output?: GetOutput;
  selector?: string;
}

/** -o json|yaml|name of a single object (a name was given) or a list (kubectl's `{items}`). */
export function formatObjects(views: ObjectView[], output: "json" | "yaml" | "name", single: boolean): string {
  if (output === "name") return views.map((v) => `${objectRef(KIND_NAMES[v.kind].singular, v.metadata.name)}\n`).join("");
  const data = single && views.length === 1 ? views[0] : { apiVersion: "berth/v1", kind: "List", items: views };
  return output === "json" ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 });
}

/**
 * `berth get [KIND [NAME]]`: a table per kind (all kinds when none is given), or the objects as
 * json/yaml/names. `KIND/NAME` works as the first argument too.
 */
export async function runGet(ctx: CommandContext, args: string[], o: GetOptions): Promise<number> {
  const output = o.output ?? "table";
  if (!GET_OUTPUTS.includes(output)) throw new UsageError(`invalid output format ${JSON.stringify(output)}: use one of ${GET_OUTPUTS.join(", ")}`);
  let [kindWord, name, ...extra] = args;
  if (kindWord?.includes("/")) {
    if (name !== undefined) throw new UsageError("give either KIND NAME or KIND/NAME");
    [kindWord, name] = kindWord.split("/", 2);
  }
  if (extra.length) throw new UsageError(`too many arguments; usage: berth get [KIND [NAME]]`);
  if ((kindWord === "stacks" || kindWord === "stack") && name === undefined) {
    if (o.selector) throw new UsageError("get stacks takes no selector (-l)");
    const { runGetStacks } = await import("./sources-commands.js");
    return runGetStacks(ctx, output);
  }
  const selector = parseSelector(o.selector);
  const now = ctx.clock.now();

  if (kindWord !== undefined && name) {
    if (o.selector) throw new UsageError("a name and a selector (-l) cannot be combined");
    const kind = kindArg(kindWord);
    const view = await ctx.client.get(kind, name);
    if (output === "table" || output === "wide") ctx.stdout.write(formatObjectTable(kind, [view], now, { wide: output === "wide" }));
    else ctx.stdout.write(formatObjects([view], output, true));
    return 0;
  }

  const kinds: Kind[] = kindWord !== undefined ? [kindArg(kindWord)] : [...KINDS];
  const groups: { kind: Kind; items: ObjectView[] }[] = [];
  for (const kind of kinds) groups.push({ kind, items: await ctx.client.list(kind, selector) });
  const all = groups.flatMap((g) => g.items);
  if (output === "json" || output === "yaml" || output === "name") {
    ctx.stdout.write(formatObjects(all, output, false));
    return 0;
  }
  if (all.length === 0) {
    ctx.stderr.write(kindWord !== undefined ? `No ${KIND_NAMES[kinds[0]!].plural} found.\n` : "No resources found.\n");
    return 0;
  }
  ctx.stdout.write(formatObjectTables(groups, now, { wide: output === "wide", prefixKind: kindWord === undefined }));
  return 0;
}
