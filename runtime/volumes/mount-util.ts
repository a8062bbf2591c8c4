import { execFile } from "../proc/exec-file.js";
import { promises as fs } from "node:fs";
import { internal } from "../../lib/errors.js";

/** mount(8)/umount(8) with argv arrays, and mount-table lookups. */

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(internal(`${cmd} ${args.join(" ")}: ${String(stderr).trim() || err.message}`, { cause: err }));
      else resolve();
    });
  });
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points (targets) currently in this mount namespace. */
export async function mountTargets(): Promise<string[]> {
  const text = await fs.readFile("/proc/self/mounts", "utf8");
  return text
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((t): t is string => !!t)
    .map(unescapeMount);
}

export async function isMountpoint(dir: string): Promise<boolean> {
  return (await mountTargets()).includes(dir);
}

export async function mountTmpfs(target: string, options: string[]): Promise<void> {
  await run("mount", ["-t", "tmpfs", "-o", options.join(","), "tmpfs", target]);
}

/** Unmounts every mount stacked on `target`; `lazy` detaches busy ones. Idempotent. */
export async function unmountAll(target: string, lazy = false): Promise<void> {
  for (let i = 0; i < 16 && (await isMountpoint(target)); i++) {
    await run("umount", lazy ? ["-l", target] : [target]);
  }
}
