import { randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const TMP_PREFIX = "api-";

/**
 * Where the server stages uploaded archives and archives being saved: files `api-*` in one
 * directory, each removed by the request that made it, and all of them at listen (what a
 * crashed server left). One server stages in a directory at a time (the root lock).
 */
export class Staging {
  /** `dir` is called when a path is needed, so that it may depend on the controller. */
  constructor(private readonly dir: () => string) {}

  /** Staged files of a previous server. */
  async removeStale(): Promise<void> {
    const dir = this.dir();
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const n of names) if (n.startsWith(TMP_PREFIX)) await fs.rm(path.join(dir, n), { force: true });
  }

  /** A fresh path for a staged archive (the directory is made); the caller removes the file. */
  async file(): Promise<string> {
    const dir = this.dir();
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    return path.join(dir, `${TMP_PREFIX}${randomUUID()}.tar`);
  }
}

/** `<root>/tmp`; a controller without an absolute root (in tests) stages under the OS temp dir, never relative to the cwd. */
export function defaultStagingDir(root: string): string {
  return path.isAbsolute(root) ? path.join(root, "tmp") : path.join(tmpdir(), `berth-api-${process.pid}`);
}
