/**
 * Bind sources that hand a container the host. A container that can open berth's API socket
 * or write `desired.json` is root on the host, and so is one given `/`, `/proc`, `/sys`,
 * `/dev`, `/boot` or a container engine's socket. Such sources are refused unless the daemon
 * or the apply allows host binds (`--allow-host-binds`, like `--allow-privileged`); a source
 * that is, or lies inside, berth's own state is refused always (the runtime refuses it at
 * every start too: runtime/volumes/mounts.ts).
 *
 * A source is judged as the runtime will mount it: `..` normalized (the manifest's paths
 * already are), then symlinks of its longest existing prefix resolved, so `/tmp/..` and a
 * symlink to `/` are caught. Each protected path is compared in its written and its resolved
 * form. A symlink swapped in after the apply is the runtime's to catch (it resolves again at
 * start).
 *
 * Contract: reads the file system (realpath) but never writes; never throws.
 */
import { realpathSync } from "node:fs";
import * as path from "node:path";
import type { Mount } from "./model.js";
import { flagGrantHint, type GrantHint } from "./normalize/types.js";
import type { FieldError } from "./validate.js";

/** berth's own paths on this host: what the daemon serves from, or `berth validate` assumes. */
export interface BerthPaths {
  /** The state directory (`--root`). */
  root: string;
  /** The per-boot run directory (`--run-root`). */
  runRoot: string;
  /** The API socket (`--socket`, default `<runRoot>/berth.sock`). */
  socketPath: string;
}

/** The CLI's defaults (cli/main.ts): `$BERTH_ROOT`, `$BERTH_RUN_ROOT`, `$BERTH_SOCKET`, else /var/lib/berth, /run/berth, `<runRoot>/berth.sock`. */
export function defaultBerthPaths(env: NodeJS.ProcessEnv = process.env): BerthPaths {
  const runRoot = env.BERTH_RUN_ROOT || "/run/berth";
  return { root: env.BERTH_ROOT || "/var/lib/berth", runRoot, socketPath: env.BERTH_SOCKET || path.join(runRoot, "berth.sock") };
}

/** The given paths over the defaults; empty strings count as not given. */
export function berthPathsOf(given: Partial<BerthPaths> = {}): BerthPaths {
  const d = defaultBerthPaths();
  const root = given.root || d.root;
  const runRoot = given.runRoot || d.runRoot;
  return { root, runRoot, socketPath: given.socketPath || (given.runRoot ? path.join(runRoot, "berth.sock") : d.socketPath) };
}

/**
 * How a protected path may be reached: `berth` paths may never be bound or bound into, only
 * contained (with the allowance); `tree` paths (a kernel interface, the boot files) may not be
 * bound, contained or bound into; `node` paths (`/`, a socket) may not be bound or contained.
 */
type Rule = "berth" | "tree" | "node";

interface Protected {
  path: string;
  /** `berth's state directory /var/lib/berth`, `the Docker socket /run/docker.sock`. */
  what: string;
  rule: Rule;
}

const ENGINE_SOCKETS: [string, string][] = [
  ["Docker", "/var/run/docker.sock"],
  ["Docker", "/run/docker.sock"],
  ["containerd", "/run/containerd/containerd.sock"],
  ["containerd", "/var/run/containerd/containerd.sock"],
  ["Podman", "/run/podman/podman.sock"],
  ["Podman", "/var/run/podman/podman.sock"],
  ["CRI-O", "/run/crio/crio.sock"],
  ["CRI-O", "/var/run/crio/crio.sock"],
];

function protectedPaths(b: BerthPaths): Protected[] {
  return [
    { path: b.root, what: `berth's state directory ${b.root}`, rule: "berth" },
    { path: b.runRoot, what: `berth's run directory ${b.runRoot}`, rule: "berth" },
    { path: b.socketPath, what: `berth's API socket ${b.socketPath}`, rule: "berth" },
    { path: "/", what: "the host's root directory", rule: "node" },
    ...["/proc", "/sys", "/dev", "/boot"].map((p): Protected => ({ path: p, what: `the host's ${p}`, rule: "tree" })),
    ...ENGINE_SOCKETS.map(([engine, p]): Protected => ({ path: p, what: `the ${engine} socket ${p}`, rule: "node" })),
  ];
}

