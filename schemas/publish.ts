/**
 * Writes the published JSON Schemas next to this folder's sources: one per kind and
 * `berth.json`, which validates any berth manifest document (point yaml-language-server at
 * it with `# yaml-language-server: $schema=<path>/schemas/berth.json`). Run by `npm run build`;
 * a unit test fails when the committed files differ from what the sources generate.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { API_VERSION, KIND_INFO, KINDS } from "./index.js";

export const SCHEMA_BASE = "https://berth.dev/schemas/v1";

/** The published documents, by file name. */
export function publishedSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const defs: Record<string, unknown> = {};
  for (const kind of KINDS) {
    const schema = { $schema: "http://json-schema.org/draft-07/schema#", ...clean(KIND_INFO[kind].schema) };
    out[`${kind.toLowerCase()}.json`] = schema;
    const { $id: _id, $schema: _s, ...rest } = schema as Record<string, unknown>;
    defs[kind] = rest;
  }
  out["berth.json"] = {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: `${SCHEMA_BASE}/berth.json`,
    title: "berth manifest",
    description: `A berth object: apiVersion ${API_VERSION} and a kind of ${KINDS.join(", ")}.`,
    type: "object",
    required: ["apiVersion", "kind", "metadata"],
    properties: {
      apiVersion: { const: API_VERSION },
      kind: { enum: [...KINDS] },
    },
    allOf: KINDS.map((kind) => ({
      if: { properties: { kind: { const: kind } }, required: ["kind"] },
      then: { $ref: `#/definitions/${kind}` },
    })),
    definitions: defs,
  };
  return out;
}

/** A plain JSON copy (drops TypeBox's symbol keys). */
function clean(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

export function render(doc: unknown): string {
  return JSON.stringify(doc, null, 2) + "\n";
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The source folder `schemas/` whether running from dist/schemas or schemas. */
export const SCHEMAS_DIR = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? "../../schemas" : ".");

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const [name, doc] of Object.entries(publishedSchemas())) writeFileSync(path.join(SCHEMAS_DIR, name), render(doc));
}
