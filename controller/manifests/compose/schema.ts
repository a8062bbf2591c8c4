/**
 * Validation against the Compose Specification's JSON Schema (schemas/compose.ts): the
 * build's precompiled validator (dist/schemas/compose-validator.cjs) when present, else
 * compiled on first use (tests running on the sources). Either is loaded only when a
 * Compose file is validated.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { createRequire } from "node:module";
import { composeAjv, composeSchema } from "../../../schemas/compose.js";

const require = createRequire(import.meta.url);
let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  try {
    compiled = (require("../../../schemas/compose-validator.cjs") as { compose: ValidateFunction }).compose;
  } catch {
    compiled = composeAjv().compile(composeSchema());
  }
  return compiled;
}

/** ajv's errors for a Compose model; [] when valid. */
export function composeSchemaErrors(model: unknown): ErrorObject[] {
  const v = validator();
  return v(model) ? [] : [...(v.errors ?? [])];
}
