/**
 * The Network reconciler: makes the bridge network of a Network object (idempotent: the
 * driver checks the host has it, and keeps the subnet it got), records its subnet, gateway
 * and bridge on the status, and lets the containers on it re-plan. A deleted Network is
 * removed once no container is attached (retried every `inUseRetryMs` meanwhile, its status
 * naming them); only a network this object made (its `berth.dev/object` label).
 *
 * Changing `subnet`, `gateway` or `internal` of a network that exists is refused on the
 * status (Conflict): the addresses of its running containers hang on them. Delete the
 * object (its containers go with it or are moved first), then apply the new one.
 */
import { isBerthError } from "../../../lib/errors.js";
import { LABELS } from "../../labels.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../loop/types.js";
import type { NetworkObject } from "../../manifests/model.js";
import { nameOfKey } from "../../store/keys.js";
import { markReady } from "../condition.js";
import type { ReconcilerDeps } from "../context.js";

export class NetworkReconciler implements Reconciler {
  readonly kind = "Network" as const;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly inUseRetryMs = 2000,
  ) {}

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult> {
    const d = this.deps;
    const name = nameOfKey(key);
    const stored = d.desired.get(key);
    if (!stored) {
      const net = await d.runtime.networks.inspect(name).catch((err) => (isBerthError(err, "NotFound") ? undefined : Promise.reject(err)));
      if (net && net.labels[LABELS.object] === key) {
        if (net.containers.length) {
          log.info({ containers: net.containers }, "network in use; will retry");
          d.status.update(key, "Network", (s) => {
            s.ready = false;
            s.reason = "InUse";
            s.message = `deleted; waiting for its containers to go: ${net.containers.join(", ")}`;
          });
          return { requeueAfterMs: this.inUseRetryMs };
        }
        await d.runtime.networks.remove(name);
        d.events.record("Normal", "Removed", key, `removed network ${name} (bridge ${net.bridge})`);
      }
      d.status.delete(key);
      return {};
    }
    const obj = stored.object as NetworkObject;
    const existed = await d.runtime.networks.inspect(name).then(
      () => true,
      () => false,
    );
    const net = await d.runtime.networks.create({
      name,
      ...(obj.spec.subnet ? { subnet: obj.spec.subnet } : {}),
      ...(obj.spec.gateway ? { gateway: obj.spec.gateway } : {}),
      internal: obj.spec.internal,
      labels: { ...obj.metadata.labels, [LABELS.stack]: stored.stack, [LABELS.object]: key },
    });
    if (!existed) d.events.record("Normal", "Created", key, `created network ${name}: subnet ${net.subnet}, bridge ${net.bridge}${net.internal ? ", internal" : ""}`);
    markReady(d, key, "Network", stored.generation, { subnet: net.subnet, gateway: net.gateway, bridge: net.bridge, internal: net.internal });
    for (const k of d.indexes.containersOnNetwork(name)) d.enqueue(k);
    return {};
  }
}
