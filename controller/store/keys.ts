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
