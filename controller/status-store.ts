import { promises as fs } from "node:fs";
import * as path from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../lib/atomic-file.js";
import type { HealthLogEntry, HealthStatus } from "./health/types.js";
import { emptyRestartRecord, type RestartRecord } from "./types.js";

/** What the controller keeps about one object besides its desired spec. */
export interface ObjectStatus {
  /** Restart bookkeeping (containers). */
  restart: RestartRecord;
  /** When the last policy restart happened (epoch ms). */
  lastRestartAtMs?: number;
  /** While backing off: when the next restart is due. */
  nextRestartAtMs?: number;
  /** Health of the current run (containers with a healthcheck). */
  health?: { status: HealthStatus; log: HealthLogEntry[]; runStartedAtMs: number };
  /** A condition worth showing: `CrashLoopBackOff`, `DependencyFailed`, `ImageNotFound`, ... */
  reason?: string;
  message?: string;
  /** A terminal condition: no progress without a change. */
  failed?: boolean;
  /** Other kinds: ready to be used. */
  ready?: boolean;
  /** Kind-specific facts (image digest, volume mountpoint, ...). */
  details?: Record<string, unknown>;
}

export function emptyStatus(): ObjectStatus {
  return { restart: emptyRestartRecord() };
}

/**
 * Status of every desired object by key, persisted to one JSON file. Writes are coalesced:
 * `update` marks the store dirty and a single atomic write follows shortly after; `flush`
 * writes now. Losing the last few hundred milliseconds of status in a crash is harmless —
 * it is re-observed — unlike the desired state, which has its own store.
 */
export class StatusStore {
  private readonly map = new Map<string, ObjectStatus>();
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly file: string) {}

  static async open(dir: string): Promise<StatusStore> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const s = new StatusStore(path.join(dir, "status.json"));
    const doc = await readJsonIfExists<{ version: 1; objects: Record<string, ObjectStatus> }>(s.file).catch(() => undefined);
    if (doc?.version === 1) for (const [k, v] of Object.entries(doc.objects)) s.map.set(k, { ...emptyStatus(), ...v });
    return s;
  }

  get(key: string): ObjectStatus {
    return this.map.get(key) ?? emptyStatus();
  }

  /** Applies `fn` to a copy of the status of `key` and stores the result. */
  update(key: string, fn: (s: ObjectStatus) => ObjectStatus | void): ObjectStatus {
    const cur = structuredClone(this.get(key));
    const next = fn(cur) ?? cur;
    this.map.set(key, next);
    this.markDirty();
    return next;
  }

  delete(key: string): void {
    if (this.map.delete(key)) this.markDirty();
  }

  private markDirty() {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, 200);
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      await writeJsonAtomic(this.file, { version: 1, objects: Object.fromEntries(this.map) }, { mode: 0o600 }).catch(() => {
        this.dirty = true; // retried with the next change or flush
      });
    });
    return this.writing;
  }
}
