import { formatDiagnostic } from "./diagnostics.js";
import { loadManifestTexts, type LoadOptions } from "./load.js";

/** Loads one in-memory file `t.yaml` (relative paths resolve against /base) and returns one-line diagnostics. */
export function diagnose(text: string, options: LoadOptions = {}): string[] {
  return loadManifestTexts([{ file: "t.yaml", text, baseDir: "/base" }], options).diagnostics.map(formatDiagnostic);
}

export function load(text: string, options: LoadOptions = {}) {
  return loadManifestTexts([{ file: "t.yaml", text, baseDir: "/base" }], options);
}

/** A container manifest with `spec` lines (already indented by two spaces) after `image: busybox`. */
export function container(specLines: string, name = "web"): string {
  return `apiVersion: berth/v1\nkind: Container\nmetadata:\n  name: ${name}\nspec:\n  image: busybox\n${specLines}`;
}
