/**
 * Go's `path.Clean` (= `filepath.Clean` on Linux), which Docker applies to .dockerignore
 * patterns, to the paths they are matched against and to COPY sources and destinations.
 *
 * Rules, in Go's order: repeated `/` become one; `.` components go; a `..` removes the
 * component before it (lexically, no file system access); `..` right after the root of an
 * absolute path goes; a trailing `/` goes; an empty result is `.`. Unlike Node's
 * `path.posix.normalize`, `a/..` is `.` (not `./`), a trailing slash is removed and `""` is
 * `.`. Pure.
 */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  if (rooted) return `/${body}`;
  return body === "" ? "." : body;
}

/** Components of a cleaned relative path: `.` is none, `a/b` is ["a","b"]. */
export function pathComponents(p: string): string[] {
  const c = cleanPath(p);
  if (c === "." || c === "/") return [];
  return c.replace(/^\//, "").split("/");
}
