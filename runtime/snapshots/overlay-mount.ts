import { promises as fs } from "node:fs";
import * as path from "node:path";
import { invalidArgument } from "../../lib/errors.js";
import { runCommand } from "./run-command.js";

/** The kernel copies legacy mount(2) data into one page: options must stay below it. */
export const DEFAULT_MAX_MOUNT_OPTION_BYTES = 4095;

export interface OverlayLower {
  /** Absolute path of the layer directory. */
  abs: string;
  /** Short path of the same directory, relative to `OverlayPlan.baseDir`. */
  short: string;
}

export interface OverlayPlan {
  /** argv of mount(8), without the program name. */
  args: string[];
  /** Working directory to run mount in (set when relative lowerdirs are used). */
  cwd?: string;
  relative: boolean;
}

/**
 * Plans `mount -t overlay overlay -o lowerdir=...,upperdir=...,workdir=... target`, lowers
 * top-first. With absolute paths when the option string fits in `maxOptionBytes`; otherwise
 * with the short relative paths (and upper/work relative to `baseDir`), mount(8) then runs
 * with cwd=`baseDir` — the technique Docker's overlay2 uses for many layers. InvalidArgument
 * when even that does not fit.
 */
export function planOverlayMount(o: {
  lowers: OverlayLower[];
  upper: string;
  work: string;
  target: string;
  baseDir: string;
  extraOptions?: string[];
  maxOptionBytes?: number;
}): OverlayPlan {
  const max = o.maxOptionBytes ?? DEFAULT_MAX_MOUNT_OPTION_BYTES;
  if (o.lowers.length === 0) throw invalidArgument("mount overlay: at least one lower directory is needed");
  for (const p of [o.upper, o.work, ...o.lowers.flatMap((l) => [l.abs, l.short])]) {
    if (/[,:\n\\]/.test(p)) throw invalidArgument(`mount overlay: path ${JSON.stringify(p)} contains ',', ':', '\\' or a newline`);
  }
  const extra = o.extraOptions ?? [];
  const build = (lowers: string[], upper: string, work: string) =>
    [`lowerdir=${lowers.join(":")}`, `upperdir=${upper}`, `workdir=${work}`, ...extra].join(",");
  const abs = build(o.lowers.map((l) => l.abs), o.upper, o.work);
  if (Buffer.byteLength(abs) <= max) {
    return { args: ["-t", "overlay", "overlay", "-o", abs, o.target], relative: false };
  }
  const rel = build(
    o.lowers.map((l) => l.short),
    path.relative(o.baseDir, o.upper),
    path.relative(o.baseDir, o.work),
  );
  if (Buffer.byteLength(rel) > max) {
    throw invalidArgument(`mount overlay: ${o.lowers.length} layers do not fit in the ${max}-byte mount option limit`);
  }
  return { args: ["-t", "overlay", "overlay", "-o", rel, o.target], cwd: o.baseDir, relative: true };
}

/** Mount points listed in mountinfo text (field 5, octal escapes decoded). */
export function parseMountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    if (f.length < 5) continue;
    out.push(f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** How many mounts are stacked on `target` in this mount namespace. */
export async function mountCount(target: string): Promise<number> {
  const text = await fs.readFile("/proc/self/mountinfo", "utf8");
  return parseMountPoints(text).filter((m) => m === target).length;
}

export async function mountOverlay(plan: OverlayPlan): Promise<void> {
  await runCommand("mount", plan.args, plan.cwd ? { cwd: plan.cwd } : {});
}

/**
 * Unmounts everything stacked on `target`; with `lazy`, falls back to `umount -l` (MNT_DETACH)
 * when a plain unmount fails (busy). Idempotent: not mounted is success.
 */
export async function unmountAll(target: string, options: { lazy: boolean }): Promise<{ lazy: boolean }> {
  let usedLazy = false;
  for (let i = 0; i < 16 && (await mountCount(target)) > 0; i++) {
    try {
      await runCommand("umount", [target]);
    } catch (err) {
      if (!options.lazy) throw err;
      await runCommand("umount", ["-l", target]);
      usedLazy = true;
    }
  }
  return { lazy: usedLazy };
}
