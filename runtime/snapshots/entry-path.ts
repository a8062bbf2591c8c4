import { invalidArgument } from "../../lib/errors.js";

/**
 * Names inside a layer tar, turned into path components that are safe to join under a layer
 * directory.
 *
 * Policy:
 * - A leading `/` is stripped, as GNU tar does (`/etc/passwd` is `etc/passwd`); `.` and empty
 *   components are dropped.
 * - A `..` component anywhere is an error (we never resolve it lexically: a layer that needs
 *   it is malformed or hostile).
 * - NUL bytes, components over 255 bytes and names over 4096 bytes are errors.
 * - Unicode: Linux file names are bytes and the kernel never normalizes them, so NFC/NFD
 *   variants of a name are distinct, legitimate names and are kept as they are. What is
 *   dangerous is a component that some normalizing consumer could read as `.`/`..` or as
 *   containing `/` or `\` (fullwidth `．．`, `／`, two-dot leader `‥`, ...): a component whose
 *   NFKC form is `.` or `..` or contains `/` or `\0` is rejected.
 * - tar-stream decodes names as UTF-8: invalid byte sequences arrive as U+FFFD and are
 *   created under that (still contained) name.
 */
export function entryComponents(name: string, what = "entry"): string[] {
  if (name.includes("\0")) throw invalidArgument(`check ${what} ${JSON.stringify(name)}: name contains a NUL byte`);
  if (Buffer.byteLength(name) > 4096) throw invalidArgument(`check ${what}: name longer than 4096 bytes`);
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw invalidArgument(`check ${what} ${JSON.stringify(name)}: ".." components are not allowed`);
    if (Buffer.byteLength(part) > 255) throw invalidArgument(`check ${what} ${JSON.stringify(name)}: component longer than 255 bytes`);
    const folded = part.normalize("NFKC");
    if (folded === "." || folded === ".." || folded.includes("/") || folded.includes("\0")) {
      throw invalidArgument(`check ${what} ${JSON.stringify(name)}: component ${JSON.stringify(part)} is a Unicode twin of "." , ".." or "/"`);
    }
    parts.push(part);
  }
  return parts;
}

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_WHITEOUT = ".wh..wh..opq";

/** What a base name means under the OCI whiteout convention. */
export type WhiteoutKind = { kind: "none" } | { kind: "opaque" } | { kind: "whiteout"; target: string };

/**
 * `.wh.<name>` deletes `<name>` of lower layers; `.wh..wh..opq` makes its directory opaque.
 * Errors (InvalidArgument): a bare `.wh.`, a target of `.` or `..`, and any other `.wh..wh.`
 * name (aufs metadata has no meaning here and no OCI tool should emit it).
 */
export function classifyWhiteout(base: string): WhiteoutKind {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: "none" };
  if (base === OPAQUE_WHITEOUT) return { kind: "opaque" };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === "" || target === "." || target === ".." || target.startsWith(WHITEOUT_PREFIX)) {
    throw invalidArgument(`check whiteout ${JSON.stringify(base)}: not a valid whiteout name`);
  }
  return { kind: "whiteout", target };
}
