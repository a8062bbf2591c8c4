import { invalidArgument } from "./errors.js";

/**
 * Object names: a DNS label (RFC 1123), as Kubernetes uses for most names. Lowercase letters,
 * digits and '-', starting and ending with a letter or digit, 1..63 characters. Safe to
 * use as a path segment, a label value, an argv element and a hostname.
 */
export const NAME_PATTERN = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
const NAME_RE = new RegExp(NAME_PATTERN);
/** The shape of a name without its length, for schemas that state the length with maxLength. */
export const NAME_SHAPE_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const NAME_DESCRIPTION =
  "a name of lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

export function isValidName(name: unknown): name is string {
  return typeof name === "string" && NAME_RE.test(name);
}

/** Throws InvalidArgument unless `name` is a valid object name. Call before any path/argv use. */
export function assertValidName(name: unknown, what = "name"): asserts name is string {
  if (!isValidName(name)) {
    throw invalidArgument(`invalid ${what} ${JSON.stringify(name)}: expected ${NAME_DESCRIPTION}`);
  }
}

/** The obvious valid spelling of an invalid name ("My_App" → "my-app"), if there is one. */
export function suggestName(name: string): string | undefined {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/g, "");
  return s && s !== name && NAME_RE.test(s) ? s : undefined;
}

/** Runtime ids (containers, snapshots): 64 lowercase hex characters. */
export const ID_RE = /^[a-f0-9]{64}$/;

export function assertValidId(id: unknown, what = "id"): asserts id is string {
  if (typeof id !== "string" || !ID_RE.test(id)) {
    throw invalidArgument(`invalid ${what} ${JSON.stringify(id)}: expected 64 lowercase hex characters`);
  }
}

/** Content digests we accept as keys: only sha256, lowercase hex. */
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function assertValidDigest(digest: unknown): asserts digest is string {
  if (typeof digest !== "string" || !DIGEST_RE.test(digest)) {
    throw invalidArgument(`invalid digest ${JSON.stringify(digest)}: expected sha256:<64 lowercase hex>`);
  }
}

const DNS_NAME_RE = /^[A-Za-z0-9_]([-A-Za-z0-9_.]{0,252})$/;

/**
 * A host or domain name as it may appear in /etc/hosts, resolv.conf's `search` or a resolver's
 * answers (letters, digits, '-', '_', '.', at most 253 characters): no space, newline or other
 * byte that would change what those files say.
 */
export function isDnsName(name: unknown): name is string {
  return typeof name === "string" && DNS_NAME_RE.test(name);
}
