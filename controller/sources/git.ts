/**
 * The git CLI, run the only way berth runs it: `execFile` with an argv (never a shell), a
 * scrubbed environment (no inherited `GIT_*`, no user or system config, a fixed PATH, a HOME
 * that holds nothing), bounded time and output, and config that turns off everything a
 * repository could use to run a command: `core.fsmonitor` (run by `git status`),
 * hooks, the `ext::` transport, a pager. `safe.directory` names exactly the repository asked
 * about (never `*`), so the daemon (root) can read a tree someone else owns without trusting
 * every tree. Errors are Unavailable (git missing, timed out) or FailedPrecondition (git said no).
 */
import { execFile } from "../../runtime/proc/exec-file.js";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { failedPrecondition, invalidArgument, unavailable } from "../../lib/errors.js";

export interface GitOptions {
  /** Kill git after this long. */
  timeoutMs: number;
  /** Largest stdout (and stderr) kept; more is an error. */
  maxOutputBytes: number;
  /** The git binary (default: `git` on the fixed PATH). */
  git: string;
}

export function defaultGitOptions(): GitOptions {
  return { timeoutMs: 60_000, maxOutputBytes: 16 * 1024 * 1024, git: "git" };
}

/** The PATH git runs with: system directories only. */
export const GIT_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/** The environment of every git berth runs: nothing inherited. */
export function gitEnv(): NodeJS.ProcessEnv {
  return {
    PATH: GIT_PATH,
    HOME: "/nonexistent",
    XDG_CONFIG_HOME: "/nonexistent",
    LANG: "C",
    LC_ALL: "C",
    // berth's own settings, not inherited ones: no global or system config, never prompt
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
  };
}

/** The `-c` options before every command; `safeDir` is the one repository git may trust. */
export function hardenedArgs(safeDir: string): string[] {
  return [
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "protocol.ext.allow=never",
    "-c", "core.pager=cat",
    "-c", `safe.directory=${safeDir}`,
    "-c", "submodule.recurse=false",
    "-c", "core.sshCommand=ssh -oBatchMode=yes",
    "--no-pager",
  ];
}

/**
 * Runs `git <hardened> -C <dir> <args>`; resolves with stdout. `dir` is the repository's
 * top-level (absolute): it is both where git runs and the one safe.directory.
 */
export function runGit(dir: string, args: string[], options: Partial<GitOptions> = {}): Promise<string> {
  const o = { ...defaultGitOptions(), ...options };
  const argv = [...hardenedArgs(dir), "-C", dir, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      o.git,
      argv,
      { env: gitEnv(), cwd: "/", timeout: o.timeoutMs, killSignal: "SIGKILL", maxBuffer: o.maxOutputBytes },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        const what = `git ${args[0] ?? ""} in ${dir}`;
        if (e.code === "ENOENT") return reject(unavailable(`${what}: git is not installed (apt-get install git)`, { cause: err }));
        if (e.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") return reject(failedPrecondition(`${what}: output over ${o.maxOutputBytes} bytes`, { cause: err }));
        if (e.killed) return reject(unavailable(`${what}: timed out after ${o.timeoutMs}ms`, { cause: err }));
        reject(failedPrecondition(`${what}: ${(stderr || e.message).trim().split("\n").slice(-3).join("; ")}`, { cause: err }));
      },
    );
  });
}

/** The top-level of the git work tree holding `dir` (found by its `.git`, not by asking git), or undefined. */
export async function findWorkTree(dir: string): Promise<string | undefined> {
  let d = await fs.realpath(dir).catch(() => path.resolve(dir));
  for (;;) {
    const st = await fs.lstat(path.join(d, ".git")).catch(() => undefined);
    if (st && (st.isDirectory() || st.isFile())) return d;
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/**
 * The commit a work tree has checked out and whether `pathspec` (default the whole tree) has
 * changes not committed, untracked files included. `status` is run with
 * `--no-optional-locks`, so reading never writes the index.
 */
export async function workTreeState(top: string, pathspec = ".", options: Partial<GitOptions> = {}): Promise<{ commit?: string; dirty: boolean }> {
  const head = await runGit(top, ["rev-parse", "--verify", "-q", "HEAD^{commit}"], options).catch(() => "");
  const status = await runGit(top, ["--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--ignore-submodules=all", "--", pathspec], options);
  return { ...(head.trim() ? { commit: head.trim() } : {}), dirty: status.length > 0 };
}

/** A remote as given, checked: no option-like start, no `ext::`/`fd::` transport. Local paths are made absolute. */
export function checkRemoteUrl(url: string): string {
  if (url.startsWith("-")) throw invalidArgument(`git source ${JSON.stringify(url)}: a URL cannot start with '-'`);
  if (/^[a-z][a-z0-9+.-]*::/i.test(url)) throw invalidArgument(`git source ${JSON.stringify(url)}: remote helpers (${url.split("::")[0]}::) are refused`);
  if (/[\x00-\x1f]/.test(url)) throw invalidArgument(`git source ${JSON.stringify(url)}: control characters are refused`);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^[^/]+@[^/:]+:/.test(url)) return path.resolve(url);
  return url;
}

/**
 * berth's own clone of a remote branch, kept at `dir` (created by the first `update`). Every
 * update fetches the branch and checks out exactly what was fetched (a detached HEAD; local
 * changes and untracked files are discarded: nobody but berth writes there).
 */
export class GitMirror {
  constructor(
    readonly url: string,
    readonly dir: string,
    readonly branch: string | undefined,
    private readonly options: Partial<GitOptions> = {},
  ) {}

  /** Clones when there is no clone yet, else fetches; checks out the fetched commit. Resolves with it. */
  async update(): Promise<string> {
    const exists = await fs.stat(path.join(this.dir, ".git")).then(() => true, () => false);
    if (!exists) {
      await fs.rm(this.dir, { recursive: true, force: true });
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      await runGit(this.dir, ["init", "-q"], this.options);
      await runGit(this.dir, ["remote", "add", "origin", "--", this.url], this.options);
    }
    const ref = this.branch ? `refs/heads/${this.branch}` : "HEAD";
    await runGit(this.dir, ["fetch", "-q", "--no-tags", "--no-recurse-submodules", "--depth", "1", "origin", "--", `+${ref}:refs/berth/fetched`], this.options);
    const commit = (await runGit(this.dir, ["rev-parse", "--verify", "refs/berth/fetched^{commit}"], this.options)).trim();
    await runGit(this.dir, ["checkout", "-q", "--force", "--detach", commit], this.options);
    await runGit(this.dir, ["clean", "-q", "-ffdx"], this.options);
    return commit;
  }
}
