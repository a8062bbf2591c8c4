import { promises as fs } from "node:fs";
import * as path from "node:path";
import { failedPrecondition, invalidArgument } from "../../lib/errors.js";
import { assertValidName } from "../../lib/names.js";
import type { OciMount } from "../containers/oci-types.js";
import type { MountSpec } from "../types.js";
import type { LocalVolumeStore } from "./types.js";

/**
 * A container's mounts (runtime/types.ts MountSpec) checked and turned into OCI mounts.
 * `validateMounts` is pure and runs at create; `resolveMounts` touches the host (volume
 * paths, bind source checks) and runs at every start.
 *
 * Bind sources must exist and must not be — or, after resolving symlinks, lie inside —
 * any protected path (berth's state dir, its run-root, the API socket): a container must
 * never reach berth's own state. Nor may a source reach an ancestor of one through a
 * symlink: an ancestor named as such (`/`, `/var/lib`) was judged when it was applied
 * (controller/manifests/host-binds.ts refuses it unless host binds are allowed), but a
 * symlink can be swapped in after that, and is resolved here at every start.
 */

export function normalizeTarget(target: string, container: string): string {
  if (typeof target !== "string" || !target.startsWith("/") || target.includes("\0")) {
    throw invalidArgument(`create container ${container}: mount target ${JSON.stringify(target)} must be an absolute path`);
  }
  if (target.split("/").includes("..")) {
    throw invalidArgument(`create container ${container}: mount target ${JSON.stringify(target)} must not contain ".."`);
  }
  const t = path.posix.normalize(target).replace(/\/+$/, "");
  if (t === "") throw invalidArgument(`create container ${container}: cannot mount over /`);
  return t;
}

/** Checks every mount (pure); InvalidArgument on the first problem. */
export function validateMounts(mounts: MountSpec[], container: string): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    const t = normalizeTarget(m.target, container);
    if (seen.has(t)) throw invalidArgument(`create container ${container}: two mounts at ${t}`);
    seen.add(t);
    switch (m.type) {
      case "volume":
        assertValidName(m.source, "volume name");
        break;
      case "bind":
        if (typeof m.source !== "string" || !m.source.startsWith("/") || m.source.includes("\0")) {
          throw invalidArgument(`create container ${container}: bind source ${JSON.stringify(m.source)} must be an absolute path`);
        }
        break;
      case "tmpfs":
        if (m.sizeBytes !== undefined && (!Number.isSafeInteger(m.sizeBytes) || m.sizeBytes <= 0)) {
          throw invalidArgument(`create container ${container}: tmpfs size at ${t} must be a positive integer`);
        }
        if (m.mode !== undefined && (!Number.isInteger(m.mode) || m.mode < 0 || m.mode > 0o7777)) {
          throw invalidArgument(`create container ${container}: tmpfs mode at ${t} must be between 0 and 07777`);
        }
        break;
      default:
        throw invalidArgument(`create container ${container}: unknown mount type ${JSON.stringify((m as { type: unknown }).type)}`);
    }
  }
}

async function realpathOrResolve(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    return path.resolve(p);
  }
}

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith("/") ? parent : `${parent}/`);
}

/**
 * Returns the real path of a bind source. FailedPrecondition when it does not exist;
 * InvalidArgument when it is, or lies inside, a protected path.
 */
export async function checkBindSource(source: string, protectedPaths: string[], container: string): Promise<string> {
  let real: string;
  try {
    real = await fs.realpath(source);
  } catch {
    throw failedPrecondition(`create container ${container}: bind source ${source} does not exist`);
  }
  const lexical = path.resolve(source);
  for (const p of protectedPaths) {
    const rp = await realpathOrResolve(p);
    const lp = path.resolve(p);
    if (inside(real, rp) || inside(lexical, lp)) {
      throw invalidArgument(`create container ${container}: bind source ${source} is inside berth's own ${p}`);
    }
    const named = inside(rp, lexical) || inside(lp, lexical);
    if (!named && (inside(rp, real) || inside(lp, real))) {
      throw invalidArgument(`create container ${container}: bind source ${source} resolves through a symlink to ${real}, which contains berth's own ${p}`);
    }
  }
  return real;
}

export interface ResolveMountsContext {
  container: string;
  volumes?: LocalVolumeStore;
  /** berth's state dir, run-root, API socket: never bind-mountable. */
  protectedPaths: string[];
}

export async function resolveMounts(mounts: MountSpec[], ctx: ResolveMountsContext): Promise<OciMount[]> {
  validateMounts(mounts, ctx.container);
  const out: OciMount[] = [];
  for (const m of mounts) {
    const destination = normalizeTarget(m.target, ctx.container);
    const rw = m.readOnly ? "ro" : "rw";
    switch (m.type) {
      case "volume": {
        if (!ctx.volumes) throw failedPrecondition(`start container ${ctx.container}: volume ${m.source} needs a volume store`);
        const source = await ctx.volumes.use(m.source);
        out.push({ destination, type: "bind", source, options: ["rbind", "rprivate", rw] });
        break;
      }
      case "bind": {
        const source = await checkBindSource(m.source, ctx.protectedPaths, ctx.container);
        out.push({ destination, type: "bind", source, options: ["rbind", "rprivate", rw] });
        break;
      }
      case "tmpfs": {
        const options = ["nosuid", "nodev"];
        if (m.sizeBytes !== undefined) options.push(`size=${m.sizeBytes}`);
        options.push(`mode=${(m.mode ?? 0o755).toString(8).padStart(4, "0")}`, rw);
        out.push({ destination, type: "tmpfs", source: "tmpfs", options });
        break;
      }
    }
  }
  return out;
}
