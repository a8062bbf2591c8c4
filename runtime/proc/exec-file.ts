/**
 * How the runtime runs a program to completion (ip, mount, sync, runc's short commands,
 * iptables-restore, ps, du, git): `execFile` with an argv array — never a shell — its output
 * collected, stdin given as `input` or /dev/null. The callback has node:child_process's
 * execFile shape (an error with `code`, `signal`, `killed`; stdout and stderr as text).
 *
 * Where it forks: in this process, or — once `startSpawnHelper` ran (the daemon does, at
 * start) — in a small helper process (spawn-helper.ts) that is sent each request over IPC.
 * A fork copies the forking process's page tables, so from the daemon it holds the event loop
 * for about a millisecond per 25 MB resident, on every call; from the helper it costs the
 * daemon one message. If the helper dies, its pending calls fail (as a killed child would)
 * and the next call starts a new one; when it cannot be started, calls run in-process.
 * Programs that need their stdio streamed or extra file descriptors (conmon, runc exec,
 * probes) are spawned directly, not through here.
 */
import { execFile as nodeExecFile, fork, type ChildProcess } from "node:child_process";
import { builtSibling } from "../../lib/built-script.js";
import type { SpawnReply, SpawnRequest } from "./spawn-protocol.js";

export interface ExecFileOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (`killSignal`, default SIGTERM) after this long; 0 or absent: no limit. */
  timeout?: number;
  /** Bytes of stdout or stderr at most (default 1 MiB); beyond, the program is killed. */
  maxBuffer?: number;
  killSignal?: NodeJS.Signals;
  /** Given on stdin, which is then closed. */
  input?: string | Uint8Array;
}

export type ExecFileError = Error & { code?: number | string; signal?: NodeJS.Signals | null; killed?: boolean; cmd?: string };
export type ExecFileCallback = (err: ExecFileError | null, stdout: string, stderr: string) => void;

const DEFAULT_MAX_BUFFER = 1 << 20;

export function execFile(file: string, args: readonly string[], options: ExecFileOptions, callback: ExecFileCallback): void {
  const h = helper.current();
  if (h) h.run(file, args, options, callback);
  else runHere(file, args, options, callback);
}

