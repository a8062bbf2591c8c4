/**
 * The build cache: which image a build step made from which inputs, for berth's own builds
 * only (an image pulled or loaded is never a cache candidate: CVE-2024-24557 was a builder
 * that took one for a hit). File: `<root>/build/cache.json`, written atomically; a corrupt
 * file is moved aside and the cache starts empty (a cache is never worth a failed build).
 *
 * Keys chain: `chainKey(prev, step)` hashes the previous key with everything that decides a
 * step's result — the instruction fully expanded, its flags, the build args and ENV in
 * effect, and for COPY/ADD the content digest of its sources (modes and owners yes, mtimes
 * and absolute paths no). Every instruction is in the chain, the config-only ones too, so
 * a HEALTHCHECK, ONBUILD or LABEL change reaches every later key. The chain starts at the
 * base image's manifest digest (`scratch` for none).
 *
 * A miss is explained (`explainMiss`): the entries recorded with the same previous key say
 * whether this step was never built after it, or what of its inputs differs.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../../../lib/atomic-file.js";

/** What decides a step's result. */
export interface StepInputs {
  /** The instruction as it runs: keyword, flags and arguments after expansion. */
  instruction: string;
  /** Build args in effect and the config's Env, `k=v`, sorted. */
  env: string[];
  /** COPY/ADD: content digest of the sources. */
  sources?: string;
}

interface Entry extends StepInputs {
  prev: string;
  image: string;
  at: string;
  /** The image a stage ended with (what a build gives), not a step's on the way. */
  final?: true;
}

interface CacheFile {
  version: 1;
  entries: Record<string, Entry>;
}

export function chainKey(prev: string, step: StepInputs): string {
  const h = createHash("sha256");
  h.update(JSON.stringify([prev, step.instruction, step.env, step.sources ?? null]));
  return `sha256:${h.digest("hex")}`;
}

/** The first key of a stage's chain. */
export function baseKey(baseDigest: string | undefined): string {
  return chainKey("", { instruction: `FROM ${baseDigest ?? "scratch"}`, env: [] });
}

const MAX_ENTRIES = 10_000;

export class BuildCache {
  private readonly file: string;
  private doc: CacheFile = { version: 1, entries: {} };
  private dirty = false;

  private constructor(root: string) {
    this.file = path.join(root, "build", "cache.json");
  }

  static async open(root: string): Promise<BuildCache> {
    const c = new BuildCache(root);
    await fs.mkdir(path.dirname(c.file), { recursive: true, mode: 0o700 });
    try {
      const doc = await readJsonIfExists<unknown>(c.file);
      if (isCacheFile(doc)) c.doc = doc;
      else if (doc !== undefined) throw new Error("not a version 1 cache file");
    } catch {
      await fs.rename(c.file, `${c.file}.corrupt-${Date.now()}`).catch(() => {});
    }
    return c;
  }

  /** The image recorded for `key`, if any (the caller checks it still exists). */
  get(key: string): string | undefined {
    return this.doc.entries[key]?.image;
  }

  /** Records `image` for `key` (in memory until `flush`); `final`: what a stage ended with. */
  put(key: string, prev: string, inputs: StepInputs, image: string, at: Date, final = false): void {
    const entries = this.doc.entries;
    delete entries[key]; // re-inserted last: the newest
    entries[key] = { prev, image, at: at.toISOString(), ...inputs, ...(final ? { final: true as const } : {}) };
    const keys = Object.keys(entries);
    if (keys.length > MAX_ENTRIES) {
      // the oldest go first
      for (const k of keys.sort((a, b) => entries[a]!.at.localeCompare(entries[b]!.at)).slice(0, keys.length - MAX_ENTRIES)) delete entries[k];
    }
    this.dirty = true;
  }

  forget(key: string): void {
    if (!this.doc.entries[key]) return;
    delete this.doc.entries[key];
    this.dirty = true;
  }

