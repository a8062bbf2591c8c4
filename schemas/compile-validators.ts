/**
 * Build step: compiles every kind's schema into one CommonJS module of standalone ajv
 * validators (`dist/schemas/validators.cjs`), so the CLI validates manifests without
 * loading TypeBox or ajv's compiler at run time.
 */
import { Ajv } from "ajv";
import standalone from "ajv/dist/standalone/index.js";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { AJV_OPTIONS, ANNOTATION_KEYWORDS } from "./ajv-options.js";
import { KIND_INFO, KINDS } from "./index.js";

export function validatorsSource(): string {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: "string" });
  const ids: Record<string, string> = {};
  for (const kind of KINDS) {
    const schema = KIND_INFO[kind].schema as { $id: string };
    ajv.addSchema(schema);
    ids[kind] = schema.$id;
  }
  return standalone.default(ajv, ids);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "validators.cjs");
  writeFileSync(out, validatorsSource());
}
