import { KINDS } from "../../schemas/kinds.js";
import type { ContainerStatusView, GenericStatusView, ObjectView } from "../api/protocol.js";
import type { ControllerApi } from "../api/types.js";

/** Ready as `berth wait --for=ready` means it: a container running (and healthy when it has a check), another object ready. */
export function isReady(v: ObjectView): boolean {
  if (v.kind === "Container") {
    const s = v.status as ContainerStatusView | undefined;
    return s?.phase === "Running" && (s.health === "none" || s.health === "healthy");
  }
  return !!(v.status as GenericStatusView | undefined)?.ready;
}

/** A stack's objects of every kind, and how many are ready. */
export async function stackObjectCounts(api: Pick<ControllerApi, "list">, stack: string): Promise<{ ready: number; total: number }> {
  let ready = 0;
  let total = 0;
  for (const kind of KINDS) {
    for (const v of await api.list(kind, {})) {
      if (v.metadata.stack !== stack) continue;
      total++;
      if (isReady(v)) ready++;
    }
  }
  return { ready, total };
}
