import { stringify } from "yaml";
import type {
  ContainerStatusView,
  EventRecord,
  GenericStatusView,
  HealthCheckStatusView,
  ImageStatusView,
  ObjectView,
  VolumeStatusView,
} from "../../controller/api/protocol.js";
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

/** `3`, or `3 (status reflects 2)` while the status is not yet of the latest spec. */
function generation(view: ObjectView): string {
  const observed = view.status.observedGeneration;
  const g = view.metadata.generation;
  return observed === undefined || observed === g ? String(g) : `${g} (status reflects ${observed})`;
}

/** The status of a kind other than Container: the common fields, then the kind's own. */
function statusLines(view: ObjectView): string[] {
  const s = view.status as GenericStatusView;
  const own: [string, string | undefined][] = [];
  let matched: string[] | undefined;
  if (view.kind === "Image") {
    const i = view.status as ImageStatusView;
    own.push(["Digest", i.digest], ["ID", i.id], ["Size", i.size === undefined ? undefined : String(i.size)]);
  } else if (view.kind === "Volume") {
    own.push(["Mountpoint", (view.status as VolumeStatusView).mountpoint]);
  } else if (view.kind === "HealthCheck") {
    matched = (view.status as HealthCheckStatusView).matched;
  }
  const lines = fields(
    [
      ["Ready", String(s.ready)],
      ["Reason", s.reason],
      ["Message", s.message],
      ...own,
    ],
    16,
  ).map((l) => `  ${l}`);
  if (matched) lines.push("  Matched:", matched.length === 0 ? "    <none>" : indent(stringify(matched, { lineWidth: 0 }), "    "));
  return lines;
}

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
      ["Generation", generation(view)],
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
    out.push("Networks:");
    if (s.networkMode && s.networkMode !== "bridge") out.push(`  mode ${s.networkMode}`);
    else if (!s.networks?.length) out.push("  <none>");
    else out.push(indent(formatTable(["NETWORK", "ADDRESS", "GATEWAY", "ALIASES"], s.networks.map((n) => [n.network, n.address, n.gateway, n.aliases.join(",") || "-"]))));
    out.push("Ports:");
    if (!s.ports?.length) out.push("  <none>");
    else out.push(...s.ports.map((p) => `  ${p.containerPort}/${p.protocol} -> ${p.hostIP}:${p.hostPort}`));
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
    out.push(...statusLines(view));
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
