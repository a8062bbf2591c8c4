import * as path from "node:path";
import { normalizeSignal } from "../../../lib/signals.js";
import type { ImageSpecInput } from "../../../schemas/index.js";
import type { ImageSpec } from "../model.js";
import { specPath, type Problems } from "../problems.js";
import { imageRef, resolvePath } from "./scalars.js";
import type { NormalizeOptions } from "./types.js";

/** The spec of an Image object: its source (pull, build or import, paths resolved) and the reference it produces. */
export function normalizeImage(s: ImageSpecInput, o: NormalizeOptions, p: Problems): ImageSpec | undefined {
  let source: ImageSpec["source"] | undefined;
  if (s.pull) source = { type: "pull", reference: imageRef(s.pull) };
  else if (s.build) {
    const b = s.build;
    if (b.dockerfile && b.dockerfileInline) p.add(specPath("build"), "only one of dockerfile or dockerfileInline may be set");
    source = {
      type: "build",
      context: resolvePath(o.baseDir, b.context),
      args: stringMap(b.args),
      ...(b.dockerfile ? { dockerfile: b.dockerfile } : {}),
      ...(b.dockerfileInline ? { dockerfileInline: b.dockerfileInline } : {}),
      ...(b.target ? { target: b.target } : {}),
    };
    if (b.dockerfile && (path.isAbsolute(b.dockerfile) || b.dockerfile.split("/").includes(".."))) {
      p.add(specPath("build", "dockerfile"), "expected a path inside the build context (no leading '/', no '..')");
    }
  } else if (s.import) {
    const i = s.import;
    source = {
      type: "import",
      path: resolvePath(o.baseDir, i.path),
      format: i.format ?? "auto",
      ...(i.config ? { config: { ...i.config, env: stringMap(i.config.env) } } : {}),
    };
    if (i.config?.stopSignal && !normalizeSignal(i.config.stopSignal)) {
      p.add(specPath("import", "config", "stopSignal"), `unknown signal ${JSON.stringify(i.config.stopSignal)}`);
    }
  }
  const reference = s.reference ?? s.pull;
  if (!reference) {
    p.add(specPath("reference"), `missing required field "reference": an image from ${s.build ? "build" : "import"} needs the name:tag it produces`);
    return undefined;
  }
  if (!source) return undefined;
  return { reference: imageRef(reference), source, pullPolicy: s.pullPolicy ?? "ifNotPresent" };
}

function stringMap(m: Record<string, string | number | boolean> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}
