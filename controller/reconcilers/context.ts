/**
 * What every reconciler shares: the runtime's interfaces, the stores, the indexes, the event
 * log, the clock, and a way to enqueue other keys (a watch: "this object's change concerns
 * that one"). A reconciler never enqueues its own key — it returns `requeueAfterMs`.
 */
import type { Clock } from "../../lib/clock.js";
import type { ImageBuilder } from "../../runtime/index.js";
import type { RegistryService } from "../../runtime/registry/types.js";
import type { ContainerRuntime, ImageStore, NetworkDriver, VolumeStore } from "../../runtime/types.js";
import type { DesiredStore } from "../store/desired-store.js";
import type { EventLog } from "../store/event-log.js";
import type { DesiredIndexes } from "../store/indexes.js";
import type { StatusStore } from "../store/status-store.js";
import type { StartAttachments } from "./container/start-attachments.js";

/** The runtime as the controller uses it: facts and operations, no policy. */
export interface ControllerRuntime {
  containers: ContainerRuntime;
  images: ImageStore;
  volumes: VolumeStore;
  networks: NetworkDriver;
  /** Dockerfile builds for Image objects with `build` (absent: NotImplemented on status). */
  builder?: ImageBuilder;
  /** Registry pulls for Image objects with `pull`, and the API's pull, push and login (absent: NotImplemented). */
  registry?: RegistryService;
}

export interface ReconcilerDeps {
  runtime: ControllerRuntime;
  desired: DesiredStore;
  indexes: DesiredIndexes;
  status: StatusStore;
  events: EventLog;
  clock: Clock;
  enqueue(key: string): void;
  /** When the running daemon started (restart policy `always` after a user stop). */
  daemonStartedAtMs: number;
  /** Attach clients waiting for a container's next start, connected by the start itself. */
  startAttachments: StartAttachments;
}
