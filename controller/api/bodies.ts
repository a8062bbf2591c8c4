import type { Static } from "@sinclair/typebox";
import type { ValidateFunction } from "ajv";
import { createRequire } from "node:module";
import { invalidArgument } from "../../lib/errors.js";
import { AJV_OPTIONS, ANNOTATION_KEYWORDS } from "../../schemas/ajv-options.js";
import type { API_BODY_SCHEMAS, ApiBodyName } from "../../schemas/api.js";
import { formatPath } from "../manifests/diagnostics.js";
import type { FieldError } from "../manifests/validate.js";

/** The request bodies the server validates, typed, by schema name. */
export type Bodies = { [N in ApiBodyName]: Static<(typeof API_BODY_SCHEMAS)[N]> };

type Validators = Record<ApiBodyName, ValidateFunction>;

const require = createRequire(import.meta.url);
/** How many problems one message names; the rest are counted. */
const MAX_SHOWN = 5;

/**
 * The build's precompiled validators (dist/schemas/api-validators.cjs) when present, else
 * compiled now from the schema sources with the same options (tests running on sources).
 */
async function loadValidators(): Promise<Validators> {
  try {
    return require("../../schemas/api-validators.cjs") as Validators;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
  }
  const [{ Ajv }, { API_BODY_SCHEMAS }] = await Promise.all([import("ajv"), import("../../schemas/api.js")]);
  const ajv = new Ajv(AJV_OPTIONS);
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: "string" });
  return Object.fromEntries(Object.entries(API_BODY_SCHEMAS).map(([name, schema]) => [name, ajv.compile(schema)])) as Validators;
}

let loading: Promise<{ validators: Validators; fieldErrorsOf: (typeof import("../manifests/validate.js"))["fieldErrorsOf"] }> | undefined;

/** Loaded on first use, so that importing the server costs nothing until a body arrives. */
function load() {
  loading ??= Promise.all([loadValidators(), import("../manifests/validate.js")]).then(([validators, { fieldErrorsOf }]) => ({ validators, fieldErrorsOf }));
  return loading;
}

/**
 * Checks a request body against its schema (schemas/api.ts) and returns it typed. Otherwise
 * throws one InvalidArgument naming every problem (up to MAX_SHOWN) as manifest validation
 * words them: `apply: body.files[0].text: expected a string, got 1`, and for a field that
 * should not be there or is missing, the object it is in: `exec: unknown field "argvv" (did
 * you mean "argv"?)`, `apply: body.files[0]: missing required field "baseDir"`.
 */
export async function parseBody<N extends ApiBodyName>(name: N, body: unknown, what: string): Promise<Bodies[N]> {
  const { validators, fieldErrorsOf } = await load();
  const validate = validators[name];
  if (validate(body)) return body as Bodies[N];
  throw invalidArgument(bodyErrorMessage(what, fieldErrorsOf(validate.errors ?? [])));
}

/** `what: problem; problem; and N more`. */
export function bodyErrorMessage(what: string, errors: FieldError[]): string {
  const suggested = new Set<string>();
  const shown = errors.slice(0, MAX_SHOWN).map((e) => {
    const ofKey = e.atKey || e.missing;
    const where = ofKey ? e.path.slice(0, -1) : e.path;
    const location = ofKey && where.length === 0 ? "" : `${formatPath(["body", ...where])}: `;
    // (several unknown fields of one object share their "known fields: ..."; say it once)
    const suggestion = e.suggestion && !suggested.has(e.suggestion) ? ` (${e.suggestion})` : "";
    if (e.suggestion) suggested.add(e.suggestion);
    return `${location}${e.message}${suggestion}`;
  });
  if (errors.length > MAX_SHOWN) shown.push(`and ${errors.length - MAX_SHOWN} more`);
  return `${what}: ${shown.join("; ") || "invalid body"}`;
}
