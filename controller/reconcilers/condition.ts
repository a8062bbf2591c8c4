/** An object's condition, set the same way for every kind (with an event when a failure changes), and its API view. */
import type { GenericStatusView, HealthCheckStatusView, ImageStatusView, NetworkStatusView, ObjectStatusView, VolumeStatusView } from "../api/protocol.js";
import type { Condition, StatusRecord } from "../store/status-records.js";
import type { ReconcilerDeps } from "./context.js";

/** Marks `key` ready at `generation`, clearing reason, message and failure; returns the record. */
export function markReady<K extends StatusRecord["kind"]>(
  deps: Pick<ReconcilerDeps, "status">,
  key: string,
  kind: K,
  generation: number,
  facts: Partial<Extract<StatusRecord, { kind: K }>> = {},
) {
  return deps.status.update(key, kind, (s) => {
    s.ready = true;
    s.failed = false;
    delete s.reason;
    delete s.message;
    s.observedGeneration = generation;
    Object.assign(s, facts);
  });
}

/**
 * Records a failed reconcile on the object's status: `reason` is the error kind for a
 * terminal error (`NotImplemented`, `InvalidArgument`, ...) or `ReconcileError` for one that
 * is retried. A Warning event is recorded when the message differs from the last one.
 */
export function recordFailure(deps: Pick<ReconcilerDeps, "status" | "events">, key: string, kind: StatusRecord["kind"], cond: Required<Pick<Condition, "reason" | "message" | "failed">>) {
  const prev = deps.status.get(key, kind);
  deps.status.update(key, kind, (s) => {
    s.reason = cond.reason;
    s.message = cond.message;
    s.failed = cond.failed;
    s.ready = false;
  });
  if (prev.message !== cond.message) deps.events.record("Warning", cond.failed ? "Failed" : "ReconcileError", key, cond.message);
}

/** The API view of a non-container kind's status record: its condition and its kind's facts. */
export function statusViewOf(rec: Exclude<StatusRecord, { kind: "Container" }>): ObjectStatusView {
  const v: GenericStatusView = { ready: rec.ready };
  if (rec.reason) v.reason = rec.reason;
  if (rec.message) v.message = rec.message;
  if (rec.observedGeneration !== undefined) v.observedGeneration = rec.observedGeneration;
  switch (rec.kind) {
    case "Image": {
      const img: ImageStatusView = { ...v };
      if (rec.digest) img.digest = rec.digest;
      if (rec.id) img.id = rec.id;
      if (rec.size !== undefined) img.size = rec.size;
      return img;
    }
    case "Volume":
      return rec.mountpoint ? ({ ...v, mountpoint: rec.mountpoint } satisfies VolumeStatusView) : v;
    case "HealthCheck":
      return { ...v, matched: rec.matched } satisfies HealthCheckStatusView;
    case "Network": {
      const n: NetworkStatusView = { ...v };
      if (rec.subnet) n.subnet = rec.subnet;
      if (rec.gateway) n.gateway = rec.gateway;
      if (rec.bridge) n.bridge = rec.bridge;
      if (rec.internal !== undefined) n.internal = rec.internal;
      return n;
    }
  }
}