/** The promise form: stdout and stderr, or the error (with `stdout` and `stderr` on it). */
export function execFileText(file: string, args: readonly string[], options: ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, options, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

function runHere(file: string, args: readonly string[], o: ExecFileOptions, callback: ExecFileCallback): void {
  const child = nodeExecFile(
    file,
    [...args],
    {
      ...(o.cwd ? { cwd: o.cwd } : {}),
      ...(o.env ? { env: o.env } : {}),
      timeout: o.timeout ?? 0,
      maxBuffer: o.maxBuffer ?? DEFAULT_MAX_BUFFER,
      killSignal: o.killSignal ?? "SIGTERM",
    },
    (err, stdout, stderr) => callback(err as ExecFileError | null, String(stdout), String(stderr)),
  );
  child.stdin?.on("error", () => {}); // a program that exits without reading its input
  child.stdin?.end(o.input ?? "");
}

/** An error shaped as node's execFile gives it. */
function failure(file: string, args: readonly string[], r: SpawnReply, stderr: string): ExecFileError {
  if (r.spawnError) return Object.assign(new Error(r.spawnError.message), { code: r.spawnError.code ?? "ESPAWN", cmd: [file, ...args].join(" ") });
  const e: ExecFileError = new Error(r.maxBufferExceeded ? "stdout or stderr maxBuffer length exceeded" : `Command failed: ${[file, ...args].join(" ")}\n${stderr}`);
  e.code = r.maxBufferExceeded ? "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" : (r.code ?? undefined);
  e.signal = (r.signal as NodeJS.Signals | null) ?? null;
  e.killed = r.killed;
  e.cmd = [file, ...args].join(" ");
  return e;
}

interface Pending {
  file: string;
  args: readonly string[];
  callback: ExecFileCallback;
}

/** One spawn helper process and the calls waiting for its answers. */
class SpawnHelper {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead = false;

  constructor(private readonly child: ChildProcess) {
    child.on("message", (r: SpawnReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      this.idleCheck();
      const stdout = Buffer.from(r.stdout).toString();
      const stderr = Buffer.from(r.stderr).toString();
      const ok = !r.spawnError && r.code === 0 && !r.killed && !r.maxBufferExceeded;
      p.callback(ok ? null : failure(p.file, p.args, r, stderr), stdout, stderr);
    });
    const gone = (why: string) => {
      if (this.dead) return;
      this.dead = true;
      for (const [, p] of this.pending) {
        p.callback(Object.assign(new Error(`run ${p.file}: the spawn helper ${why}`), { code: "ESPAWNHELPER", cmd: [p.file, ...p.args].join(" ") }), "", "");
      }
      this.pending.clear();
    };
    child.on("exit", (code, signal) => gone(`exited (${signal ?? code})`));
    child.on("error", (err) => gone(`failed: ${err.message}`));
    this.idleCheck();
  }

  get alive(): boolean {
    return !this.dead;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(file: string, args: readonly string[], o: ExecFileOptions, callback: ExecFileCallback): void {
    const id = this.nextId++;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.env ?? process.env)) if (v !== undefined) env[k] = v;
    const req: SpawnRequest = {
      id,
      file,
      args: [...args],
      env,
      timeoutMs: o.timeout ?? 0,
      maxBuffer: o.maxBuffer ?? DEFAULT_MAX_BUFFER,
      killSignal: o.killSignal ?? "SIGTERM",
      ...(o.cwd ? { cwd: o.cwd } : {}),
      ...(o.input !== undefined && o.input.length > 0 ? { input: typeof o.input === "string" ? Buffer.from(o.input) : o.input } : {}),
    };
    this.pending.set(id, { file, args, callback });
    this.idleCheck();
    try {
      this.child.send(req);
    } catch {
      // The channel closed just now (the helper is going away): this one runs here.
      this.pending.delete(id);
      this.idleCheck();
      runHere(file, args, o, callback);
    }
  }

  /** Keeps the daemon alive while calls are pending, not otherwise. */
  private idleCheck(): void {
    const channel = this.child.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (this.pending.size > 0) {
      this.child.ref();
      channel?.ref?.();
    } else {
      this.child.unref();
      channel?.unref?.();
    }
  }

  stop(): void {
    this.dead = true;
    this.child.kill("SIGTERM");
  }
}

/** `spawn-helper.js` beside this module when this module is the built one; else undefined. */
export function defaultSpawnHelperScript(): string | undefined {
  return builtSibling(import.meta.url, "spawn-helper.js");
}

/** Helpers that died before calls stop being sent to a new one (they run in-process instead). */
const MAX_HELPER_DEATHS = 3;

const helper = new (class {
  private h: SpawnHelper | undefined;
  private script: string | undefined;
  private deaths = 0;

  current(): SpawnHelper | undefined {
    if (this.h && !this.h.alive && this.script) {
      this.h = ++this.deaths < MAX_HELPER_DEATHS ? launch(this.script) : undefined;
      if (!this.h) this.script = undefined;
    }
    return this.h?.alive ? this.h : undefined;
  }

  start(script: string): SpawnHelper | undefined {
    this.script = script;
    this.deaths = 0;
    this.h?.stop();
    this.h = launch(script);
    return this.h;
  }

  stop(): void {
    this.script = undefined;
    this.h?.stop();
    this.h = undefined;
  }
})();

function launch(script: string): SpawnHelper | undefined {
  try {
    const child = fork(script, [], {
      execArgv: ["--max-old-space-size=64", "--max-semi-space-size=2"],
      serialization: "advanced",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    return new SpawnHelper(child);
  } catch {
    return undefined;
  }
}

/**
 * Runs every later `execFile` of this process through a spawn helper started now (the
 * built `spawn-helper.js`, or `script`). Returns its pid, or undefined when there is no
 * script (running from the TypeScript sources) and calls stay in-process.
 */
export function startSpawnHelper(script: string | undefined = defaultSpawnHelperScript()): number | undefined {
  if (!script) return undefined;
  return helper.start(script)?.pid;
}

/** Stops the helper; later calls run in-process. */
export function stopSpawnHelper(): void {
  helper.stop();
}

/** The helper's pid while one runs (tests). */
export function spawnHelperPid(): number | undefined {
  return helper.current()?.pid;
}
