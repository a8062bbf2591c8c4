import type { ErrorObject, ValidateFunction } from "ajv";
import { createRequire } from "node:module";
import { suggestName } from "../../lib/names.js";
import { AJV_OPTIONS, ANNOTATION_KEYWORDS } from "../../schemas/ajv-options.js";
import { API_VERSION, KINDS, type Kind } from "../../schemas/kinds.js";
import { formatPath, type Diagnostic } from "./diagnostics.js";
import { locate, type ParsedDocument } from "./parse.js";
import { didYouMean } from "./suggest.js";

type Segments = (string | number)[];

/** A schema-level problem before it is placed in a file. */
export interface FieldError {
  path: Segments;
  /** Point at the key rather than the value (unknown fields). */
  atKey?: boolean;
  /** A missing field: point at its parent mapping. */
  missing?: boolean;
  message: string;
  suggestion?: string;
}

const require = createRequire(import.meta.url);

/**
 * The validators of every kind: the build's precompiled module (dist/schemas/validators.cjs)
 * when present, else compiled now from the schema sources (tests running on sources).
 */
async function loadValidators(): Promise<Map<Kind, ValidateFunction>> {
  let fns: Record<string, ValidateFunction>;
  try {
    fns = require("../../schemas/validators.cjs") as Record<string, ValidateFunction>;
  } catch {
    const [{ Ajv }, { KIND_INFO }] = await Promise.all([import("ajv"), import("../../schemas/index.js")]);
    const ajv = new Ajv(AJV_OPTIONS);
    for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: "string" });
    fns = Object.fromEntries(KINDS.map((k) => [k, ajv.compile(KIND_INFO[k].schema)]));
  }
  return new Map(KINDS.map((k) => [k, fns[k]!]));
}

const validators = await loadValidators();

/** Validates one document's data; returns field errors (empty when valid). */
export function validateObject(value: unknown): FieldError[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [{ path: [], message: `expected a mapping with apiVersion, kind, metadata and spec, got ${describe(value)}` }];
  }
  const obj = value as Record<string, unknown>;
  const kind = obj.kind;
  if (typeof kind === "string" && (KINDS as readonly string[]).includes(kind)) {
    const validate = validators.get(kind as Kind)!;
    return validate(value) ? [] : fieldErrorsOf(validate.errors ?? []);
  }
  // Unknown kind: no schema to apply; say what we can about the envelope.
  const errors: FieldError[] = [];
  if (obj.apiVersion === undefined) {
    errors.push({ path: ["apiVersion"], missing: true, message: `missing required field "apiVersion"`, suggestion: `add apiVersion: ${API_VERSION}` });
  } else if (obj.apiVersion !== API_VERSION) {
    errors.push({ path: ["apiVersion"], message: `expected "${API_VERSION}", got ${describe(obj.apiVersion)}` });
  }
  const guess = typeof kind === "string" ? didYouMean(kind, KINDS) : undefined;
  errors.push(
    kind === undefined
      ? { path: ["kind"], missing: true, message: `missing required field "kind"`, suggestion: `kind is one of ${KINDS.join(", ")}` }
      : {
          path: ["kind"],
          message: `unknown kind ${describe(kind)}: expected one of ${KINDS.join(", ")}`,
          ...(guess ? { suggestion: `did you mean "${guess}"?` } : {}),
        },
  );
  return errors;
}

function segmentsOf(instancePath: string): Segments {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** Keeps, for every anyOf/oneOf, the errors of the branch the data was meant for. */
function reduceUnions(errors: ErrorObject[]): ErrorObject[] {
  let live = [...errors];
  const unions = errors
    .filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf")
    .sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const u of unions) {
    if (!live.includes(u)) continue;
    const prefix = `${u.schemaPath}/`;
    const under = (e: ErrorObject) => e.instancePath === u.instancePath || e.instancePath.startsWith(`${u.instancePath}/`);
    const inBranch = live.filter((e) => e.schemaPath.startsWith(prefix) && under(e));
    const branches = new Map<number, ErrorObject[]>();
    for (const e of inBranch) {
      const i = Number(e.schemaPath.slice(prefix.length).split("/")[0]);
      branches.set(i, [...(branches.get(i) ?? []), e]);
    }
    const alternatives = (u.parentSchema as Record<string, unknown>)?.[u.keyword] as Record<string, unknown>[] | undefined;
    // A union of literals is an enum: one message listing the choices.
    if (alternatives?.every((s) => "const" in s)) {
      live = live.filter((e) => !inBranch.includes(e) && e !== u);
      live.push({ ...u, keyword: "enum", params: { allowedValues: alternatives.map((s) => s.const) } });
      continue;
    }
    // oneOf of `required` sets: "exactly one of a, b, c".
    if (u.keyword === "oneOf" && alternatives?.every((s) => Array.isArray(s.required) && Object.keys(s).length === 1)) {
      live = live.filter((e) => !inBranch.includes(e) && e !== u);
      const names = alternatives.map((s) => (s.required as string[])[0]!);
      const passing = (u.params as { passingSchemas?: number[] | null }).passingSchemas;
      live.push({
        ...u,
        keyword: "exactlyOne",
        params: { names, present: passing ? passing.map((i) => names[i]) : [] },
      });
      continue;
    }
    const typeMismatch = (errs: ErrorObject[]) => errs.some((e) => e.instancePath === u.instancePath && e.keyword === "type");
    const viable = [...branches.entries()].filter(([, errs]) => !typeMismatch(errs));
    if (viable.length === 0) {
      live = live.filter((e) => !inBranch.includes(e));
      continue; // the union error itself stays and speaks for all branches
    }
    viable.sort((a, b) => a[1].length - b[1].length);
    const keep = new Set(viable[0]![1]);
    live = live.filter((e) => e !== u && (!inBranch.includes(e) || keep.has(e)));
  }
  return live;
}

