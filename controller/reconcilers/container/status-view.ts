/**
 * The container's status as the API shows it, and the condition a reconcile records — both
 * pure functions of the plan's outcome, the observed runtime state, the health of the
 * current run and the persisted record, table-tested in status-view.test.ts.
 */
import type { ContainerState } from "../../../runtime/types.js";
import type { ContainerStatusView } from "../../api/protocol.js";
import type { HealthState } from "../../health/types.js";
import { LABELS } from "../../labels.js";
import type { ContainerStatusRecord } from "../../store/status-records.js";
import type { Action } from "./types.js";

type Wait = Extract<Action, { type: "wait" }>;

/**
 * The condition after a reconcile: from the wait the plan ended on (CrashLoopBackOff with
 * the time left, DependencyFailed / WaitingForDependency, Failed / Waiting — OOMKilled when
 * the restarts given up on ended in an OOM kill, as kubectl shows it), else from the observed
 * state (OOMKilled, a runtime reason such as a lost run-root). `ready`: running and, with a
 * healthcheck, healthy.
 */
export function containerCondition(input: {
  wait: Wait | undefined;
  observed: ContainerState | undefined;
  hasCheck: boolean;
  health: HealthState | undefined;
  now: number;
}): Pick<ContainerStatusRecord, "ready" | "reason" | "message" | "failed" | "nextRestartAtMs"> {
  const { wait, observed } = input;
  const ready = observed?.status === "running" && (!input.hasCheck || input.health?.status === "healthy");
  const out: Pick<ContainerStatusRecord, "ready" | "reason" | "message" | "failed" | "nextRestartAtMs"> = { ready, failed: wait?.failed ?? false };
  const oomKilled = observed?.status === "exited" && observed.oomKilled;
  if (wait) {
    if (wait.untilMs !== undefined) {
      out.reason = "CrashLoopBackOff";
      out.message = `back-off ${Math.max(0, wait.untilMs - input.now)}ms restarting: ${wait.reason}`;
      out.nextRestartAtMs = wait.untilMs;
    } else {
      out.reason = wait.failed ? (wait.dependency ? "DependencyFailed" : oomKilled ? "OOMKilled" : "Failed") : wait.dependency ? "WaitingForDependency" : "Waiting";
      out.message = wait.reason;
    }
    return out;
  }
  if (oomKilled) {
    out.reason = "OOMKilled";
    out.message = "the kernel OOM killer ended the container";
  }
  if (observed?.reason) out.message = observed.reason;
  return out;
}

export interface ContainerViewInput {
  record: ContainerStatusRecord;
  observed: ContainerState | undefined;
  /** Health of the observed run (MonitorManager.health); undefined when none probes it. */
  health: HealthState | undefined;
  hasCheck: boolean;
  /** Deleted from the desired state, its runtime container not gone yet. */
  terminating: boolean;
}

/** The API's ContainerStatusView. */
export function containerStatusView(input: ContainerViewInput): ContainerStatusView {
  const { record: st, observed: obs, health } = input;
  if (input.terminating) {
    return {
      phase: obs?.status === "running" ? "Running" : "Exited",
      health: "none",
      restartCount: st.restart.restartCount,
      reason: "Terminating",
      message: "deleted: the container is being stopped and removed",
    };
  }
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  let phase: ContainerStatusView["phase"];
  if (st.failed) phase = "Failed";
  else if (!obs || obs.status === "created" || obs.status === "unknown") phase = "Pending";
  else if (obs.status === "running") phase = "Running";
  else phase = st.nextRestartAtMs !== undefined ? "Restarting" : "Exited";
  const v: ContainerStatusView = {
    phase,
    health: input.hasCheck ? (obs?.status === "running" ? (health?.status ?? st.health?.status ?? "starting") : "none") : "none",
    restartCount: st.restart.restartCount,
  };
  const set = <K extends keyof ContainerStatusView>(k: K, val: ContainerStatusView[K] | undefined) => {
    if (val !== undefined) v[k] = val;
  };
  set("observedGeneration", st.observedGeneration);
  set("lastRestartAt", iso(st.lastRestartAtMs));
  set("nextRestartAt", iso(st.nextRestartAtMs));
  set("exitCode", obs?.status === "exited" ? obs.exitCode : undefined);
  set("oomKilled", obs?.oomKilled || undefined);
  set("pid", obs?.status === "running" ? obs.pid : undefined);
  set("startedAt", obs?.startedAt);
  set("finishedAt", obs?.status === "exited" ? obs.finishedAt : undefined);
  set("reason", st.reason);
  set("message", st.message);
  set("containerId", obs?.id);
  set("imageDigest", obs?.imageDigest);
  set("specHash", obs?.labels[LABELS.specHash]);
  if (obs && st.net) {
    set("networkMode", st.net.mode);
    if (st.net.attachments.length) set("networks", st.net.attachments.map((a) => ({ ...a, aliases: [...a.aliases] })));
    if (st.net.ports.length) set("ports", st.net.ports.map((p) => ({ ...p })));
  }
  const log = health?.log ?? st.health?.log;
  if (input.hasCheck && log) {
    set(
      "healthResults",
      log.slice(-5).map((l) => ({ start: new Date(l.startedAtMs).toISOString(), end: new Date(l.endedAtMs).toISOString(), result: l.result, output: l.output })),
    );
  }
  return v;
}
