/**
 * A GitOps source's policy (`berth watch --allow privileged,hostBinds,...`) as load options:
 * the grants are the whole permission — the daemon's own flags do not widen them — and a
 * refusal says how the source's registration would allow it.
 */
import type { LoadOptions } from "./load.js";

export type SourceGrant = "privileged" | "hostBinds" | "hostNetwork" | "hostPid" | "hostIpc";

export function grantLoadOptions(allow: readonly string[]): Pick<LoadOptions, "allowPrivileged" | "allowHostBinds" | "hostNamespaces" | "grantHint"> {
  const g = new Set(allow);
  return {
    allowPrivileged: g.has("privileged"),
    allowHostBinds: g.has("hostBinds"),
    hostNamespaces: { network: g.has("hostNetwork"), pid: g.has("hostPid"), ipc: g.has("hostIpc") },
    grantHint: (grant) => `register the source with --allow ${grant} to permit it`,
  };
}
