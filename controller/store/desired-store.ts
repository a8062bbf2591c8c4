/**
 * The persisted desired state: every applied object, keyed `kind/name`, with its stack and
 * generation.
 *
 * Storage: one JSON document holding every object, kept as two copies — `desired.json` and
 * `desired.json.bak` — each replaced by write-temp → fsync → rename → fsync dir
 * (lib/atomic-file.ts), primary first, on each change. Each copy carries a sequence number
 * and the sha256 of its objects. So an apply is all-or-nothing: after `apply` resolves the
 * change is in both copies and survives `kill -9` or power loss; before it, readers and the
 * next open see the previous state — never a torn file and never half an apply. A write
 * that fails (a full disk) leaves the previous state on disk and in memory.
 *
 * Recovery at `open`: each copy is checked (JSON, format, sequence, checksum, the shape of
 * every stored object); the valid copy with the highest sequence wins, a bad copy is moved
 * aside (`desired.json.corrupt-<time>`) and rewritten from the good one. So a copy that was
 * emptied, truncated or overwritten with garbage at rest costs nothing: the last
 * acknowledged apply is in the other. When neither copy is valid, the store opens empty
 * with `recovery.lost` set, both bad files quarantined: the controller then leaves the
 * containers it finds running (it does not prune what it no longer knows) until their
 * stacks are applied again, which adopts them. `recovery` says what happened; the daemon
 * logs it and records an event. A temp file left by a crash is deleted by the next `open`.
 * (A single document is rewritten per apply; at single-host scale — hundreds of objects, a
 * few KiB each — that costs less than the fsyncs, and buys atomic multi-object applies.)
 *
 * Contract:
 * - `apply(stack, objects, {prune, dryRun})` compares each normalized object (metadata and
 *   spec; not its source position) with the stored one and returns a ChangeSet (Flux
 *   style): `created` (generation 1), `configured` (generation + 1), `unchanged`, and with
 *   `prune` `deleted` for objects of *that stack* missing from `objects`. Objects of other
 *   stacks are never touched: applying a key that another stack owns is a Conflict, and
 *   nothing is written. Duplicate keys and invalid names are InvalidArgument; a `dependsOn`
 *   cycle across the whole resulting state is InvalidArgument. `dryRun` computes the same
 *   ChangeSet and writes nothing.
 * - Writes are serialized (one at a time, in call order); reads see the last completed
 *   write. When a write fails, the in-memory state stays the previous one and the error
 *   is thrown.
 * - One store per directory and process: the daemon's root lock guards against a second
 *   process.
 * - `subscribe(listener)`: after each committed write, in the same tick, listeners get the
 *   objects it changed (before and after); the indexes (indexes.ts) stay current this way.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fsyncDir, writeFileAtomic } from "../../lib/atomic-file.js";
import { conflict, invalidArgument } from "../../lib/errors.js";
import { assertValidName } from "../../lib/names.js";
import { KINDS, type Kind } from "../../schemas/kinds.js";
import { canonicalJson } from "../../lib/canonical-json.js";
import { assertAcyclic, sortForApply, sortForDelete } from "../dependencies.js";
import { objectKey, type AnyObject } from "../manifests/model.js";
import {
  BACKUP_SUFFIX,
  checksum,
  FORMAT_VERSION,
  LOST_MARKER,
  readCopy,
  readGuard,
  type DesiredStoreRecovery,
  type Document,
  type OrphanGuard,
} from "./desired-document.js";
import type { ChangeSet, ChangeSetEntry, StoreChange, StoredObject } from "./types.js";

export type { DesiredStoreRecovery, OrphanGuard } from "./desired-document.js";

export interface DesiredStoreOptions {
  /** Name of the document inside the directory. */
  fileName: string;
  /** Replaces a file crash-safely; injectable to simulate crashes and full disks. */
  writeFile: (file: string, data: string) => Promise<void>;
}

export function defaultDesiredStoreOptions(): DesiredStoreOptions {
  return { fileName: "desired.json", writeFile: (file, data) => writeFileAtomic(file, data, { mode: 0o600 }) };
}

export interface ApplyOptions {
  /** Delete this stack's objects that are not in `objects`. */
  prune?: boolean;
  /** Compute the ChangeSet without writing. */
  dryRun?: boolean;
}

export class DesiredStore {
  private objects: Map<string, StoredObject>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((changes: StoreChange[]) => void)[] = [];

  private seq: number;

  private constructor(
    readonly file: string,
    private readonly options: DesiredStoreOptions,
    objects: StoredObject[],
    seq: number,
    /** What `open` found and did (see the header). */
    readonly recovery: DesiredStoreRecovery,
  ) {
    this.objects = new Map(objects.map((o) => [o.key, o]));
    this.seq = seq;
  }

  private guard: OrphanGuard | undefined;

