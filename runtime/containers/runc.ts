import { spawn } from "node:child_process";
import { execFile } from "../proc/exec-file.js";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { internal } from "../../lib/errors.js";
import { signalNumber } from "../../lib/signals.js";
import type { ExecExit, ExecStream } from "../types.js";

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

/** How long `execStream` waits for `runc exec` to end after killing a timed-out or aborted process. */
const EXEC_KILL_WAIT_MS = 2000;
/** How often, while stderr is held back, `execStream` looks whether runc wrote the pid file. */
const PID_FILE_POLL_MS = 10;
/** The exit code of an exec killed on timeout or abort (128 + SIGKILL). */
const KILLED_EXIT = 128 + 9;

export interface RuncExecOptions {
  /** `--cgroup`: the exec's own sub-cgroup (exec-group.ts), e.g. `pids:exec-1a2b`. */
  cgroup?: string;
  stdin?: AsyncIterable<Uint8Array>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Kills every process of the exec (its cgroup); called first on timeout or abort. */
  killGroup?: () => Promise<void>;
}

/**
 * The reason in what runc wrote when it could not start a process (`--log-format json`
 * lines; the last error's `msg`), as Docker shows it: from `exec: "x": ...` on when present
 * (`exec failed: unable to start container process: ` dropped).
 */
export function runcStartError(text: string): string {
  let msg = "";
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (typeof v.msg === "string" && (v.level === "error" || v.level === "fatal" || !msg)) msg = v.msg;
    } catch {
      msg = line.trim();
    }
  }
  msg = msg.replace(/\s+/g, " ").trim();
  const i = msg.search(/(^|: )exec: /);
  if (i >= 0) msg = msg.slice(i).replace(/^: /, "");
  return msg || "exec: the OCI runtime could not start the process";
}

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
   * `runc exec --process <file> --pid-file <file> [--cgroup <sub>]`, streaming (ExecStream
   * in runtime/types.ts): stdout and stderr as bytes, `stdin` forwarded and closed at its
   * end. runc ends once the process exited and every holder of its stdout and stderr closed
   * them, so `exit` comes after all output.
   *
   * A command runc cannot start (not found, not executable) is told from one that started
   * by the pid file, which runc writes once the process runs: until then stderr is held
   * back, and if runc fails without writing it, what it said (`--log-format json`) becomes
   * `startError` — exit code 127 when the file does not exist, else 126 — and nothing of it
   * reaches stderr.
   *
   * On timeout or abort, `killGroup` (the exec's cgroup, exec-group.ts) and then the
   * parent-pid tree of the exec'd process are SIGKILLed; exit code 137. Whatever is still
   * holding runc then, `exit` resolves EXEC_KILL_WAIT_MS after the kill.
   */
  execStream(id: string, processFile: string, pidFile: string, opts: RuncExecOptions = {}): ExecStream {
    const child = spawn(
      this.binary,
      ["--root", this.root, "--log-format", "json", "exec", "--process", processFile, "--pid-file", pidFile, ...(opts.cgroup ? ["--cgroup", opts.cgroup] : []), id],
      { stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] },
    );
    // Both are pipes (stdio below); only stdin may be absent.
    const childOut = child.stdout!;
    const childErr = child.stderr!;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    childOut.pipe(stdout, { end: false });
    if (opts.stdin && child.stdin) {
      pipeline(Readable.from(opts.stdin), child.stdin).catch(() => {
        /* the process stopped reading (EPIPE), or the source failed: stdin is closed either way */
      });
    }

    let started = false;
    let checking = false;
    let exited = false;
    const held: Buffer[] = [];
    let errPaused = false;
    const writeErr = (b: Buffer) => {
      if (stderr.destroyed || stderr.write(b) || errPaused) return;
      errPaused = true;
      childErr.pause();
      stderr.once("drain", () => {
        errPaused = false;
        childErr.resume();
      });
    };
    const isStarted = async () => started || (started = await fs.access(pidFile).then(() => true, () => false));
    const watchStart = async () => {
      if (checking) return;
      checking = true;
      while (!exited && !(await isStarted())) await new Promise((r) => setTimeout(r, PID_FILE_POLL_MS));
      checking = false;
      if (started) for (const b of held.splice(0)) writeErr(b);
    };
    // A reader that destroyed a stream no longer wants it: what comes is discarded, so runc
    // is not held up by a full pipe (a kill, not this, is what ends the exec).
    stdout.on("close", () => {
      if (!done) childOut.resume();
    });
    stderr.on("close", () => {
      errPaused = false;
      if (!done) childErr.resume();
    });
    childErr.on("data", (b: Buffer) => {
      if (started && held.length === 0) return writeErr(b);
      held.push(b);
      void watchStart();
    });

    let timedOut = false;
    let killed = false;
    let done = false;
    let settle: (e: ExecExit) => void = () => {};
    const exit = new Promise<ExecExit>((resolve) => (settle = resolve));
    const finish = (e: ExecExit) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      child.stdin?.destroy();
      stdout.end();
      stderr.end();
      settle(e);
    };
    const kill = async () => {
      if (killed || done) return;
      killed = true;
      await opts.killGroup?.().catch(() => {});
      const pid = Number((await fs.readFile(pidFile, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0) {
        // Without a group (or a process that escaped it): the tree by parent pid. A child
        // left behind would keep `runc exec` waiting on its pipes.
        for (const p of await processTree(pid)) {
          try {
            process.kill(p, "SIGKILL");
          } catch {}
        }
      } else child.kill("SIGKILL");
      setTimeout(() => {
        if (done) return;
        child.kill("SIGKILL");
        childOut.unpipe(stdout);
        childOut.destroy();
        childErr.destroy();
        finish({ exitCode: KILLED_EXIT, timedOut });
      }, EXEC_KILL_WAIT_MS).unref();
    };
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            void kill();
          }, opts.timeoutMs)
        : undefined;
    const onAbort = () => void kill();
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });

    child.on("error", (err) => {
      exited = true;
      held.length = 0;
      finish({ exitCode: 126, timedOut, startError: `exec: ${err.message}` });
    });
    child.on("close", (code, sig) => {
      exited = true;
      void (async () => {
        let exitCode = code ?? (sig ? 128 + (signalNumber(sig) ?? 0) : -1);
        if (killed) exitCode = exitCode === 0 ? 0 : KILLED_EXIT;
        if (!(await isStarted()) && !killed && exitCode !== 0) {
          const startError = runcStartError(Buffer.concat(held.splice(0)).toString("utf8"));
          return finish({ exitCode: /no such file|not found/.test(startError) ? 127 : 126, timedOut, startError });
        }
        for (const b of held.splice(0)) writeErr(b);
        finish({ exitCode, timedOut });
      })();
    });
    return { stdout, stderr, exit };
  }
}

