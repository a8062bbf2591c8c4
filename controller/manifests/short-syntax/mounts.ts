/**
 * The short syntax of a mount, `[source:]target[:ro|rw]` (Docker's `-v` and Compose's short
 * `volumes:` form): a path-like source is a bind mount of a host directory, a name is a named
 * volume, no source is an anonymous volume. Shared by berth manifests and, later, the Compose
 * importer.
 */
import * as path from "node:path";
import type { Mount } from "../model.js";
import type { Problems, Seg } from "../problems.js";

/** A valid volume name: what a named-volume source must match. */
export const VOLUME_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const isPathLike = (s: string) => s.startsWith("/") || s.startsWith("./") || s.startsWith("../") || s === "." || s === ".." || s.startsWith("~");

/**
 * A mount target, normalized (no trailing '/'); undefined, with a problem at `at`, when it is
 * not absolute, contains '..' or is the container's root.
 */
export function checkMountTarget(target: string, at: Seg, p: Problems): string | undefined {
  if (!target.startsWith("/")) {
    p.add(at, `expected an absolute path in the container, got ${JSON.stringify(target)}`);
    return undefined;
  }
  if (target.split("/").includes("..")) {
    p.add(at, `mount target must not contain '..', got ${JSON.stringify(target)}`);
    return undefined;
  }
  const norm = path.posix.normalize(target).replace(/\/+$/, "") || "/";
  if (norm === "/") {
    p.add(at, "cannot mount over the container's root directory");
    return undefined;
  }
  return norm;
}

/**
 * One mount, bind sources resolved against `baseDir`; [] with a problem at `at` for a bad
 * target, a '~' source (not expanded) or an invalid volume name.
 */
export function parseMountShortSyntax(m: string, at: Seg, baseDir: string, p: Problems): Mount[] {
  const parts = m.split(":");
  let readOnly = false;
  if (parts.length > 1 && (parts[parts.length - 1] === "ro" || parts[parts.length - 1] === "rw")) {
    readOnly = parts.pop() === "ro";
  }
  if (parts.length === 1) {
    const target = checkMountTarget(parts[0]!, at, p);
    return target ? [{ type: "volume", target, readOnly }] : [];
  }
  const [source, rawTarget] = parts as [string, string];
  const target = checkMountTarget(rawTarget, at, p);
  if (!target) return [];
  if (source.startsWith("~")) {
    p.add(at, "'~' is not expanded in bind sources", "write the absolute path");
    return [];
  }
  if (isPathLike(source)) return [{ type: "bind", source: path.resolve(baseDir, source), target, readOnly }];
  if (!VOLUME_NAME_RE.test(source)) {
    p.add(at, `volume name ${JSON.stringify(source)} is not valid: expected lowercase letters, digits and '-'`, "for a host directory, start the path with / or ./");
    return [];
  }
  return [{ type: "volume", source, target, readOnly }];
}
