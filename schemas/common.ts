import { Type, type Static, type TSchema, type SchemaOptions } from "@sinclair/typebox";
import { NAME_SHAPE_PATTERN } from "../lib/names.js";
import { IMAGE_REFERENCE_PATTERN } from "../lib/reference.js";
import { DURATION_PATTERN, SIZE_PATTERN } from "../lib/units.js";

/**
 * Building blocks shared by every kind's schema. `patternErrorMessage` is the keyword
 * VS Code / yaml-language-server show for a failed pattern; berth's validator shows it too.
 */
export const API_VERSION = "berth/v1";

export function Name(description = "Object name: a DNS label") {
  return Type.String({
    pattern: NAME_SHAPE_PATTERN,
    maxLength: 63,
    description,
    patternErrorMessage:
      "expected a name of lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
  });
}

export const Duration = (description: string) =>
  Type.String({
    pattern: DURATION_PATTERN,
    description: `${description} A duration such as 500ms, 10s, 1m30s.`,
    patternErrorMessage: "expected a duration such as 500ms, 10s or 1m30s",
  });

export const Size = (description: string) =>
  Type.Union([
    Type.String({
      pattern: SIZE_PATTERN,
      patternErrorMessage: "expected a size such as 64Mi, 512m, 1G or a number of bytes",
    }),
    Type.Integer({ minimum: 0 }),
  ], {
    description: `${description} A size: bytes, or a number with Ki Mi Gi Ti (binary), K M G T (decimal) or b k m g (binary, as Docker).`,
    errorMessage: "expected a size such as 64Mi, 512m, 1G or a number of bytes",
  });

export const ImageReference = (description: string) =>
  Type.String({
    pattern: IMAGE_REFERENCE_PATTERN,
    maxLength: 512,
    description,
    patternErrorMessage: "expected an image reference such as busybox, busybox:1.36 or localhost:5000/team/app:1.0",
  });

export const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });

/**
 * A map with validated keys. (TypeBox's Record becomes `patternProperties`, which lets keys
 * that match no pattern through; `propertyNames` rejects them, with the key in the error.)
 */
export function KeyedMap<V extends TSchema>(key: TSchema, value: V, options: SchemaOptions = {}) {
  return Type.Unsafe<Record<string, Static<V>>>({ type: "object", propertyNames: key, additionalProperties: value, ...options });
}

/** Label keys as Kubernetes has them: optional DNS-subdomain prefix, then a name of ≤63 chars. */
const LABEL_KEY_PATTERN =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const LABEL_VALUE_PATTERN = "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";

export const Labels = (description = "Key/value labels, as in Kubernetes.") =>
  KeyedMap(
    Type.String({
      pattern: LABEL_KEY_PATTERN,
      maxLength: 317,
      patternErrorMessage: "expected a label key: an optional DNS prefix and '/', then letters, digits, '-', '_' or '.'",
    }),
    Type.String({
      pattern: LABEL_VALUE_PATTERN,
      maxLength: 63,
      patternErrorMessage: "expected a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    }),
    { description },
  );

export const Annotations = () =>
  KeyedMap(
    Type.String({
      pattern: LABEL_KEY_PATTERN,
      maxLength: 317,
      patternErrorMessage: "expected an annotation key: an optional DNS prefix and '/', then letters, digits, '-', '_' or '.'",
    }),
    Type.String({ maxLength: 262144 }),
    { description: "Free-form key/value notes; not used for selection." },
  );

export const Metadata = () =>
  Type.Object(
    {
      name: Name("Name of the object, unique per kind."),
      labels: Type.Optional(Labels()),
      annotations: Type.Optional(Annotations()),
    },
    { additionalProperties: false, description: "Name, labels and annotations of the object." },
  );

/** A whole manifest object of `kind` with the given spec. */
export function ObjectSchema<S extends TSchema>(kind: string, spec: S, options: SchemaOptions & { specOptional?: boolean } = {}) {
  const { specOptional, ...rest } = options;
  return Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION, { description: `Always ${API_VERSION}.` }),
      kind: Type.Literal(kind),
      metadata: Metadata(),
      spec: specOptional ? Type.Optional(Type.Union([spec, Type.Null()])) : spec,
    },
    { additionalProperties: false, $id: `https://berth.dev/schemas/v1/${kind.toLowerCase()}.json`, ...rest },
  );
}

/** String-valued map with scalar values accepted (numbers and booleans are stringified). */
export const StringMap = (description: string) =>
  KeyedMap(Type.String({ minLength: 1, pattern: "^[^\\x00]+$" }), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
    description,
  });
