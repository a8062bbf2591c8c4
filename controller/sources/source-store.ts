import { promises as fs } from "node:fs";
import * as path from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../../lib/atomic-file.js";
import type { SourceSpec } from "./types.js";

interface SourcesFile {
  version: 1;
  sources: SourceSpec[];
}

/**
 * The registered sources, persisted as `<dir>/sources.json` (write-temp, fsync, rename, fsync
 * dir: a crash leaves the old list or the new one). Mutations are serialized; each is written
 * before it resolves, so a registration the API acknowledged survives a daemon restart.
 */
export class SourceStore {
  private sources = new Map<string, SourceSpec>();
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<SourceStore> {
    const s = new SourceStore(dir);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const f = await readJsonIfExists<SourcesFile>(s.file);
    for (const spec of f?.sources ?? []) s.sources.set(spec.stack, spec);
    return s;
  }

  get file(): string {
    return path.join(this.dir, "sources.json");
  }

  list(): SourceSpec[] {
    return [...this.sources.values()].sort((a, b) => a.stack.localeCompare(b.stack));
  }

  get(stack: string): SourceSpec | undefined {
    return this.sources.get(stack);
  }

  put(spec: SourceSpec): Promise<void> {
    return this.mutate((m) => m.set(spec.stack, spec));
  }

  remove(stack: string): Promise<void> {
    return this.mutate((m) => m.delete(stack));
  }

  /** Writes the changed list first; memory changes only once it is on disk. */
  private mutate(change: (next: Map<string, SourceSpec>) => void): Promise<void> {
    const done = this.writes.then(async () => {
      const next = new Map(this.sources);
      change(next);
      const sources = [...next.values()].sort((a, b) => a.stack.localeCompare(b.stack));
      await writeJsonAtomic(this.file, { version: 1, sources } satisfies SourcesFile, { mode: 0o600 });
      this.sources = next;
    });
    this.writes = done.catch(() => {});
    return done;
  }
}
