/**
 * The suite's git work trees: `git` with an argv (never a shell), the host's and the user's
 * git config ignored (HOME is the tree's parent, GIT_CONFIG_NOSYSTEM), a fixed author, no
 * hooks; bounded in time.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { mustRun } from "../proc.js";

export interface GitTree {
  dir: string;
  git(args: string[]): Promise<string>;
  /** `git add -A && git commit -q -m message`; the new HEAD. */
  commitAll(message: string): Promise<string>;
}

export async function initGitTree(dir: string, timeoutMs: number): Promise<GitTree> {
  await fs.mkdir(dir, { recursive: true });
  const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: path.dirname(dir), GIT_CONFIG_NOSYSTEM: "1" };
  const pre = ["-C", dir, "-c", "user.name=berth bench", "-c", "user.email=bench@localhost", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false"];
  const git = async (args: string[]) => (await mustRun("git", [...pre, ...args], timeoutMs, { env })).stdout;
  await git(["init", "-q", "-b", "main"]);
  return {
    dir,
    git,
    async commitAll(message) {
      await git(["add", "-A"]);
      await git(["commit", "-q", "-m", message]);
      return (await git(["rev-parse", "HEAD"])).trim();
    },
  };
}
