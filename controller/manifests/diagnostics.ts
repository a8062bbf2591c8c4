/**
 * A located problem in a manifest. Every error berth reports about user input is one of
 * these: where (file:line:column), which object, which field, what was expected, and a
 * suggestion when one is obvious.
 */
export interface Diagnostic {
  severity: "error" | "warning";
  file: string;
  /** 1-based; 0 when the problem concerns the whole file. */
  line: number;
  column: number;
  /** `container/web`, when the problem is inside a recognised object. */
  object?: string;
  /** `spec.ports[0].containerPort`; empty for the document itself. */
  path: string;
  message: string;
  suggestion?: string;
}

/** `spec.ports[0].containerPort` from ["spec","ports",0,"containerPort"]. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** One-line form: `file:line:col: error: container/web: spec.image: message (did you mean ...?)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const parts = [where, d.severity];
  if (d.object) parts.push(d.object);
  if (d.path) parts.push(d.path);
  return `${parts.join(": ")}: ${d.message}${d.suggestion ? `; ${d.suggestion}` : ""}`;
}

/** The source line with a caret under the column, for human output. */
export function codeFrame(text: string, line: number, column: number): string {
  if (line <= 0) return "";
  const lines = text.split("\n");
  const src = lines[line - 1];
  if (src === undefined) return "";
  const num = String(line);
  const shown = src.length > 200 ? src.slice(0, 200) + "…" : src;
  return `${" ".repeat(num.length)} |\n${num} | ${shown}\n${" ".repeat(num.length)} | ${" ".repeat(Math.max(0, Math.min(column - 1, 200)))}^`;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}
