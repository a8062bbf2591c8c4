/**
 * The Network reconciler. Bridge networks are issue 9: until then a Network object reports
 * NotImplemented on its status (the manifests validate) and containers use networkMode host
 * or none. This is the room where bridges, IPAM and the resolver will be driven from.
 */
import { notImplemented } from "../../../lib/errors.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../loop/types.js";
import { nameOfKey } from "../../store/keys.js";
import type { ReconcilerDeps } from "../context.js";

export class NetworkReconciler implements Reconciler {
  readonly kind = "Network" as const;

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(key: string, _ctx: ReconcileContext): Promise<ReconcileResult> {
    if (!this.deps.desired.get(key)) {
      this.deps.status.delete(key);
      return {};
    }
    throw notImplemented(`create network ${nameOfKey(key)}: bridge networks are not supported yet; containers can use networkMode host or none`);
  }
}
