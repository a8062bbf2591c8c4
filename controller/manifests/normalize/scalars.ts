import * as path from "node:path";
import { isImageReference, normalizeReference } from "../../../lib/reference.js";
import { parseDuration } from "../../../lib/units.js";

/** The normalized reference; an invalid one (already a schema error) is kept as written. */
export function imageRef(text: unknown): string {
  return typeof text === "string" && isImageReference(text) ? normalizeReference(text) : String(text ?? "");
}

/** A manifest's relative path, made absolute against the manifest's directory. */
export function resolvePath(base: string, p: string): string {
  return path.resolve(base, p);
}

/** A duration field in milliseconds, or `fallback` when it is not set. */
export function durationMs(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : parseDuration(text);
}
