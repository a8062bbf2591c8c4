/**
 * Image references, with the grammar of distribution/reference:
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *   domain    := host [":" port]   (a component with a '.', a ':', or "localhost")
 * Docker normalization: `busybox` → `docker.io/library/busybox:latest`.
 */
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
// A first component is a registry host only with a '.', a port, or as "localhost" (as Docker decides).
const domain = `(?:${domainComponent}(?:\\.${domainComponent})+(?::[0-9]+)?|${domainComponent}:[0-9]+|localhost|\\[[a-fA-F0-9:]+\\](?::[0-9]+)?)`;
const pathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;

export const IMAGE_REFERENCE_PATTERN = `^${name}(?::${tag})?(?:@${digest})?$`;
const REFERENCE_RE = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);
const NAME_MAX = 255;

export interface ParsedReference {
  /** Registry host (with port), e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** Parses and normalizes a reference; undefined when it is not one. */
export function parseReference(ref: string): ParsedReference | undefined {
  const m = REFERENCE_RE.exec(ref);
  if (!m) return undefined;
  const full = m[1]!;
  if (full.length > NAME_MAX) return undefined;
  const slash = full.indexOf("/");
  const first = slash < 0 ? "" : full.slice(0, slash);
  let dom = "docker.io";
  let path = full;
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) {
    dom = first;
    path = full.slice(slash + 1);
  }
  if (dom === "index.docker.io") dom = "docker.io";
  if (dom === "docker.io" && !path.includes("/")) path = `library/${path}`;
  const out: ParsedReference = { domain: dom, path };
  if (m[2]) out.tag = m[2];
  if (m[3]) out.digest = m[3];
  if (!out.tag && !out.digest) out.tag = "latest";
  return out;
}

export function isImageReference(ref: string): boolean {
  return parseReference(ref) !== undefined;
}

/** `busybox` → `docker.io/library/busybox:latest`; `localhost/web:1` unchanged. */
export function normalizeReference(ref: string): string | undefined {
  const p = parseReference(ref);
  if (!p) return undefined;
  return `${p.domain}/${p.path}${p.tag ? `:${p.tag}` : ""}${p.digest ? `@${p.digest}` : ""}`;
}

/** The short form Docker shows: drops `docker.io/library/` and `docker.io/`. */
export function familiarReference(ref: string): string {
  return ref.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
}
