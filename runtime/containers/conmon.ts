import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { internal, unavailable } from "../../lib/errors.js";

/**
 * Starting a container's monitor the way Podman does (libpod/oci_conmon_linux.go):
 * `conmon --api-version 1 ...` with a start pipe (fd 4, `_OCI_STARTPIPE`) and a sync pipe
 * (fd 3, `_OCI_SYNCPIPE`). conmon blocks on the start pipe, double-forks (its first process
 * exits at once, the monitor runs in its own session and survives us), runs
 * `runc create`, and writes one JSON line to the sync pipe: `{"data": <pid>}` on success,
 * `{"data": -1, "message": "<runc stderr>"}` on failure. berth then runs `runc start`.
 *
 * When the container exits, conmon writes the exit status (decimal; 128+signal when
 * killed) atomically to `<exit-dir>/<id>` and `<persist-dir>/exit`, and an empty
 * `<persist-dir>/oom` file when the cgroup's OOM killer fired.
 */

export interface ConmonArgsInput {
  id: string;
  name: string;
  runcPath: string;
  runcRoot: string;
  bundle: string;
  containerPidFile: string;
  conmonPidFile: string;
  exitDir: string;
  persistDir: string;
  logPath: string;
  /** Bytes; <= 0 means unlimited. */
  logSizeMax: number;
  socketDir: string;
  logLevel?: "error" | "warn" | "info" | "debug";
  /**
   * `-t`: conmon listens on a console socket, runc sends it the pty master of the process's
   * terminal (SCM_RIGHTS), and conmon copies the master to the log (as stdout) and to attach
   * clients, and resizes it on `<bundle>/ctl` messages. The OCI process must have `terminal: true`.
   */
  terminal?: boolean;
  /**
   * `-i`: the process's stdin is fed from attach clients (a pipe without a terminal, the
   * master with one). With `leaveStdinOpen` a client that goes away does not close it.
   */
  stdin?: boolean;
  leaveStdinOpen?: boolean;
}

/** The argv of conmon (without argv[0]); pure. */
export function conmonArgs(a: ConmonArgsInput): string[] {
  const args = [
    "--api-version", "1",
    "-c", a.id,
    "-u", a.id,
    "-n", a.name,
    "-r", a.runcPath,
    "-b", a.bundle,
    "-p", a.containerPidFile,
    "--conmon-pidfile", a.conmonPidFile,
    "--exit-dir", a.exitDir,
    "--persist-dir", a.persistDir,
    "--socket-dir-path", a.socketDir,
    // Attach socket in the bundle itself (no symlink in socket-dir-path to clean up).
    "--full-attach",
    "-l", `k8s-file:${a.logPath}`,
    "--log-level", a.logLevel ?? "warn",
    // One argv element per runtime arg; glib splits `--opt=value` at the first '='.
    `--runtime-arg=--root=${a.runcRoot}`,
  ];
  if (a.logSizeMax > 0) args.push("--log-size-max", String(a.logSizeMax));
  if (a.terminal) args.push("--terminal");
  if (a.stdin) args.push("--stdin");
  if (a.stdin && a.leaveStdinOpen) args.push("--leave-stdin-open");
  return args;
}

export type SyncMessage = { pid: number } | { error: string };

/** Parses one line conmon wrote on the sync pipe. */
export function parseSyncMessage(line: string): SyncMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { error: `malformed message from conmon: ${JSON.stringify(line.slice(0, 200))}` };
  }
  const data = (v as { data?: unknown }).data;
  const message = (v as { message?: unknown }).message;
  if (typeof data !== "number" || !Number.isInteger(data)) return { error: `malformed message from conmon: ${JSON.stringify(line.slice(0, 200))}` };
  if (data < 0) return { error: typeof message === "string" && message ? message.trim() : `conmon reported ${data}` };
  return { pid: data };
}

export interface StartConmonInput {
  conmonPath: string;
  args: string[];
  /** conmon's working directory (it writes a relative `oom` file there): the bundle. */
  cwd: string;
  /** conmon's own stderr before it detaches (option errors land here). */
  stderrFile: string;
  conmonPidFile: string;
  timeoutMs: number;
}

export interface ConmonStarted {
  /** Host pid of the container's init process. */
  pid: number;
  /** Pid of the long-lived conmon monitor. */
  conmonPid: number;
}

async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const n = Number((await fs.readFile(file, "utf8")).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs conmon and waits until `runc create` is done. Resolves with the container and
 * monitor pids; throws Internal with runc's message when creation failed, Unavailable on
 * timeout (after killing the monitor). The monitor is detached: it outlives this process.
 */
export async function startConmon(input: StartConmonInput): Promise<ConmonStarted> {
  const errFile = await fs.open(input.stderrFile, "a", 0o600);
  let child;
  try {
    child = spawn(input.conmonPath, input.args, {
      cwd: input.cwd,
      detached: true,
      stdio: ["ignore", errFile.fd, errFile.fd, "pipe", "pipe"],
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4" },
    });
  } finally {
    await errFile.close();
  }
  child.unref();
  const sync = child.stdio[3] as Readable;
  const start = child.stdio[4] as Writable;

  const message = new Promise<SyncMessage>((resolve) => {
    let buf = "";
    sync.setEncoding("utf8");
    sync.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(parseSyncMessage(buf.slice(0, nl)));
    });
    sync.on("error", () => {});
    sync.on("end", () => resolve(buf.trim() ? parseSyncMessage(buf.trim()) : { error: "conmon exited without reporting" }));
    sync.on("close", () => resolve({ error: "conmon exited without reporting" }));
  });
  const parentExit = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", () => resolve(-1));
  });
  start.on("error", () => {});
  // The cgroup of conmon stays ours: nothing to move, so let it proceed at once.
  start.end("0");

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), input.timeoutMs);
  });
  try {
    const first = await Promise.race([message, timeout]);
    const parentCode = await Promise.race([parentExit, timeout]);
    const conmonPid = await readPidFile(input.conmonPidFile);
    if (first === "timeout" || parentCode === "timeout") {
      if (conmonPid) {
        try {
          process.kill(conmonPid, "SIGKILL");
        } catch {}
      }
      throw unavailable(`start conmon: no answer within ${input.timeoutMs}ms`);
    }
    if ("error" in first) {
      const stderr = await fs.readFile(input.stderrFile, "utf8").catch(() => "");
      throw internal(`create container: ${first.error}${stderr.trim() ? ` (conmon: ${stderr.trim().slice(-500)})` : ""}`);
    }
    if (!conmonPid) throw internal("create container: conmon wrote no pid file");
    return { pid: first.pid, conmonPid };
  } finally {
    clearTimeout(timer);
    sync.destroy();
    start.destroy();
  }
}
