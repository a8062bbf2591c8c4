import { invalidArgument } from "./errors.js";
import { DIGEST_RE } from "./names.js";

/**
 * Image references, parsed strictly by the grammar of distribution/reference and normalized
 * the way Docker does (`busybox` → `docker.io/library/busybox:latest`):
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain '/'] remote-name
 *   domain           := host [':' port-number]
 *   host             := domain-name | IPv4address | \[ IPv6address \]
 *   domain-name      := domain-component ['.' domain-component]*
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   path-component   := alpha-numeric [separator alpha-numeric]*
 *   alpha-numeric    := /[a-z0-9]+/
 *   separator        := /[_.]|__|[-]+/
 *   tag              := /[\w][\w.-]{0,127}/
 *   digest           := algorithm ":" hex   (berth accepts sha256 only)
 *
 * The name is at most 255 characters.
 */
export interface Reference {
  /** e.g. `docker.io`, `localhost`, `registry:5000`. */
  domain: string;
  /** e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
export const TAG_RE = new RegExp(`^${TAG}$`);
const NAME_MAX = 255;

export const DEFAULT_DOMAIN = "docker.io";
export const DEFAULT_TAG = "latest";

/**
 * Parses and normalizes a reference. A reference with neither tag nor digest gets `latest`.
 * InvalidArgument on anything outside the grammar, uppercase in the repository path, a
 * 64-hex-character name (an image ID, not a name) and non-sha256 digests.
 */
export function parseReference(input: string, options: { defaultTag?: boolean } = {}): Reference {
  const bad = (why: string) => invalidArgument(`parse reference ${JSON.stringify(input)}: ${why}`);
  if (typeof input !== "string" || input === "") throw bad("empty");
  if (/^[a-f0-9]{64}$/.test(input)) throw bad("a 64-character hexadecimal string is an image ID, not a name");
  const m = REFERENCE_RE.exec(input);
  if (!m) {
    if (REFERENCE_RE.test(input.toLowerCase())) throw bad("repository name must be lowercase");
    throw bad("invalid reference format");
  }
  const [, name, tag, digest] = m as unknown as [string, string, string | undefined, string | undefined];
  if (name.length > NAME_MAX) throw bad(`repository name longer than ${NAME_MAX} characters`);
  if (digest !== undefined && !DIGEST_RE.test(digest)) throw bad("only sha256 digests of 64 lowercase hex characters are supported");
  let domain: string;
  let rest: string;
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(slash + 1);
  }
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes("/")) rest = `library/${rest}`;
  if (/[A-Z]/.test(rest)) throw bad("repository name must be lowercase");
  const ref: Reference = { domain, path: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined && options.defaultTag !== false) ref.tag = DEFAULT_TAG;
  return ref;
}

/** `domain/path[:tag][@digest]`. */
export function formatReference(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** `domain/path`. */
export function repositoryOf(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The fully qualified form, e.g. `busybox` → `docker.io/library/busybox:latest`. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/**
 * A normalized tagged reference (what image records are indexed by): InvalidArgument when
 * the input carries a digest.
 */
export function normalizeTaggedReference(input: string): string {
  const r = parseReference(input);
  if (r.digest !== undefined) throw invalidArgument(`parse reference ${JSON.stringify(input)}: a digest reference cannot name a tag`);
  return formatReference(r);
}

/** The short form Docker prints and writes into RepoTags: `docker.io/library/x:1` → `x:1`. */
export function familiarReference(input: string): string {
  const r = parseReference(input);
  let name = repositoryOf(r);
  if (r.domain === DEFAULT_DOMAIN) name = r.path.startsWith("library/") ? r.path.slice("library/".length) : r.path;
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** True when `input` parses as a reference. */
export function isImageReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}

/**
 * The same grammar as one regular expression, for JSON Schemas (editors): a first component
 * counts as a registry host only with a '.', a port, an uppercase letter, or as "localhost",
 * as Docker's splitDockerDomain decides, so the pattern refuses uppercase repository paths
 * as parseReference does. (The 255-character name limit is the parser's alone.)
 */
const SCHEMA_DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})+(?::[0-9]+)?|${DOMAIN_COMPONENT}:[0-9]+|localhost|(?=[^/]*[A-Z])${DOMAIN_COMPONENT}|${IPV6}(?::[0-9]+)?)`;
export const IMAGE_REFERENCE_PATTERN = `^(?:${SCHEMA_DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`;
