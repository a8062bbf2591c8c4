import type { ContainerStats, ContainerStatsFrame } from "../../controller/api/protocol.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { formatTable } from "../table.js";

/**
 * `berth stats [NAME...] [--no-stream] [-a] [--format table|json]`, as `docker stats`: CPU
 * %, memory usage / limit and %, network and block I/O, pids, live. On a terminal each frame
 * redraws the screen (clear, home); to a pipe frames follow each other; `--no-stream` prints
 * one frame (the figures over one second). `--format json` prints one JSON object per
 * container per frame, as Docker's. Without names: the running containers, found again each
 * frame; with names, those (a stopped one shows `--`). Ctrl-C ends it.
 */

const TITLES = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];

/** %.<precision>g as Go's fmt prints it (no exponent for the sizes shown here, trailing zeros dropped). */
function g(n: number, precision: number): string {
  return String(Number(n.toPrecision(precision)));
}

/** Docker's units.BytesSize: binary units, 4 significant digits (`1.5MiB`, `64MiB`). */
export function bytesSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${g(n, 4)}${units[i]}`;
}

/** Docker's units.HumanSizeWithPrecision(n, 3): decimal units (`1.23kB`, `648B`). */
export function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${g(n, 3)}${units[i]}`;
}

/** One table row, Docker's columns; `--` where there is no figure. */
export function statsRow(s: ContainerStats): string[] {
  const none = "--";
  return [
    (s.id ?? "").slice(0, 12) || none,
    s.name,
    s.cpuPercent !== undefined && s.running ? `${s.cpuPercent.toFixed(2)}%` : none,
    s.memory ? `${bytesSize(s.memory.usageBytes)} / ${bytesSize(s.memory.limitBytes)}` : "-- / --",
    s.memory ? `${s.memory.percent.toFixed(2)}%` : none,
    s.network ? `${humanSize(s.network.rxBytes)} / ${humanSize(s.network.txBytes)}` : "-- / --",
    s.blockIo ? `${humanSize(s.blockIo.readBytes)} / ${humanSize(s.blockIo.writeBytes)}` : "-- / --",
    s.pids ? String(s.pids.current) : none,
  ];
}

/** Docker's `--format json` line of one container (its template keys), plus berth's raw figures. */
export function statsJson(s: ContainerStats): string {
  const r = statsRow(s);
  return JSON.stringify({ ID: r[0], Name: r[1], CPUPerc: r[2], MemUsage: r[3], MemPerc: r[4], NetIO: r[5], BlockIO: r[6], PIDs: r[7], Stats: s });
}

export async function runStats(ctx: CommandContext, names: string[], opts: { stream?: boolean; all?: boolean; format?: string }): Promise<number> {
  const format = opts.format ?? "table";
  if (format !== "table" && format !== "json") throw new UsageError(`invalid --format ${JSON.stringify(format)}: use table or json`);
  const render = (frame: ContainerStatsFrame) => {
    if (format === "json") return frame.items.map((s) => `${statsJson(s)}\n`).join("");
    return formatTable(TITLES, frame.items.map(statsRow));
  };
  const q = { ...(opts.all ? { all: true } : {}) };
  if (opts.stream === false) {
    ctx.stdout.write(render(await ctx.client.stats(names, q)));
    return 0;
  }
  const signal = ctx.interrupt();
  const tty = !!ctx.stdout.isTTY && format === "table";
  try {
    for await (const frame of ctx.client.statsStream(names, q, signal)) {
      // Docker's redraw: clear the screen and go home, then the table.
      ctx.stdout.write(tty ? `\x1b[2J\x1b[H${render(frame)}` : render(frame));
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  return signal.aborted ? 130 : 0;
}
