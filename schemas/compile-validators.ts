/**
 * Build step: compiles schemas into CommonJS modules of standalone ajv validators, so
 * nothing loads TypeBox or ajv's compiler at run time:
 * - `dist/schemas/validators.cjs`: every kind's manifest schema (the CLI and the daemon);
 * - `dist/schemas/api-validators.cjs`: the API's request bodies (the daemon's API server);
 * - `dist/schemas/compose-validator.cjs`: the Compose Specification's schema (compose.ts).
 */
import { Ajv } from "ajv";
import standalone from "ajv/dist/standalone/index.js";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { TSchema } from "@sinclair/typebox";
import { AJV_OPTIONS, ANNOTATION_KEYWORDS } from "./ajv-options.js";
import { API_BODY_SCHEMAS } from "./api.js";
import { COMPOSE_SCHEMA_ID, composeAjv, composeSchema } from "./compose.js";
import { KIND_INFO, KINDS } from "./index.js";

/** A standalone module exporting a validator per name. */
function standaloneSource(schemas: Record<string, TSchema>): string {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: "string" });
  const ids: Record<string, string> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    ajv.addSchema(schema);
    ids[name] = (schema as { $id: string }).$id;
  }
  return standalone.default(ajv, ids);
}

export function validatorsSource(): string {
  return standaloneSource(Object.fromEntries(KINDS.map((kind) => [kind, KIND_INFO[kind].schema])));
}

export function apiValidatorsSource(): string {
  return standaloneSource(API_BODY_SCHEMAS);
}

export function composeValidatorSource(): string {
  const ajv = composeAjv(true);
  ajv.addSchema(composeSchema());
  return standalone.default(ajv, { compose: COMPOSE_SCHEMA_ID });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  writeFileSync(path.join(here, "validators.cjs"), validatorsSource());
  writeFileSync(path.join(here, "api-validators.cjs"), apiValidatorsSource());
  writeFileSync(path.join(here, "compose-validator.cjs"), composeValidatorSource());
}
