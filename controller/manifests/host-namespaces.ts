import type { FieldError } from "./validate.js";

/**
 * Which host namespaces a manifest may join: `networkMode: host`, and `pid`/`ipc: host` (which
 * only Compose input can express). Unset in LoadOptions means every one (what `berth apply`
 * has always accepted); a GitOps source narrows it to what it was registered with, so that
 * whoever can push to a watched repository does not thereby own the host.
 */
export interface HostNamespaces {
  network: boolean;
  pid: boolean;
  ipc: boolean;
}

const FIELDS: { key: "network" | "pid" | "ipc"; path: string; grant: string; what: string }[] = [
  { key: "network", path: "networkMode", grant: "hostNetwork", what: "the host's network" },
  { key: "pid", path: "pid", grant: "hostPid", what: "the host's process namespace" },
  { key: "ipc", path: "ipc", grant: "hostIpc", what: "the host's IPC namespace" },
];

/** The refused uses of host namespaces in one document's raw value, located at their fields. */
export function hostNamespaceErrors(value: unknown, allowed: HostNamespaces | undefined): FieldError[] {
  if (!allowed) return [];
  const spec = (value as { spec?: Record<string, unknown> } | undefined)?.spec;
  if (!spec || typeof spec !== "object") return [];
  const out: FieldError[] = [];
  for (const f of FIELDS) {
    if (allowed[f.key] || spec[f.path] !== "host") continue;
    out.push({
      path: ["spec", f.path],
      message: `${f.path}: host is refused: it joins ${f.what}, which this source is not allowed`,
      suggestion: `register the source with --allow ${f.grant} to permit it`,
    });
  }
  return out;
}
