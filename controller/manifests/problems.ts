import type { FieldError } from "./validate.js";

/** A path to a field: mapping keys and list indexes. */
export type Seg = (string | number)[];

/** Collects errors at field paths while normalizing; normalizers report and go on, never throw. */
export class Problems {
  readonly errors: FieldError[] = [];
  add(path: Seg, message: string, suggestion?: string) {
    this.errors.push({ path, message, ...(suggestion ? { suggestion } : {}) });
  }
}

/** The path of a field under an object's `spec`. */
export const specPath = (...segs: Seg) => ["spec", ...segs];
