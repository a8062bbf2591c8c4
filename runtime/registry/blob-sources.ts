import * as path from "node:path";
import { promises as fs } from "node:fs";
import { readJsonIfExists, writeJsonAtomic } from "../../lib/atomic-file.js";
import { DIGEST_RE } from "../../lib/names.js";
import { AsyncLock } from "../content/async-lock.js";

interface SourcesFile {
  version: 1;
  /** Blob digest → repositories (`host[:port]/path`) it was pulled from or pushed to, newest first. */
  sources: Record<string, string[]>;
}

const MAX_PER_BLOB = 8;
const MAX_BLOBS = 50_000;

/**
 * Where blobs came from (`<root>/registry/blob-sources.json`, written atomically): a push
 * asks the registry to mount a blob it lacks from another repository of the same registry
 * that had it, instead of uploading it. Only a hint: a stale entry costs a refused mount
 * (202) and an upload. Updates are serialized in-process.
 */
export class BlobSources {
  private readonly file: string;
  private readonly lock = new AsyncLock();

  constructor(dir: string) {
    this.file = path.join(dir, "blob-sources.json");
  }

  private async read(): Promise<Record<string, string[]>> {
    try {
      const f = await readJsonIfExists<SourcesFile>(this.file);
      return f && typeof f.sources === "object" && f.sources !== null ? { ...f.sources } : {};
    } catch {
      return {}; // a torn or foreign file is only a lost hint
    }
  }

  /** Repositories on `host` other than `exceptRepo` that had `digest`, newest first. */
  async candidates(digest: string, host: string, exceptRepo: string): Promise<string[]> {
    const all = (await this.read())[digest] ?? [];
    const prefix = `${host.toLowerCase()}/`;
    return all.filter((r) => r.startsWith(prefix) && r !== `${prefix}${exceptRepo}`).map((r) => r.slice(prefix.length));
  }

  async record(host: string, repo: string, digests: string[]): Promise<void> {
    const name = `${host.toLowerCase()}/${repo}`;
    await this.lock.run(async () => {
      const sources = await this.read();
      for (const d of digests) {
        if (!DIGEST_RE.test(d)) continue;
        sources[d] = [name, ...(sources[d] ?? []).filter((r) => r !== name)].slice(0, MAX_PER_BLOB);
      }
      const keys = Object.keys(sources);
      for (const k of keys.slice(0, Math.max(0, keys.length - MAX_BLOBS))) delete sources[k];
      await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeJsonAtomic(this.file, { version: 1, sources } satisfies SourcesFile);
    });
  }
}
