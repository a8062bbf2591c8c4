/**
 * The status the controller keeps per desired object, typed per kind, as the status store
 * persists it (status.json). Each kind's reconciler owns its record; the API's status views
 * (api/protocol.ts) are derived from these by pure functions.
 *
 * Every record has the common condition (`ready`, `reason`, `message`, `failed`) and
 * `observedGeneration`: the desired generation the last successful reconcile acted on, so a
 * client can tell when the status reflects its apply.
 */
import type { HealthLogEntry, HealthStatus } from "../health/types.js";

/** The condition every kind shows. */
export interface Condition {
  /** Ready to be used (a container: running and, with a healthcheck, healthy). */
  ready: boolean;
  /** A condition worth showing: `CrashLoopBackOff`, `DependencyFailed`, `ReconcileError`, ... */
  reason?: string;
  message?: string;
  /** A terminal condition: no progress without a change. */
  failed?: boolean;
  observedGeneration?: number;
}

/**
 * Why berth stopped a container; persisted with the restart record so that the restart
 * decision after the exit knows the exit was intended.
 * - `user`: `berth stop`.
 * - `unhealthy-restart`: failing healthcheck with `onUnhealthy: restart`; restarted through
 *   the restart backoff.
 * - `unhealthy-stop`: failing healthcheck with `onUnhealthy: stop`; stays stopped.
 */
export type StopCause = "user" | "unhealthy-restart" | "unhealthy-stop";

/**
 * The restart bookkeeping of one desired container. Lifecycle:
 * - (re)create: reset to `emptyRestartRecord()`.
 * - policy restart: `restartCount` +1, `retries` +1, `lastBackoffMs` = the decision's delay,
 *   `lastStop` cleared.
 * - user start or restart (`berth start|restart`): `retries` and `lastBackoffMs` reset (a
 *   fresh restart manager, as Docker makes one), `restartCount` kept (Docker's RestartCount
 *   counts policy restarts only), `lastStop` cleared.
 * - berth stops it for a cause above: `lastStop` set.
 */
export interface RestartRecord {
  /** Policy restarts since the container was created (Docker's RestartCount; shown). */
  restartCount: number;
  /** Policy restarts since the last create or user start: on-failure's maxRetries counts these. */
  retries: number;
  /** The backoff delay used for the last restart; 0 when none (the next one is `initialMs`). */
  lastBackoffMs: number;
  lastStop?: { cause: StopCause; atMs: number };
}

export function emptyRestartRecord(): RestartRecord {
  return { restartCount: 0, retries: 0, lastBackoffMs: 0 };
}

/** `berth stop|start|restart`: recorded by the API, carried out (and cleared) by the container reconciler. */
export type UserAction = "stop" | "start" | "restart";

export interface UserIntent {
  action: UserAction;
  /** Increasing per daemon run: tells one request from the next. */
  id: number;
  atMs: number;
}

export interface ContainerStatusRecord extends Condition {
  kind: "Container";
  restart: RestartRecord;
  /** When the last policy restart happened (epoch ms). */
  lastRestartAtMs?: number;
  /** While backing off: when the next restart is due. */
  nextRestartAtMs?: number;
  /** Health of the current run (containers with a healthcheck). */
  health?: { status: HealthStatus; log: HealthLogEntry[]; runStartedAtMs: number };
  /** A user action not carried out yet. */
  intent?: UserIntent;
  /** Its networking as last programmed (networking.ts): mode, addresses, published ports. */
  net?: {
    mode: string;
    attachments: { network: string; address: string; gateway: string; aliases: string[] }[];
    ports: { protocol: "tcp" | "udp"; hostIP: string; hostPort: number; containerPort: number }[];
  };
}

export interface ImageStatusRecord extends Condition {
  kind: "Image";
  /** Manifest digest and config digest (the image ID) of the image the reference names. */
  digest?: string;
  id?: string;
  size?: number;
  /** The generation whose import ran (pullPolicy always imports once per generation). */
  importedGeneration?: number;
}

export interface VolumeStatusRecord extends Condition {
  kind: "Volume";
  mountpoint?: string;
}

export interface NetworkStatusRecord extends Condition {
  kind: "Network";
  subnet?: string;
  gateway?: string;
  bridge?: string;
  internal?: boolean;
}

export interface HealthCheckStatusRecord extends Condition {
  kind: "HealthCheck";
  /** Names of the containers it is attached to (the last reconcile's view). */
  matched: string[];
}

export type StatusRecord = ContainerStatusRecord | ImageStatusRecord | VolumeStatusRecord | NetworkStatusRecord | HealthCheckStatusRecord;
export type StatusRecordOf<K extends StatusRecord["kind"]> = Extract<StatusRecord, { kind: K }>;

/** The record of a kind before anything was observed. */
export function emptyStatusRecord<K extends StatusRecord["kind"]>(kind: K): StatusRecordOf<K> {
  switch (kind) {
    case "Container":
      return { kind, ready: false, restart: emptyRestartRecord() } as StatusRecordOf<K>;
    case "HealthCheck":
      return { kind, ready: false, matched: [] } as unknown as StatusRecordOf<K>;
    default:
      return { kind, ready: false } as StatusRecordOf<K>;
  }
}
