import { execFile, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { internal } from "../../lib/errors.js";
import { signalNumber } from "../../lib/signals.js";
import type { ExecResult } from "../types.js";

/**
 * runc, always with berth's own `--root` (under the run-root) so berth's containers are
 * separate from anything else on the host. argv arrays only. Failures of runc itself are
 * Internal errors carrying runc's stderr.
 */

export interface RuncState {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  bundle: string;
}

/** How long `exec` waits for `runc exec` to end after killing a timed-out or aborted process. */
const EXEC_KILL_WAIT_MS = 2000;

/** `pid` and its descendants (host pids, by the parent pid in /proc/<n>/stat), parents first. */
async function processTree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const e of await fs.readdir("/proc").catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(e)) continue;
    const stat = await fs.readFile(`/proc/${e}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!(ppid > 0)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(e));
    children.set(ppid, list);
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Runc {
  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  private run(args: string[], timeoutMs = 30_000): Promise<RunResult> {
    return new Promise((resolve) => {
      execFile(this.binary, ["--root", this.root, ...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  }

  private async must(args: string[], what: string): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== 0) throw internal(`${what}: runc ${args[0]} failed: ${(r.stderr || r.stdout).trim().slice(-1000)}`);
    return r;
  }

  /** True when runc has state for `id` under our root. */
  async exists(id: string): Promise<boolean> {
    try {
      await fs.access(path.join(this.root, id, "state.json"));
      return true;
    } catch {
      return false;
    }
  }

  async state(id: string): Promise<RuncState | undefined> {
    if (!(await this.exists(id))) return undefined;
    const r = await this.run(["state", id]);
    if (r.code !== 0) return undefined;
    return JSON.parse(r.stdout) as RuncState;
  }

  async start(id: string): Promise<void> {
    await this.must(["start", id], `start container ${id}`);
  }

  /** Sends a signal to the init process (`all`: to every process of the container). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.must(["kill", ...(all ? ["--all"] : []), id, signal], `signal container ${id}`);
  }

  /** Deletes runc's state (and the cgroup), killing what is left. Idempotent. */
  async delete(id: string): Promise<void> {
    if (!(await this.exists(id))) return;
    const r = await this.run(["delete", "--force", id]);
    if (r.code !== 0 && (await this.exists(id))) throw internal(`delete container ${id}: runc delete failed: ${r.stderr.trim().slice(-1000)}`);
  }

  async list(): Promise<RuncState[]> {
    const r = await this.must(["list", "--format", "json"], "list containers");
    const v = JSON.parse(r.stdout || "null") as RuncState[] | null;
    return v ?? [];
  }

  /**
   * `runc exec --process <file>`: captures stdout/stderr (each capped at maxOutputBytes),
   * kills the exec'd process and its descendants (from the pid runc reports) on timeout or
   * abort, and resolves with its exit code (128+signal when killed) — at the latest
   * EXEC_KILL_WAIT_MS after the kill, whatever runc still waits for.
   */
  exec(id: string, processFile: string, pidFile: string, opts: { timeoutMs?: number; maxOutputBytes: number; signal?: AbortSignal }): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = spawn(this.binary, ["--root", this.root, "exec", "--process", processFile, "--pid-file", pidFile, id], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outLen = 0;
      let errLen = 0;
      child.stdout.on("data", (b: Buffer) => {
        if (outLen < opts.maxOutputBytes) out.push(b.subarray(0, opts.maxOutputBytes - outLen));
        outLen += b.length;
      });
      child.stderr.on("data", (b: Buffer) => {
        if (errLen < opts.maxOutputBytes) err.push(b.subarray(0, opts.maxOutputBytes - errLen));
        errLen += b.length;
      });
      let timedOut = false;
      let done = false;
      const killProcess = async () => {
        const pid = Number((await fs.readFile(pidFile, "utf8").catch(() => "")).trim());
        if (Number.isInteger(pid) && pid > 0) {
          // The whole tree: a child left behind (a shell's foreground command) would keep
          // `runc exec` waiting on it after the exec'd process died.
          for (const p of await processTree(pid)) {
            try {
              process.kill(p, "SIGKILL");
            } catch {}
          }
        } else child.kill("SIGKILL");
        // Bound the wait even if something escaped: stop waiting for runc.
        setTimeout(() => {
          if (done) return;
          child.kill("SIGKILL");
          child.stdout.destroy();
          child.stderr.destroy();
          finish(128 + (signalNumber("SIGKILL") ?? 9));
        }, EXEC_KILL_WAIT_MS).unref();
      };
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              void killProcess();
            }, opts.timeoutMs)
          : undefined;
      const onAbort = () => void killProcess();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const finish = (code: number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        resolve({ exitCode: code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut });
      };
      child.on("error", () => finish(-1));
      child.on("exit", (code, sig) => {
        const exitCode = code ?? (sig ? 128 + (signalNumber(sig) ?? 0) : -1);
        // Background children may hold the pipes open: give the output a moment, then stop.
        const t = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(exitCode);
        }, 100);
        child.on("close", () => {
          clearTimeout(t);
          finish(exitCode);
        });
      });
    });
  }
}

