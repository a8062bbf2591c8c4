/**
 * The HealthCheck reconciler: records which containers the check is attached to (the rule of
 * indexes.ts `checkFor`: by name first, then by selector in name order) and makes the
 * containers it attaches to or detaches from re-plan — those it matches now and those it
 * matched at its last reconcile (kept on its status), so a deleted or retargeted check
 * detaches cleanly.
 */
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../loop/types.js";
import type { HealthCheckObject } from "../../manifests/model.js";
import { nameOfKey } from "../../store/keys.js";
import { markReady } from "../condition.js";
import type { ReconcilerDeps } from "../context.js";

export class HealthCheckReconciler implements Reconciler {
  readonly kind = "HealthCheck" as const;

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(key: string, _ctx: ReconcileContext): Promise<ReconcileResult> {
    const d = this.deps;
    const before = d.status.get(key, "HealthCheck").matched;
    const stored = d.desired.get(key);
    const now = stored ? d.indexes.containersCheckedBy(stored.object as HealthCheckObject) : [];
    for (const k of new Set([...before.map((n) => `container/${n}`), ...now])) d.enqueue(k);
    if (!stored) {
      d.status.delete(key);
      return {};
    }
    markReady(d, key, "HealthCheck", stored.generation, { matched: now.map(nameOfKey) });
    return {};
  }
}