  /** While a lost state is not re-applied: whose containers to leave running (see OrphanGuard). */
  orphanGuard(): OrphanGuard | undefined {
    return this.guard;
  }

  /** Whether containers of `stack` that are not desired must be left running (a lost state). */
  keepsOrphansOf(stack: string | undefined): boolean {
    const g = this.guard;
    return g !== undefined && (g.stacks === null || (stack !== undefined && g.stacks.includes(stack)));
  }

  /** Records the stacks of the containers found running after a lost state (once). */
  setOrphanStacks(stacks: string[]): Promise<void> {
    return this.serialize(async () => {
      if (!this.guard || this.guard.stacks !== null) return;
      await this.writeGuard({ ...this.guard, stacks: [...new Set(stacks)].sort() });
    });
  }

  private async writeGuard(g: OrphanGuard | undefined): Promise<void> {
    if (!this.file) {
      this.guard = g;
      return;
    }
    const marker = path.join(path.dirname(this.file), LOST_MARKER);
    if (g && (g.stacks === null || g.stacks.length > 0)) await this.options.writeFile(marker, JSON.stringify(g, null, 2) + "\n");
    else {
      await fs.rm(marker, { force: true });
      g = undefined;
    }
    this.guard = g;
  }

  /**
   * Opens (creating the directory when needed) the store in `dir`, deleting temp files a
   * crash left behind, recovering from a bad copy as the header says. Never fails for bad
   * contents; fails only when the directory cannot be read or written.
   */
  static async open(dir: string, options: Partial<DesiredStoreOptions> = {}): Promise<DesiredStore> {
    const o = { ...defaultDesiredStoreOptions(), ...options };
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    for (const entry of await fs.readdir(dir)) {
      if ((entry.startsWith(`.${o.fileName}.`) || entry.startsWith(`.${o.fileName}${BACKUP_SUFFIX}.`)) && entry.endsWith(".tmp")) await fs.rm(path.join(dir, entry), { force: true });
    }
    const file = path.join(dir, o.fileName);
    const copies = await Promise.all([file, file + BACKUP_SUFFIX].map(async (f) => ({ file: f, ...(await readCopy(f)) })));
    const valid = copies.filter((c) => c.doc !== undefined).sort((a, b) => b.doc!.seq - a.doc!.seq);
    const best = valid[0];
    const recovery: DesiredStoreRecovery = {
      source: best ? (best.file === file ? "primary" : "backup") : "none",
      quarantined: [],
      lost: false,
      objects: best?.doc?.objects.length ?? 0,
    };
    for (const c of copies) {
      if (c.problem === undefined) continue;
      const movedTo = `${c.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      await fs.rename(c.file, movedTo);
      recovery.quarantined.push({ file: c.file, movedTo, problem: c.problem });
    }
    if (recovery.quarantined.length) await fsyncDir(dir);
    recovery.lost = !best && recovery.quarantined.length > 0;
    const store = new DesiredStore(file, o, best?.doc?.objects ?? [], best?.doc?.seq ?? 0, recovery);
    const marker = path.join(dir, LOST_MARKER);
    if (recovery.lost) await store.writeGuard({ since: new Date().toISOString(), stacks: null });
    else store.guard = await readGuard(marker);
    // Both copies hold the state again (one was bad, missing, or of format version 1).
    const stale = copies.some((c) => c.doc === undefined || c.doc.seq !== best?.doc?.seq || c.version !== FORMAT_VERSION);
    if (best && stale) await store.writeCopies(store.objects, store.seq);
    return store;
  }

  /** An empty store that keeps its state in memory only (unit tests). */
  static inMemory(): DesiredStore {
    return new DesiredStore("", { ...defaultDesiredStoreOptions(), writeFile: async () => {} }, [], 0, { source: "none", quarantined: [], lost: false, objects: 0 });
  }

  /** Calls `listener` after every committed write with what it changed (see the contract). */
  subscribe(listener: (changes: StoreChange[]) => void): void {
    this.listeners.push(listener);
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  /** Stored objects in apply order, optionally of one stack and/or kind. */
  list(filter: { stack?: string; kind?: Kind } = {}): StoredObject[] {
    const all = [...this.objects.values()].filter(
      (o) => (filter.stack === undefined || o.stack === filter.stack) && (filter.kind === undefined || o.kind === filter.kind),
    );
    return sortStored(all, "apply");
  }

  /** Names of the stacks with at least one object. */
  stacks(): string[] {
    return [...new Set([...this.objects.values()].map((o) => o.stack))].sort();
  }

  apply(stack: string, objects: readonly AnyObject[], options: ApplyOptions = {}): Promise<ChangeSet> {
    return this.serialize(async () => {
      assertValidName(stack, "stack name");
      const next = new Map(this.objects);
      const entries: ChangeSetEntry[] = [];
      const seen = new Set<string>();
      for (const object of sortForApply(objects)) {
        if (!(KINDS as readonly string[]).includes(object.kind)) throw invalidArgument(`apply ${object.kind}: unknown kind`);
        assertValidName(object.metadata.name, `${object.kind} name`);
        const key = objectKey(object);
        if (seen.has(key)) throw invalidArgument(`apply ${key}: defined twice`, { object: ref(object) });
        seen.add(key);
        const prev = this.objects.get(key);
        if (prev && prev.stack !== stack) {
          throw conflict(`apply ${key}: it belongs to stack ${prev.stack}, not ${stack}`, { object: ref(object) });
        }
        const entry = (action: ChangeSetEntry["action"], generation: number): ChangeSetEntry => ({
          key,
          kind: object.kind,
          name: object.metadata.name,
          stack,
          action,
          generation,
        });
        const at = new Date().toISOString();
        if (!prev) {
          next.set(key, { key, kind: object.kind, name: object.metadata.name, stack, generation: 1, object: clone(object), createdAt: at, updatedAt: at });
          entries.push(entry("created", 1));
        } else if (sameContent(prev.object, object)) {
          entries.push(entry("unchanged", prev.generation));
        } else {
          next.set(key, { ...prev, generation: prev.generation + 1, object: clone(object), updatedAt: at });
          entries.push(entry("configured", prev.generation + 1));
        }
      }
      if (options.prune) {
        const gone = [...this.objects.values()].filter((o) => o.stack === stack && !seen.has(o.key));
        for (const o of sortStored(gone, "delete")) {
          next.delete(o.key);
          entries.push({ key: o.key, kind: o.kind, name: o.name, stack, action: "deleted", generation: o.generation });
        }
      }
      assertAcyclic([...next.values()].map((o) => o.object));
      const changed = entries.some((e) => e.action !== "unchanged");
      if (!options.dryRun && changed) await this.commit(next);
      // The stack is applied again after a lost state: its orphans are pruned as usual from now on.
      if (!options.dryRun && this.guard?.stacks?.includes(stack)) await this.writeGuard({ ...this.guard, stacks: this.guard.stacks.filter((x) => x !== stack) });
      return { entries, dryRun: !!options.dryRun };
    });
  }

  /** Deletes one object; undefined when there is none. */
  delete(key: string, options: { dryRun?: boolean } = {}): Promise<ChangeSetEntry | undefined> {
    return this.serialize(async () => {
      const o = this.objects.get(key);
      if (!o) return undefined;
      if (!options.dryRun) {
        const next = new Map(this.objects);
        next.delete(key);
        await this.commit(next);
      }
      return { key, kind: o.kind, name: o.name, stack: o.stack, action: "deleted", generation: o.generation };
    });
  }

  /** Persists `next` in both copies, then makes it the current state. */
  private async commit(next: Map<string, StoredObject>): Promise<void> {
    await this.writeCopies(next, this.seq + 1);
    this.seq += 1;
    const prev = this.objects;
    this.objects = next;
    const changes: StoreChange[] = [];
    for (const [key, after] of next) {
      const before = prev.get(key);
      if (before !== after) changes.push({ key, ...(before ? { before } : {}), after });
    }
    for (const [key, before] of prev) if (!next.has(key)) changes.push({ key, before });
    for (const l of this.listeners) l(changes);
  }

  /** Writes the document of `objects` at `seq` to the primary copy, then to the backup. */
  private async writeCopies(objects: Map<string, StoredObject>, seq: number): Promise<void> {
    const sorted = [...objects.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const doc: Document = { version: FORMAT_VERSION, seq, sha256: checksum(sorted), objects: sorted };
    const text = JSON.stringify(doc, null, 2) + "\n";
    await this.options.writeFile(this.file, text);
    await this.options.writeFile(this.file + BACKUP_SUFFIX, text);
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** `container/web configured`, the line every surface prints. */
export function formatChange(entry: ChangeSetEntry): string {
  return `${entry.key} ${entry.action}`;
}

function sameContent(a: AnyObject, b: AnyObject): boolean {
  return canonicalJson(content(a)) === canonicalJson(content(b));
}

/** What counts as a change: everything but the source position. */
function content(o: AnyObject) {
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: o.spec };
}

function clone(o: AnyObject): AnyObject {
  return structuredClone(o);
}

function ref(o: AnyObject) {
  return { kind: o.kind, name: o.metadata.name };
}

function sortStored(objs: StoredObject[], order: "apply" | "delete"): StoredObject[] {
  const byObject = new Map(objs.map((o) => [o.object, o]));
  const sorted = order === "apply" ? sortForApply(objs.map((o) => o.object)) : sortForDelete(objs.map((o) => o.object));
  return sorted.map((o) => byObject.get(o)!);
}
