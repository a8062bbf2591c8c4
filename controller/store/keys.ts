/** Object keys (`container/web`): the work queue's keys and the stores' too. */
import { KIND_NAMES, type Kind } from "../../schemas/kinds.js";

const BY_SINGULAR = new Map(Object.values(KIND_NAMES).map((n) => [n.singular, n.kind] as const));

/** `container/web` for (Container, web). */
export function keyOf(kind: Kind, name: string): string {
  return `${KIND_NAMES[kind].singular}/${name}`;
}

/** The kind of a key; undefined for a key of no known kind. */
export function kindOfKey(key: string): Kind | undefined {
  return BY_SINGULAR.get(key.slice(0, key.indexOf("/")));
}

/** The name part of a key. */
export function nameOfKey(key: string): string {
  return key.slice(key.indexOf("/") + 1);
}

/**
 * The network a stack's containers join when they name none (Compose's `<project>_default`):
 * `<stack>-default`, shortened with a hash where that would pass a name's 63 characters.
 */
export function defaultNetworkName(stack: string): string {
  const name = `${stack}-default`;
  if (name.length <= 63) return name;
  let h = 0;
  for (const c of stack) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return `${stack.slice(0, 46).replace(/-+$/, "")}-${h.toString(16).padStart(8, "0")}-default`;
}
