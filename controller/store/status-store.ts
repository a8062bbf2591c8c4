/**
 * Status of every desired object by key (status-records.ts: one record type per kind),
 * persisted to one JSON file. Writes are coalesced: a change marks the store dirty and a
 * single atomic write follows shortly after; `flush` writes now (the API flushes before it
 * acknowledges a user action, so a remembered `berth stop` survives a crash). Losing the last
 * few hundred milliseconds of other status in a crash is harmless — it is re-observed —
 * unlike the desired state, which has its own store.
 *
 * Format: `{version: 2, objects: {key: StatusRecord}}`. A version 1 document (one untyped
 * record for every kind) is read and converted; an unreadable document is ignored (status
 * is re-observed).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../../lib/atomic-file.js";
import { kindOfKey } from "./keys.js";
import { emptyRestartRecord, emptyStatusRecord, type StatusRecord, type StatusRecordOf } from "./status-records.js";

export interface StatusStoreOptions {
  /** Delay between a change and its coalesced write. */
  writeDelayMs: number;
}

export function defaultStatusStoreOptions(): StatusStoreOptions {
  return { writeDelayMs: 200 };
}

export class StatusStore {
  private readonly map = new Map<string, StatusRecord>();
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly file: string | undefined,
    private readonly options: StatusStoreOptions,
  ) {}

  /** A store that is never written (unit tests). */
  static inMemory(): StatusStore {
    return new StatusStore(undefined, defaultStatusStoreOptions());
  }

  static async open(dir: string, options: Partial<StatusStoreOptions> = {}): Promise<StatusStore> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const s = new StatusStore(path.join(dir, "status.json"), { ...defaultStatusStoreOptions(), ...options });
    const doc = await readJsonIfExists<{ version: number; objects: Record<string, unknown> }>(s.file!).catch(() => undefined);
    if (doc && typeof doc.objects === "object" && doc.objects !== null) {
      for (const [key, raw] of Object.entries(doc.objects)) {
        const rec = doc.version === 2 ? (raw as StatusRecord) : doc.version === 1 ? fromVersion1(key, raw as V1Record) : undefined;
        if (rec && rec.kind === kindOfKey(key)) s.map.set(key, rec);
      }
    }
    return s;
  }

  /** The record of `key`, or an empty one of `kind`. */
  get<K extends StatusRecord["kind"]>(key: string, kind: K): StatusRecordOf<K> {
    const r = this.map.get(key);
    return (r?.kind === kind ? r : emptyStatusRecord(kind)) as StatusRecordOf<K>;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Applies `fn` to a copy of the record of `key` and stores the result. */
  update<K extends StatusRecord["kind"]>(key: string, kind: K, fn: (s: StatusRecordOf<K>) => StatusRecordOf<K> | void): StatusRecordOf<K> {
    const cur = structuredClone(this.get(key, kind));
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
    if (!this.file) return;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.writeDelayMs);
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const file = this.file;
    if (!file) return;
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      await writeJsonAtomic(file, { version: 2, objects: Object.fromEntries(this.map) }, { mode: 0o600 }).catch(() => {
        this.dirty = true; // retried with the next change or flush
      });
    });
    return this.writing;
  }
}

/** The untyped record of format version 1. */
interface V1Record {
  restart?: { restartCount?: number; lastBackoffMs?: number; lastStop?: { cause: "user" | "unhealthy-restart" | "unhealthy-stop"; atMs: number } };
  lastRestartAtMs?: number;
  nextRestartAtMs?: number;
  health?: StatusRecordOf<"Container">["health"];
  reason?: string;
  message?: string;
  failed?: boolean;
  ready?: boolean;
  details?: Record<string, unknown>;
}

function fromVersion1(key: string, v: V1Record): StatusRecord | undefined {
  const kind = kindOfKey(key);
  const cond = { ready: !!v.ready, ...(v.reason ? { reason: v.reason } : {}), ...(v.message ? { message: v.message } : {}), ...(v.failed ? { failed: true } : {}) };
  const d = v.details ?? {};
  const str = (x: unknown) => (typeof x === "string" ? x : undefined);
  const num = (x: unknown) => (typeof x === "number" ? x : undefined);
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
  switch (kind) {
    case "Container": {
      const restart = { ...emptyRestartRecord(), ...v.restart };
      restart.retries = restart.restartCount;
      return defined({ kind, ...cond, restart, lastRestartAtMs: v.lastRestartAtMs, nextRestartAtMs: v.nextRestartAtMs, health: v.health });
    }
    case "Image":
      return defined({ kind, ...cond, digest: str(d.digest), id: str(d.id), size: num(d.size), importedGeneration: num(d.importedGeneration) });
    case "Volume":
      return defined({ kind, ...cond, mountpoint: str(d.mountpoint) });
    case "Network":
      return { kind, ...cond };
    case "HealthCheck":
      return { kind, ...cond, matched: Array.isArray(d.matched) ? d.matched.filter((x): x is string => typeof x === "string") : [] };
    default:
      return undefined;
  }
}