  /**
   * Writes what changed, once per build (the builder calls it at the end, whatever the
   * outcome): a file of thousands of entries is not rewritten per step. A crash before it
   * loses only cache entries — those steps run again; their images are then unreferenced,
   * and `image prune` takes them.
   */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    await writeJsonAtomic(this.file, this.doc, { mode: 0o600 });
    this.dirty = false;
  }

  /** Why `inputs` after `prev` has no entry, in a few words. */
  explainMiss(prev: string, inputs: StepInputs): string {
    const after = Object.values(this.doc.entries).filter((e) => e.prev === prev);
    if (after.length === 0) return "no earlier build of this step on the same base and previous steps";
    const same = after.find((e) => e.instruction === inputs.instruction);
    if (!same) return "the instruction differs from the earlier builds";
    if (JSON.stringify(same.env) !== JSON.stringify(inputs.env)) {
      const a = new Set(same.env);
      const b = new Set(inputs.env);
      const changed = [...new Set([...same.env.filter((x) => !b.has(x)), ...inputs.env.filter((x) => !a.has(x))].map((kv) => kv.split("=")[0]!))];
      return `build args or ENV changed: ${changed.join(", ")}`;
    }
    if (same.sources !== inputs.sources) return "the source files changed";
    return "its cached image was removed";
  }
}

function isCacheFile(doc: unknown): doc is CacheFile {
  const d = doc as Partial<CacheFile> | undefined;
  return d?.version === 1 && typeof d.entries === "object" && d.entries !== null;
}

/** The images of steps on the way, not what a stage ended with: what `image ls` hides without --all. */
function intermediatesOf(entries: Record<string, Entry>): Set<string> {
  const all = Object.values(entries);
  const finals = new Set(all.flatMap((e) => (e.final ? [e.image] : [])));
  return new Set(all.flatMap((e) => (!e.final && !finals.has(e.image) ? [e.image] : [])));
}

/** The build intermediates of the root's builds; none when nothing was built. */
export async function buildIntermediates(root: string): Promise<Set<string>> {
  const doc = await readJsonIfExists<unknown>(path.join(root, "build", "cache.json")).catch(() => undefined);
  return isCacheFile(doc) ? intermediatesOf(doc.entries) : new Set();
}

/** `images` without the untagged images of build steps of the root's builds (`image ls` without --all). */
export async function withoutBuildIntermediates<T extends { digest: string; references: string[] }>(root: string, images: T[]): Promise<T[]> {
  const hidden = await buildIntermediates(root);
  return images.filter((i) => i.references.length > 0 || !hidden.has(i.digest));
}

const MAX_HASHES = 200_000;

/**
 * The content hashes of context files (context/copy-plan.ts ContentHashCache), kept across
 * builds in `<root>/build/hashes.json` (written atomically after each build; a corrupt or
 * foreign file starts empty). Bounded: the oldest entries go first.
 */
export class FileHashCache {
  private readonly file: string;
  private map = new Map<string, string>();
  private dirty = false;

  private constructor(root: string) {
    this.file = path.join(root, "build", "hashes.json");
  }

  static async open(root: string): Promise<FileHashCache> {
    const c = new FileHashCache(root);
    const doc = await readJsonIfExists<{ version: 1; hashes: Record<string, string> }>(c.file).catch(() => undefined);
    if (doc?.version === 1 && typeof doc.hashes === "object" && doc.hashes !== null) {
      for (const [k, v] of Object.entries(doc.hashes)) if (typeof v === "string" && /^[0-9a-f]{64}$/.test(v)) c.map.set(k, v);
    }
    return c;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  set(key: string, sha256: string): void {
    this.map.delete(key);
    this.map.set(key, sha256);
    this.dirty = true;
    while (this.map.size > MAX_HASHES) this.map.delete(this.map.keys().next().value!);
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await writeJsonAtomic(this.file, { version: 1, hashes: Object.fromEntries(this.map) }, { mode: 0o600 });
    this.dirty = false;
  }
}
