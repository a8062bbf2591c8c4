/**
 * The persisted desired state: every applied object, keyed `kind/name`, with its stack and
 * generation.
 *
 * Storage: one JSON document (`desired.json`) holding every object, replaced as a whole by
 * write-temp → fsync → rename → fsync dir (lib/atomic-file.ts) on each change. So an apply
 * is all-or-nothing: after `apply` resolves the change survives `kill -9` or power loss;
 * before it, readers and the next open see the previous state — never a torn file and
 * never half an apply. A temp file left by a crash is deleted by the next `open`. (A single
 * document is rewritten per apply; at single-host scale — hundreds of objects, a few KiB
 * each — that costs less than the fsyncs, and buys atomic multi-object applies.)
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
import { writeFileAtomic } from "../../lib/atomic-file.js";
import { conflict, errorMessage, failedPrecondition, invalidArgument } from "../../lib/errors.js";
import { assertValidName } from "../../lib/names.js";
import { KINDS, type Kind } from "../../schemas/kinds.js";
import { canonicalJson } from "../../lib/canonical-json.js";
import { assertAcyclic, sortForApply, sortForDelete } from "../dependencies.js";
import { objectKey, type AnyObject } from "../manifests/model.js";
import type { ChangeSet, ChangeSetEntry, StoreChange, StoredObject } from "./types.js";

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

interface Document {
  version: 1;
  objects: StoredObject[];
}

const FORMAT_VERSION = 1;

export class DesiredStore {
  private objects: Map<string, StoredObject>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((changes: StoreChange[]) => void)[] = [];

  private constructor(
    readonly file: string,
    private readonly options: DesiredStoreOptions,
    objects: StoredObject[],
  ) {
    this.objects = new Map(objects.map((o) => [o.key, o]));
  }

  /**
   * Opens (creating the directory when needed) the store in `dir`, deleting temp files a
   * crash left behind. FailedPrecondition when the document is unreadable or of an unknown
   * format version.
   */
  static async open(dir: string, options: Partial<DesiredStoreOptions> = {}): Promise<DesiredStore> {
    const o = { ...defaultDesiredStoreOptions(), ...options };
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const tempPrefix = `.${o.fileName}.`;
    for (const entry of await fs.readdir(dir)) {
      if (entry.startsWith(tempPrefix) && entry.endsWith(".tmp")) await fs.rm(path.join(dir, entry), { force: true });
    }
    const file = path.join(dir, o.fileName);
    let text: string | undefined;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (text === undefined) return new DesiredStore(file, o, []);
    let doc: Document;
    try {
      doc = JSON.parse(text) as Document;
    } catch (err) {
      throw failedPrecondition(`open desired store ${file}: ${errorMessage(err)}`, { cause: err });
    }
    if (doc?.version !== FORMAT_VERSION || !Array.isArray(doc.objects)) {
      throw failedPrecondition(`open desired store ${file}: unsupported format version ${JSON.stringify(doc?.version)}`);
    }
    return new DesiredStore(file, o, doc.objects);
  }

  /** An empty store that keeps its state in memory only (unit tests). */
  static inMemory(): DesiredStore {
    return new DesiredStore("", { ...defaultDesiredStoreOptions(), writeFile: async () => {} }, []);
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

  /** Persists `next`, then makes it the current state. */
  private async commit(next: Map<string, StoredObject>): Promise<void> {
    const doc: Document = {
      version: FORMAT_VERSION,
      objects: [...next.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    };
    await this.options.writeFile(this.file, JSON.stringify(doc, null, 2) + "\n");
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
