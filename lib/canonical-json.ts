/**
 * Canonical JSON: object keys sorted (by UTF-16 code unit, like `Array.prototype.sort`),
 * no whitespace, `undefined` members dropped (as JSON.stringify does), arrays kept in
 * order. Two values that JSON.stringify would serialize to equal data give the same text,
 * whatever order their keys were inserted in. Used for spec hashes and for comparing
 * normalized specs.
 *
 * Refuses what JSON cannot represent faithfully (non-finite numbers, bigint, functions,
 * symbols, cycles) with a TypeError rather than hashing something lossy.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, new Set());
}

function encode(value: unknown, seen: Set<object>): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: cannot encode ${value}`);
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new TypeError(`canonical JSON: cannot encode a ${typeof value}`);
  }
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError("canonical JSON: cannot encode a cycle");
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      // JSON.stringify writes undefined array members as null; so do we.
      return `[${obj.map((v) => (v === undefined ? "null" : encode(v, seen))).join(",")}]`;
    }
    const record = obj as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const v = record[key];
      if (v === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${encode(v, seen)}`);
    }
    return `{${parts.join(",")}}`;
  } finally {
    seen.delete(obj);
  }
}
