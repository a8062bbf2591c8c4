import { systemClock, type Clock } from "../../lib/clock.js";
import { conflict, failedPrecondition, invalidArgument, notFound } from "../../lib/errors.js";
import { assertValidId, assertValidName } from "../../lib/names.js";
import type { VolumeRecord } from "../types.js";
import { validateVolumeOptions } from "../volumes/volume-store.js";
import type { LocalVolumeStore } from "../volumes/types.js";
import { CallLog, type FakeCall } from "./call-log.js";

/**
 * An in-memory VolumeStore that behaves like the local one (runtime/volumes/volume-store.ts):
 * - `create` validates the name (InvalidArgument), options (same rules: type tmpfs, size,
 *   mode) and labels; idempotent for the same options (returns the existing record, its
 *   labels unchanged), Conflict for different ones;
 * - `inspect` NotFound; `list(labels)` by name, filtered by every given label;
 * - `remove` NotFound when absent, FailedPrecondition while a container uses it unless force.
 * It also implements the container runtime's side (LocalVolumeStore): `acquire` (creating
 * the volume with default options), `release`, `users`, `use` (a fake mountpoint path, no
 * disk). A FakeContainerRuntime given this store acquires and releases like the real one.
 *
 * Test helpers: `inUse` option (extra users the test controls), `failNext`, `calls`.
 */

export interface FakeVolumeStoreOptions {
  clock?: Clock;
  /** Users besides the acquired ones: true = in use (remove without force is refused). */
  inUse?: (name: string) => boolean;
  /** Prefix of the fake mountpoints. Default `/fake/volumes`. */
  mountRoot?: string;
}

export type FakeVolumeMethod = "create" | "inspect" | "list" | "remove" | "acquire" | "release" | "use" | "users";

interface Stored {
  record: VolumeRecord;
  users: Set<string>;
}

export class FakeVolumeStore implements LocalVolumeStore {
  private readonly volumes = new Map<string, Stored>();
  private readonly clock: Clock;
  private readonly log: CallLog<FakeVolumeMethod>;

  constructor(private readonly options: FakeVolumeStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.log = new CallLog(() => this.clock.now());
  }

  /** Every call, in order (call-log.ts). */
  get calls(): readonly FakeCall<FakeVolumeMethod>[] {
    return this.log.calls;
  }

  /** The next `times` (default 1) calls of `method` reject with `error`, before any effect. */
  failNext(method: FakeVolumeMethod, error: unknown, options: { times?: number } = {}): void {
    this.log.failNext(method, error, options);
  }

  private enter(method: FakeVolumeMethod, args: unknown[]): void {
    this.log.enter(method, args);
  }

  async create(name: string, o: { labels?: Record<string, string>; options?: Record<string, string> } = {}): Promise<VolumeRecord> {
    this.enter("create", [name, o]);
    return this.createNow(name, o);
  }

  private createNow(name: string, o: { labels?: Record<string, string>; options?: Record<string, string> }): VolumeRecord {
    assertValidName(name, "volume name");
    const opts = { ...(o.options ?? {}) };
    validateVolumeOptions(name, opts);
    for (const [k, v] of Object.entries(o.labels ?? {})) {
      if (typeof v !== "string") throw invalidArgument(`create volume ${name}: label ${k} must be a string`);
    }
    const existing = this.volumes.get(name);
    if (existing) {
      if (!sameOptions(existing.record.options, opts)) {
        throw conflict(`create volume ${name}: exists with different options`, { object: { kind: "volume", name } });
      }
      return structuredClone(existing.record);
    }
    const record: VolumeRecord = {
      name,
      driver: "local",
      labels: { ...(o.labels ?? {}) },
      options: opts,
      mountpoint: `${this.options.mountRoot ?? "/fake/volumes"}/${name}/_data`,
      createdAt: new Date(this.clock.now()).toISOString(),
    };
    this.volumes.set(name, { record, users: new Set() });
    return structuredClone(record);
  }

  async inspect(name: string): Promise<VolumeRecord> {
    this.enter("inspect", [name]);
    assertValidName(name, "volume name");
    return structuredClone(this.mustGet(name, "inspect").record);
  }

  async list(labels?: Record<string, string>): Promise<VolumeRecord[]> {
    this.enter("list", [labels]);
    return [...this.volumes.values()]
      .map((v) => v.record)
      .filter((r) => !labels || Object.entries(labels).every(([k, v]) => r.labels[k] === v))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => structuredClone(r));
  }

  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    this.enter("remove", [name, options]);
    assertValidName(name, "volume name");
    const v = this.mustGet(name, "remove");
    const users = v.users.size + (this.options.inUse?.(name) ? 1 : 0);
    if (users > 0 && !options.force) {
      throw failedPrecondition(`remove volume ${name}: in use by ${users} container(s)`, { object: { kind: "volume", name } });
    }
    this.volumes.delete(name);
  }

  async acquire(name: string, containerId: string): Promise<void> {
    this.enter("acquire", [name, containerId]);
    assertValidName(name, "volume name");
    assertValidId(containerId, "container id");
    if (!this.volumes.has(name)) this.createNow(name, {});
    this.volumes.get(name)!.users.add(containerId);
  }

  async release(name: string, containerId: string): Promise<void> {
    this.enter("release", [name, containerId]);
    assertValidName(name, "volume name");
    assertValidId(containerId, "container id");
    this.volumes.get(name)?.users.delete(containerId);
  }

  async use(name: string): Promise<string> {
    this.enter("use", [name]);
    assertValidName(name, "volume name");
    return this.mustGet(name, "use").record.mountpoint;
  }

  async users(name: string): Promise<string[]> {
    this.enter("users", [name]);
    assertValidName(name, "volume name");
    return [...(this.volumes.get(name)?.users ?? [])].sort();
  }

  private mustGet(name: string, verb: string): Stored {
    const v = this.volumes.get(name);
    if (!v) throw notFound(`${verb} volume ${name}: not found`, { object: { kind: "volume", name } });
    return v;
  }
}

function sameOptions(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
