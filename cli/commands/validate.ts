import { readFileSync } from "node:fs";
import { codeFrame, formatDiagnostic, type Diagnostic } from "../../controller/manifests/diagnostics.js";
import type { BerthPaths } from "../../controller/manifests/host-binds.js";
import { loadManifests } from "../../controller/manifests/load.js";
import { paint } from "../style.js";

export interface ValidateOptions {
  filename: string[];
  recursive: boolean;
  output: "text" | "json";
  allowPrivileged: boolean;
  allowHostBinds?: boolean;
  /** berth's own paths (--root, --run-root, --socket), which bind sources must not expose. */
  berthPaths?: Partial<BerthPaths>;
}

/** `berth validate`: 0 when every manifest is valid, 1 when any has an error. */
export async function runValidate(opts: ValidateOptions): Promise<number> {
  const result = await loadManifests(opts.filename, {
    recursive: opts.recursive,
    allowPrivileged: opts.allowPrivileged,
    allowHostBinds: !!opts.allowHostBinds,
    ...(opts.berthPaths ? { berthPaths: opts.berthPaths } : {}),
  });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (opts.output === "json") {
    process.stdout.write(
      JSON.stringify(
        {
          valid: errors.length === 0,
          files: result.files,
          objects: result.objects.map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`),
          diagnostics: result.diagnostics,
        },
        null,
        2,
      ) + "\n",
    );
    return errors.length ? 1 : 0;
  }
  printDiagnostics(result.diagnostics);
  if (errors.length) {
    const files = new Set(errors.map((d) => d.file)).size;
    process.stderr.write(`${errors.length} error${errors.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}\n`);
  }
  return errors.length ? 1 : 0;
}

/** Prints diagnostics to stderr (or `out`), each with the offending source line. */
export function printDiagnostics(diagnostics: Diagnostic[], out: { write(text: string): unknown; isTTY?: boolean } = process.stderr): void {
  const sources = new Map<string, string>();
  const color = paint(out);
  for (const d of diagnostics) {
    const line = formatDiagnostic(d).replace(`: ${d.severity}: `, `: ${d.severity === "error" ? color.red("error") : color.yellow("warning")}: `);
    out.write(`${line}\n`);
    if (d.line > 0 && d.file !== "<stdin>") {
      if (!sources.has(d.file)) {
        try {
          sources.set(d.file, readFileSync(d.file, "utf8"));
        } catch {
          sources.set(d.file, "");
        }
      }
      const frame = codeFrame(sources.get(d.file)!, d.line, d.column);
      if (frame) out.write(`${color.dim(frame)}\n`);
    }
  }
}
