export interface NormalizeOptions {
  /** Directory relative paths (bind sources, build contexts, archives) are resolved against. */
  baseDir: string;
  /** Accept `privileged: true` (off unless the operator allows it). */
  allowPrivileged: boolean;
  /** How the refusal says to allow what was refused (default: the daemon's and apply's flags). */
  grantHint?: GrantHint;
}

/** The suggestion of a refusal that a grant lifts: `privileged` or `hostBinds`. */
export type GrantHint = (grant: "privileged" | "hostBinds") => string;

/** The daemon's and apply's flags: what a refusal suggests unless the apply says otherwise (a GitOps source). */
export const flagGrantHint: GrantHint = (grant) =>
  grant === "privileged" ? "run berth with --allow-privileged to permit them" : "refused unless the daemon or the apply allows host binds (--allow-host-binds)";
