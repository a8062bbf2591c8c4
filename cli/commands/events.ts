import type { EventRecord } from "../../controller/api/protocol.js";
import type { CommandContext } from "../client.js";
import { objectArgs } from "../manifest-args.js";
import { objectRef } from "../format-status.js";
import { formatTable } from "../table.js";

export interface EventsOptions {
  watch: boolean;
  /** Only events of this object (`container/web` or `container web`). */
  for?: string;
}

const HEADER = ["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"];
/** Column widths while streaming, when later rows cannot widen the table. */
const WATCH_WIDTHS = [20, 7, 16, 24];

/** `2024-05-01T10:00:00Z`: UTC to the second. */
export function eventTime(time: string): string {
  const t = Date.parse(time);
  return Number.isNaN(t) ? time : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const cells = (e: EventRecord) => [eventTime(e.time), e.type, e.reason, e.object, e.message.replace(/\s*\n\s*/g, " ")];

/** One streamed line, fixed-width columns (growing past a width only pushes that line). */
export function formatEventLine(row: string[]): string {
  return row.map((c, i) => (i < WATCH_WIDTHS.length ? c.padEnd(WATCH_WIDTHS[i]!) : c)).join("   ").trimEnd();
}

/** `berth events [-w]`: recent events as a table, or with -w a stream until Ctrl-C (exit 0). */
export async function runEvents(ctx: CommandContext, o: EventsOptions): Promise<number> {
  let only: string | undefined;
  if (o.for) {
    const [t] = objectArgs(o.for.split(/\s+/));
    only = objectRef(t!.kind, t!.name);
  }
  const keep = (e: EventRecord) => only === undefined || e.object === only;
  if (!o.watch) {
    const events = (await ctx.client.events()).filter(keep);
    if (events.length === 0) ctx.stderr.write("No events found.\n");
    else ctx.stdout.write(formatTable(HEADER, events.map(cells)));
    return 0;
  }
  const signal = ctx.interrupt();
  ctx.stdout.write(`${formatEventLine(HEADER)}\n`);
  try {
    for await (const e of ctx.client.watchEvents(signal)) if (keep(e)) ctx.stdout.write(`${formatEventLine(cells(e))}\n`);
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  return 0;
}
