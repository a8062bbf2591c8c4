/**
 * The Volume reconciler: creates the named volume with its options (idempotent), removes it
 * when the object is deleted — only a volume this object created, and once no container
 * uses it (retried every `inUseRetryMs` meanwhile) — and lets the containers mounting it
 * re-plan.
 */
import { isBerthError, notImplemented } from "../../../lib/errors.js";
import { LABELS } from "../../labels.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../loop/types.js";
import type { VolumeObject } from "../../manifests/model.js";
import { nameOfKey } from "../../store/keys.js";
import { markReady } from "../condition.js";
import type { ReconcilerDeps } from "../context.js";

export class VolumeReconciler implements Reconciler {
  readonly kind = "Volume" as const;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly inUseRetryMs = 2000,
  ) {}

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult> {
    const d = this.deps;
    const name = nameOfKey(key);
    const stored = d.desired.get(key);
    if (!stored) {
      try {
        const v = await d.runtime.volumes.inspect(name);
        if (v.labels[LABELS.object] === key) {
          await d.runtime.volumes.remove(name);
          d.events.record("Normal", "Removed", key, `removed volume ${name}`);
        }
      } catch (err) {
        if (isBerthError(err, "FailedPrecondition")) {
          log.info("volume in use; will retry");
          return { requeueAfterMs: this.inUseRetryMs };
        }
        if (!isBerthError(err, "NotFound")) throw err;
      }
      d.status.delete(key);
      return {};
    }
    const obj = stored.object as VolumeObject;
    const o = obj.spec.options;
    if (o.device || o.o || o.uid !== undefined || o.gid !== undefined) {
      throw notImplemented(`create volume ${name}: options device, o, uid and gid are not supported yet (only type: tmpfs with size and mode)`);
    }
    const options: Record<string, string> = {};
    if (o.type) options.type = o.type;
    if (o.sizeBytes !== undefined) options.size = String(o.sizeBytes);
    if (o.mode !== undefined) options.mode = o.mode.toString(8).padStart(4, "0");
    const existing = await d.runtime.volumes.inspect(name).catch((err) => (isBerthError(err, "NotFound") ? undefined : Promise.reject(err)));
    const rec = existing ?? (await d.runtime.volumes.create(name, { labels: { ...obj.metadata.labels, [LABELS.stack]: stored.stack, [LABELS.object]: key }, options }));
    if (!existing) d.events.record("Normal", "Created", key, `created volume ${name}`);
    markReady(d, key, "Volume", stored.generation, { mountpoint: rec.mountpoint });
    for (const k of d.indexes.containersUsingVolume(name)) d.enqueue(k);
    return {};
  }
}
