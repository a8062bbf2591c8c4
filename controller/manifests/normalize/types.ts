export interface NormalizeOptions {
  /** Directory relative paths (bind sources, build contexts, archives) are resolved against. */
  baseDir: string;
  /** Accept `privileged: true` (off unless the operator allows it). */
  allowPrivileged: boolean;
}