/** What a bind source exposes, when it exposes anything. */
export interface HostBindExposure {
  /** The source as the runtime will mount it (symlinks of the existing part resolved). */
  resolved: string;
  /** Only the resolved form exposes it (a symlink leads there): the message says where it resolves to. */
  viaSymlink: boolean;
  /** `berth's state directory /var/lib/berth`. */
  what: string;
  /** True when it is, or lies inside, berth's own state: refused even with the allowance. */
  always: boolean;
  /** The source is the protected path, lies inside it, or contains it. */
  relation: "is" | "inside" | "contains";
}

/** `child` is `parent` or below it. */
function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith("/") ? parent : `${parent}/`);
}

/**
 * The real path of `p`: the realpath of its longest existing prefix, the rest appended as
 * written (`..` already normalized away by path.resolve).
 */
export function resolveExisting(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  for (let head = abs; ; head = path.dirname(head)) {
    try {
      return path.join(realpathSync.native(head), ...rest);
    } catch {
      if (head === "/") return abs;
      rest.unshift(path.basename(head));
    }
  }
}

/** Judges one absolute bind source; undefined when it exposes nothing berth protects. */
export function hostBindExposure(source: string, paths: BerthPaths): HostBindExposure | undefined {
  const lexical = path.resolve(source);
  const resolved = resolveExisting(lexical);
  for (const p of protectedPaths(paths)) {
    const written = path.resolve(p.path);
    const targets = [...new Set([written, resolveExisting(written)])];
    for (const form of lexical === resolved ? [lexical] : [lexical, resolved]) {
      const is = targets.includes(form);
      const contains = targets.some((t) => within(t, form));
      const inside = targets.some((t) => within(form, t));
      const e = { resolved, viaSymlink: form !== lexical, what: p.what, relation: is ? "is" : contains ? "contains" : "inside" } as const;
      if (p.rule === "berth" && inside) return { ...e, always: true };
      if (is || contains || (p.rule === "tree" && inside)) return { ...e, always: false };
    }
  }
  return undefined;
}

/** The message and suggestion of a refused bind source. */
export function hostBindProblem(source: string, e: HostBindExposure, hint: GrantHint = flagGrantHint): { message: string; suggestion?: string } {
  const src = e.viaSymlink ? `bind source ${source} (resolves to ${e.resolved})` : `bind source ${source}`;
  if (e.always) return { message: `${src} is ${e.relation === "is" ? "" : "inside "}${e.what}: berth's own state is never bind-mounted` };
  return { message: `${src} exposes ${e.what}`, suggestion: hint("hostBinds") };
}

export interface HostBindOptions {
  /** Accept sources that expose the host (not berth's own state). */
  allowHostBinds: boolean;
  berthPaths: BerthPaths;
  /** How a refusal says to allow host binds (default: the daemon's and apply's flags). */
  grantHint?: GrantHint;
}

/**
 * The refused bind mounts of a normalized container, as field errors: at the mount of the
 * short syntax (`"/:/host"`), at `source` of the long form. `input` is the spec's `mounts` as
 * written; normalization keeps one mount per entry, in order.
 */
export function hostBindErrors(mounts: readonly Mount[], input: readonly unknown[] | undefined, o: HostBindOptions): FieldError[] {
  const errors: FieldError[] = [];
  mounts.forEach((m, i) => {
    if (m.type !== "bind") return;
    const e = hostBindExposure(m.source, o.berthPaths);
    if (!e || (o.allowHostBinds && !e.always)) return;
    const at = typeof input?.[i] === "string" ? ["spec", "mounts", i] : ["spec", "mounts", i, "source"];
    const { message, suggestion } = hostBindProblem(m.source, e, o.grantHint);
    errors.push({ path: at, message, ...(suggestion ? { suggestion } : {}) });
  });
  return errors;
}
