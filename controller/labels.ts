/**
 * The labels berth puts on every runtime object it creates (STYLE #6). Ownership is exact:
 * an object is berth's when `berth.object` is set; prune and delete only touch those.
 */
export const LABELS = {
  /** The stack that applied the desired object. */
  stack: "berth.stack",
  /** The desired object's key, `container/web`. */
  object: "berth.object",
  /** spec-hash.ts of the effective spec the container was created from. */
  specHash: "berth.spec-hash",
} as const;

/** True when `labels` mark the runtime object as created by berth for desired object `key`. */
export function ownedBy(labels: Record<string, string>, key: string): boolean {
  return labels[LABELS.object] === key;
}

/** True when `labels` mark the runtime object as created by berth (for any object). */
export function isOwned(labels: Record<string, string>): boolean {
  return typeof labels[LABELS.object] === "string" && labels[LABELS.object] !== "";
}
