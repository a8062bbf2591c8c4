import { stringify } from "yaml";
import type { ContainerStatusView, EventRecord, ObjectView } from "../../controller/api/protocol.js";
import { KIND_NAMES } from "../../schemas/kinds.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { age, isContainerStatus, objectRef } from "../format-status.js";
import { kindArg } from "../manifest-args.js";
import { formatTable } from "../table.js";

/** How many of the object's most recent events `describe` shows. */
const EVENT_LIMIT = 20;

const indent = (text: string, by = "  ") =>
  text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");

/** `Label:` padded to a common column, as kubectl describe aligns its fields. */
function fields(pairs: [string, string | undefined][], pad: number): string[] {
  return pairs.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => `${`${k}:`.padEnd(pad)}${v}`);
}

function map(m: Record<string, string>, pad: number): string {
  const entries = Object.entries(m ?? {});
  if (entries.length === 0) return "<none>";
  return entries.map(([k, v], i) => `${i === 0 ? "" : " ".repeat(pad)}${k}=${v}`).join("\n");
}

const when = (t: string | undefined, now: number) => (t ? `${t} (${age(t, now)} ago)` : undefined);

/** The human-readable description of one object and its recent events. Pure. */
export function formatDescribe(view: ObjectView, events: EventRecord[], now: number): string {
  const pad = 13;
  const out: string[] = fields(
    [
      ["Name", view.metadata.name],
      ["Kind", view.kind],
      ["Stack", view.metadata.stack],
      ["Labels", map(view.metadata.labels, pad)],
      ["Annotations", map(view.metadata.annotations, pad)],
      ["Generation", String(view.metadata.generation)],
      ["Created", when(view.metadata.createdAt, now)],
      ["Updated", when(view.metadata.updatedAt, now)],
    ],
    pad,
  );
  out.push("Spec:", indent(view.spec === undefined || view.spec === null ? "{}" : stringify(view.spec, { lineWidth: 0 })));
  out.push("Status:");
  if (isContainerStatus(view)) {
    const s: ContainerStatusView = view.status;
    out.push(
      ...fields(
        [
          ["Phase", s.phase],
          ["Health", s.health],
          ["Restart Count", String(s.restartCount ?? 0)],
          ["Last Restart", when(s.lastRestartAt, now)],
          ["Next Restart", s.nextRestartAt],
          ["Exit Code", s.exitCode === undefined ? undefined : String(s.exitCode)],
          ["OOM Killed", s.oomKilled ? "true" : undefined],
          ["PID", s.pid === undefined ? undefined : String(s.pid)],
          ["Started", when(s.startedAt, now)],
          ["Finished", when(s.finishedAt, now)],
          ["Reason", s.reason],
          ["Message", s.message],
          ["Container ID", s.containerId],
          ["Image Digest", s.imageDigest],
          ["Spec Hash", s.specHash],
        ],
        16,
      ).map((l) => `  ${l}`),
    );
    out.push("Health:");
    const results = s.healthResults ?? [];
    if (results.length === 0) out.push("  <none>");
    else
      out.push(
        indent(
          formatTable(
            ["TIME", "RESULT", "OUTPUT"],
            results.map((r) => [r.start, r.result, r.output.replace(/\s+/g, " ").trim().slice(0, 200)]),
          ),
        ),
      );
  } else {
    const entries = Object.entries((view.status ?? {}) as Record<string, unknown>);
    if (entries.length === 0) out.push("  <none>");
    for (const [k, v] of entries) {
      const label = `${k[0]!.toUpperCase()}${k.slice(1).replace(/([A-Z])/g, " $1")}:`;
      if (v !== null && typeof v === "object") out.push(`  ${label}`, indent(stringify(v, { lineWidth: 0 }), "    "));
      else out.push(`  ${label.padEnd(16)}${String(v)}`);
    }
  }
  out.push("Events:");
  const mine = events.slice(-EVENT_LIMIT);
  if (mine.length === 0) out.push("  <none>");
  else out.push(indent(formatTable(["TYPE", "REASON", "AGE", "MESSAGE"], mine.map((e) => [e.type, e.reason, age(e.time, now), e.message]))));
  return `${out.join("\n")}\n`;
}

/** `berth describe KIND NAME` (or KIND/NAME). */
export async function runDescribe(ctx: CommandContext, args: string[]): Promise<number> {
  let [kindWord, name] = args;
  if (kindWord?.includes("/") && args.length === 1) [kindWord, name] = kindWord.split("/", 2);
  if (!kindWord || !name || args.length > 2) throw new UsageError("usage: berth describe KIND NAME (or KIND/NAME)");
  const kind = kindArg(kindWord);
  const view = await ctx.client.get(kind, name);
  const ref = objectRef(KIND_NAMES[kind].singular, name);
  const events = (await ctx.client.events()).filter((e) => e.object === ref);
  ctx.stdout.write(formatDescribe(view, events, ctx.clock.now()));
  return 0;
}
