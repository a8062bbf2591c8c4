/**
 * `berth image history` output, as `docker history` prints it (docker/cli
 * cli/command/formatter/history.go): newest first; IMAGE, CREATED (humanized, "2 minutes
 * ago"), CREATED BY (tabs as spaces, cut to 45 characters with "…" unless --no-trunc), SIZE
 * (Docker's decimal units with 3 significant digits: "4.26MB", "0B"), COMMENT. `-q` prints
 * the IMAGE column only; `--format json` one JSON object per line with Docker's keys (ID,
 * CreatedAt, CreatedSince, CreatedBy, Size, Comment), truncated the same way.
 *
 * IMAGE: Docker shows an ID on each row whose layer it has as a local image of its own
 * (built here) and `<missing>` on the rest, so a pulled image shows its ID on the top row
 * only. Berth keeps no such intermediate images: the top row has the image's ID (the config
 * digest, 12 hex characters unless --no-trunc), every row below it `<missing>`.
 */
import type { ImageHistory } from "../../controller/api/protocol.js";
import { formatTable, humanAgo } from "../table.js";

export interface HistoryOptions {
  noTrunc: boolean;
  quiet: boolean;
  format?: "table" | "json";
}

/** Docker's CREATED BY width. */
const CREATED_BY_WIDTH = 45;

/** docker/cli formatter.Ellipsis: at most `width` characters, the last one "…" when cut. */
export function ellipsis(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  return `${chars.slice(0, width - 1).join("")}…`;
}

/** go-units HumanSizeWithPrecision(size, 3): decimal units, Go's %.3g. */
export function dockerSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${goG3(v)}${units[i]}`;
}

/** Go's `%.3g`: 3 significant digits, trailing zeros dropped, exponent form from 1e3 up (`1e+03`). */
function goG3(v: number): string {
  const p = v.toPrecision(3);
  const [mant, exp] = p.split("e");
  const trim = (m: string) => (m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m);
  if (exp === undefined) return trim(mant!);
  const e = Number(exp);
  return `${trim(mant!)}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

interface Row {
  ID: string;
  CreatedAt: string;
  CreatedSince: string;
  CreatedBy: string;
  Size: string;
  Comment: string;
}

function rowsOf(h: ImageHistory, o: HistoryOptions, nowMs: number): Row[] {
  const id = o.noTrunc ? h.id : h.id.replace(/^sha256:/, "").slice(0, 12);
  return h.items.map((e, i) => {
    const createdMs = e.created === undefined ? NaN : Date.parse(e.created);
    const createdBy = (e.createdBy ?? "").replaceAll("\t", " ");
    return {
      ID: i === 0 ? id : "<missing>",
      CreatedAt: Number.isNaN(createdMs) ? "" : new Date(Math.floor(createdMs / 1000) * 1000).toISOString().replace(".000Z", "Z"),
      CreatedSince: Number.isNaN(createdMs) ? "N/A" : humanAgo(createdMs, nowMs),
      CreatedBy: o.noTrunc ? createdBy : ellipsis(createdBy, CREATED_BY_WIDTH),
      Size: dockerSize(e.size),
      Comment: e.comment ?? "",
    };
  });
}

/** The whole output for `h` at `nowMs`. */
export function formatHistory(h: ImageHistory, o: HistoryOptions, nowMs: number): string {
  const rows = rowsOf(h, o, nowMs);
  if (o.quiet) return rows.map((r) => `${r.ID}\n`).join("");
  if (o.format === "json") {
    return rows.map((r) => `${JSON.stringify({ Comment: r.Comment, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, CreatedSince: r.CreatedSince, ID: r.ID, Size: r.Size })}\n`).join("");
  }
  return formatTable(
    ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
    rows.map((r) => [r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment]),
  );
}