/** ajv errors as field errors: unions reduced to the branch meant, duplicates dropped. (The API's body validation uses it too.) */
export function fieldErrorsOf(errors: ErrorObject[]): FieldError[] {
  let out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of reduceUnions(errors)) {
    const fe = toFieldError(e);
    if (!fe) continue;
    const key = `${formatPath(fe.path)}\u0000${fe.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(fe);
  }
  // "unknown field imagee; did you mean image?" already says that image is missing.
  const suggested = new Set(
    out.filter((e) => e.atKey && e.suggestion?.startsWith("did you mean")).map((e) => `${formatPath(e.path.slice(0, -1))}\u0000${/"(.*)"/.exec(e.suggestion!)![1]}`),
  );
  out = out.filter((e) => !(e.missing && suggested.has(`${formatPath(e.path.slice(0, -1))}\u0000${e.path[e.path.length - 1]}`)));
  return out;
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
const TYPE_WORDS: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  null: "nothing",
};

/** `"abc"`, `70000`, `a mapping`, `a list`, `true`, `nothing`. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? v.slice(0, 80) + "…" : v);
  return String(v);
}

function toFieldError(e: ErrorObject): FieldError | undefined {
  const path = segmentsOf(e.instancePath);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const params = e.params as Record<string, unknown>;
  const got = `, got ${describe(e.data)}`;
  switch (e.keyword) {
    case "type": {
      const types = ([] as string[]).concat(params.type as string | string[]);
      return { path, message: `expected ${types.map((t) => TYPE_WORDS[t] ?? article(t)).join(" or ")}${got}` };
    }
    case "required": {
      const field = String(params.missingProperty);
      return { path: [...path, field], missing: true, message: `missing required field "${field}"` };
    }
    case "additionalProperties": {
      const field = String(params.additionalProperty);
      const known = Object.keys((parent.properties as object | undefined) ?? {});
      const guess = didYouMean(field, known);
      return {
        path: [...path, field],
        atKey: true,
        message: `unknown field "${field}"`,
        suggestion: guess ? `did you mean "${guess}"?` : known.length ? `known fields: ${known.join(", ")}` : undefined,
      };
    }
    case "propertyNames":
      return undefined; // the nested error names the key
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map((v) => String(v));
      const guess = typeof e.data === "string" ? didYouMean(e.data, allowed) : undefined;
      return {
        path,
        message: `expected one of ${allowed.join(", ")}${got}`,
        ...(guess ? { suggestion: `did you mean "${guess}"?` } : {}),
      };
    }
    case "const":
      return { path, message: `expected ${JSON.stringify(params.allowedValue)}${got}` };
    case "exactlyOne": {
      const names = params.names as string[];
      const present = params.present as string[];
      const list = `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
      return present.length > 1
        ? { path, message: `only one of ${list} may be set, found ${present.join(" and ")}` }
        : { path, message: `exactly one of ${list} is required` };
    }
    case "pattern": {
      const key = params.propertyName as string | undefined; // set when validating a map key
      const msg = (parent.patternErrorMessage as string | undefined) ?? `expected a string matching ${params.pattern}`;
      if (e.propertyName !== undefined || key !== undefined) {
        const k = e.propertyName ?? key!;
        return { path: [...path, k], atKey: true, message: `invalid key ${JSON.stringify(k)}: ${msg}` };
      }
      const fixed = typeof e.data === "string" && /lowercase letters, digits and '-'/.test(msg) ? suggestName(e.data) : undefined;
      return { path, message: `${msg}${got}`, ...(fixed ? { suggestion: `did you mean "${fixed}"?` } : {}) };
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const what = parent.type === "integer" ? "an integer" : "a number";
      if (typeof parent.minimum === "number" && typeof parent.maximum === "number") {
        return { path, message: `expected ${what} from ${parent.minimum} to ${parent.maximum}${got}` };
      }
      const bound = { minimum: "at least", maximum: "at most", exclusiveMinimum: "greater than", exclusiveMaximum: "less than" }[e.keyword];
      return { path, message: `expected ${what} ${bound} ${params.limit}${got}` };
    }
    case "minLength":
      return params.limit === 1
        ? { path, message: "must not be empty" }
        : { path, message: `expected at least ${params.limit} characters${got}` };
    case "maxLength":
      return { path, message: `expected at most ${params.limit} characters, got ${(e.data as string).length}` };
    case "minItems":
      return { path, message: `expected at least ${params.limit} item${params.limit === 1 ? "" : "s"}, got ${(e.data as unknown[]).length}` };
    case "maxItems":
      return { path, message: `expected at most ${params.limit} items, got ${(e.data as unknown[]).length}` };
    case "anyOf":
    case "oneOf":
      return { path, message: `${(parent.errorMessage as string | undefined) ?? "does not match any allowed form"}${got}` };
    default:
      return { path, message: e.message ?? `fails ${e.keyword}` };
  }
}

/** Places field errors of a document in its file. */
export function locateErrors(parsed: ParsedDocument, object: string | undefined, errors: FieldError[]): Diagnostic[] {
  return errors.map((fe) => {
    const pos = locate(parsed, fe.missing ? fe.path.slice(0, -1) : fe.path, { key: fe.atKey });
    const d: Diagnostic = {
      severity: "error",
      file: parsed.file,
      line: pos.line,
      column: pos.column,
      path: formatPath(fe.path),
      message: fe.message,
    };
    if (object) d.object = object;
    if (fe.suggestion) d.suggestion = fe.suggestion;
    return d;
  });
}
