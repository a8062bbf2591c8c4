import dockerignoreModule from "@balena/dockerignore";
import { invalidArgument } from "../../../lib/errors.js";
import { cleanPath } from "./clean-path.js";
import { checkPattern } from "./glob.js";
import type { IgnoreMatcher } from "./types.js";
import { readBuildFile, type SourceRoot } from "./walk.js";

/**
 * `.dockerignore` with Docker's semantics, matched by @balena/dockerignore (a port of moby's
 * dockerignore.ReadAll + fileutils pattern matcher).
 *
 * - Lines: a UTF-8 BOM at the start is dropped; a line starting with `#` is a comment (only
 *   at column 0, as Docker); lines are trimmed; empty lines are skipped.
 * - Patterns are anchored at the context root (`root.txt` does not match `sub/root.txt`),
 *   cleaned as Go's filepath.Clean, with a leading `/` (and so `./`) stripped; `!` makes an
 *   exception; the last matching pattern wins; a pattern matching a parent directory
 *   matches everything under it; `**` matches any number of directories; `*`, `?`, `[...]`
 *   and `\` are as in Go's filepath.Match. Matching is case-sensitive (Linux; the library's
 *   default would be case-insensitive).
 * - Paths given to `ignores` are relative to the context and cleaned the same way; `.`
 *   (the root) is never ignored.
 * - The Dockerfile and `.dockerignore` are still read for the build even when they match
 *   (readDockerfile does not consult this matcher); `COPY . .` leaves them out if they match,
 *   exactly as Docker does.
 * - Where the file is read: `<Dockerfile>.dockerignore` beside the Dockerfile when it exists
 *   (BuildKit), else `.dockerignore` at the context root. A symlink there is refused
 *   (InvalidArgument naming it); a file over 1 MiB is FailedPrecondition.
 */

const MAX_DOCKERIGNORE_BYTES = 1 << 20;

// A CommonJS module whose typings declare `export default`: under NodeNext the default
// import is `module.exports`, which the library also exposes as its own `.default`.
const dockerignore = dockerignoreModule.default;

/**
 * A matcher for the text of a `.dockerignore` file. Pure. InvalidArgument, as Docker refuses
 * the build, for a lone `!` and for a pattern that filepath.Match calls malformed; `name`
 * is the file for messages.
 */
export function parseDockerignore(text: string, name = ".dockerignore"): IgnoreMatcher {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const patterns = dockerPatterns(lines);
  for (const p of patterns) {
    if (p === "!") throw invalidArgument(`read ${name}: illegal exclusion pattern: "!"`, { object: { kind: "buildSource", name } });
    try {
      checkPattern(p.startsWith("!") ? p.slice(1) : p);
    } catch (err) {
      throw invalidArgument(`read ${name}: ${JSON.stringify(p)}: syntax error in pattern`, { cause: err, object: { kind: "buildSource", name } });
    }
  }
  const ig = dockerignore({ ignorecase: false });
  ig.add(lines);
  const hasExceptions = patterns.some((p) => p.startsWith("!"));
  const cache = new Map<string, boolean>();
  // The library caches answers in a plain object and looks them up with `in`, so a path
  // that is an Object.prototype key ("constructor", "toString", ...) reads that member and
  // is never ignored. Such paths go to its uncached rule test (1.0.2, pinned; a test
  // guards this) and everything else through the public API.
  const uncached = (ig as unknown as { _test?: (p: string) => boolean })._test?.bind(ig);
  const test = (p: string): boolean => (p in Object.prototype && uncached ? !uncached(p) : ig.ignores(p));
  return {
    patterns,
    hasExceptions,
    ignores(relPath: string): boolean {
      const p = cleanPath(relPath).replace(/^\/+/, "");
      if (p === "." || p === "" || p === "..") return false;
      let hit = cache.get(p);
      if (hit === undefined) {
        hit = test(p);
        cache.set(p, hit);
      }
      return hit;
    },
  };
}

/** The matcher that ignores nothing (a context without `.dockerignore`, or `COPY --from`). */
export const NOTHING_IGNORED: IgnoreMatcher = { patterns: [], hasExceptions: false, ignores: () => false };

/**
 * Reads the ignore file of a context (see the header for which one). Without one, nothing
 * is ignored. `dockerfile` is the Dockerfile's path in the context, if it is in it.
 */
export async function readDockerignore(root: SourceRoot, dockerfile?: string): Promise<IgnoreMatcher> {
  const candidates = dockerfile ? [`${cleanPath(dockerfile)}.dockerignore`, ".dockerignore"] : [".dockerignore"];
  for (const name of candidates) {
    const buf = await readBuildFile(root, name, { what: `read ${name}`, maxBytes: MAX_DOCKERIGNORE_BYTES, optional: true });
    if (buf !== undefined) return parseDockerignore(buf.toString("utf8"), name);
  }
  return NOTHING_IGNORED;
}

/** The pattern list as moby's ReadAll returns it (for messages and cache keys). */
function dockerPatterns(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith("#")) continue;
    let p = line.trim();
    if (p === "") continue;
    const invert = p.startsWith("!");
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}
