import { promises as fs, constants as fsc } from "node:fs";
import * as path from "node:path";
import { unavailable } from "./errors.js";

export interface RootLock {
  /** Path of the lock file. */
  file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the lock that makes one process the owner of a state root: `<dir>/lock` created
 * with O_EXCL, holding the owner's pid. A lock left by a process that no longer exists
 * (kill -9, crash) is taken over. Throws Unavailable, naming the owner, when a live
 * process holds it. `release` is idempotent.
 */
export async function acquireRootLock(dir: string, what = "berth"): Promise<RootLock> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, "lock");
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      let released = false;
      return {
        file,
        async release() {
          if (released) return;
          released = true;
          const owner = Number((await fs.readFile(file, "utf8").catch(() => "")).trim());
          if (owner === process.pid) await fs.rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = Number((await fs.readFile(file, "utf8").catch(() => "")).trim());
    if (owner > 0 && owner !== process.pid && alive(owner)) {
      throw unavailable(`lock ${dir}: ${what} process ${owner} is using it`);
    }
    // Stale (or being written this instant): move it aside atomically, then retry.
    await fs.rename(file, `${file}.stale.${process.pid}`).catch(() => {});
    await fs.rm(`${file}.stale.${process.pid}`, { force: true });
    await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
  }
  throw unavailable(`lock ${dir}: could not take the lock`);
}
