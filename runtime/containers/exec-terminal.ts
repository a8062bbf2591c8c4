import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Readable, Writable } from "node:stream";
import type { ExecExit, ExecTerminal, ExecTerminalOptions } from "../types.js";
import { connectAttachSocket } from "./attach-socket.js";
import type { RuntimeContext } from "./context.js";
import { execProcessSpec } from "./exec.js";
import { createExecGroup } from "./exec-group.js";
import type { ContainerRecord } from "./records.js";
import { runcStartError } from "./runc.js";

/**
 * `exec -t`: the process runs on a pseudo-terminal that runc makes in the container (its
 * /dev/pts), as Podman does it (libpod/oci_conmon_exec_linux.go): berth runs
 *
 *   conmon --exec --exec-process-spec <file> --terminal --exec-attach --sync ...
 *          --runtime-opt=--cgroup=<exec group>
 *
 * conmon listens on a console socket, runc (`exec --detach --tty --console-socket`) sends
 * it the pty master over SCM_RIGHTS, and conmon relays the master to its attach socket and
 * applies resizes from its ctl FIFO (attach-socket.ts). Node cannot receive a file
 * descriptor over a unix socket; conmon, already berth's shim, does it in C, so no helper
 * of berth's own handles fds.
 *
 * Order (conmon.c): berth writes the start pipe; conmon makes `<dir>/attach` and says so on
 * the attach pipe (`_OCI_ATTACHPIPE`); berth connects, then writes the start pipe again, and
 * only then does conmon run `runc exec` — no output is written before berth is attached.
 * The sync pipe then carries `{"data": <pid>}` and, when the process ended, `{"data":
 * <status>}` (128+n for a signal). A process that could not be started has no pid file:
 * conmon ends without a pid and the reason is in runc's JSON log (127/126 as execStream).
 *
 * The exec's directory `<run-root>/exec/<tag>` (conmon's bundle: attach, ctl, winsz, pid
 * file, runc log) and process file are removed once it ended. Its cgroup is exec-group.ts's:
 * a timeout or abort kills every process the exec started, then conmon.
 */

const KILLED_EXIT = 128 + 9;
const KILL_WAIT_MS = 2000;

interface SyncReader {
  next(): Promise<unknown | undefined>;
}

/** Reads the JSON lines of a pipe one at a time; undefined once it ended. */
function syncReader(stream: Readable): SyncReader {
  const lines: string[] = [];
  const waiters: ((v: string | undefined) => void)[] = [];
  let buf = "";
  let ended = false;
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const end = () => {
    ended = true;
    for (const w of waiters.splice(0)) w(undefined);
  };
  stream.on("end", end);
  stream.on("close", end);
  stream.on("error", end);
  return {
    next: () =>
      new Promise<unknown | undefined>((resolve) => {
        const parse = (l: string | undefined) => {
          if (l === undefined) return resolve(undefined);
          try {
            resolve(JSON.parse(l));
          } catch {
            resolve({ malformed: l });
          }
        };
        if (lines.length) parse(lines.shift());
        else if (ended) resolve(undefined);
        else waiters.push(parse);
      }),
  };
}

function dataOf(msg: unknown): number | undefined {
  const d = (msg as { data?: unknown } | undefined)?.data;
  return typeof d === "number" && Number.isInteger(d) ? d : undefined;
}

export async function execTerminalInContainer(ctx: RuntimeContext, rec: ContainerRecord, options: ExecTerminalOptions): Promise<ExecTerminal> {
  const { id } = rec;
  const proc = await execProcessSpec(ctx, rec, options, options.size ?? {});
  const tag = randomBytes(6).toString("hex");
  const dir = path.join(ctx.runRoot, "exec", tag);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const processFile = path.join(dir, "process.json");
  const pidFile = path.join(dir, "pid");
  const runcLog = path.join(dir, "runc.log");
  await fs.writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
  const group = await createExecGroup(rec.cgroupsPath, `exec-${tag}`);
  const cleanup = async () => {
    await group.remove();
    await fs.rm(dir, { recursive: true, force: true });
  };

  const args = [
    "--api-version", "1",
    "-c", id,
    "-u", tag,
    "-n", `${rec.name}-exec-${tag}`,
    "-r", ctx.opts.runcPath,
    "-b", dir,
    "-p", pidFile,
    "--exit-dir", dir,
    "--socket-dir-path", dir,
    "--full-attach",
    // The terminal's output goes to the client only (an exec is not the container's log).
    "-l", "none",
    "--log-level", "warn",
    "--exec",
    "--exec-process-spec", processFile,
    "--exec-attach",
    "--terminal",
    "--sync",
    `--runtime-arg=--root=${ctx.runc.root}`,
    `--runtime-arg=--log=${runcLog}`,
    "--runtime-arg=--log-format=json",
    ...(group.runcArg ? [`--runtime-opt=--cgroup=${group.runcArg}`] : []),
  ];
  const child = spawn(ctx.opts.conmonPath, args, {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe", "pipe"],
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4", _OCI_ATTACHPIPE: "5" },
  });
  const conmonErr: Buffer[] = [];
  (child.stdio[2] as Readable).on("data", (b: Buffer) => conmonErr.push(b));
  const sync = syncReader(child.stdio[3] as Readable);
  const start = child.stdio[4] as Writable;
  const attachPipe = syncReader((child.stdio as unknown as Readable[])[5]!);
  start.on("error", () => {});
  const conmonExited = new Promise<void>((resolve) => {
    child.on("exit", () => resolve());
    child.on("error", () => resolve());
  });

  const fail = async (reason: string): Promise<never> => {
    child.kill("SIGKILL");
    await group.kill();
    await conmonExited;
    await cleanup();
    const err = Buffer.concat(conmonErr).toString("utf8").trim();
    throw new Error(`exec in container ${rec.name}: ${reason}${err ? ` (conmon: ${err.slice(-300)})` : ""}`);
  };

  start.write("0");
  const ready = await attachPipe.next();
  if (dataOf(ready) !== 0) await fail("conmon did not set up its attach socket");
  const conn = await connectAttachSocket(dir, `exec in ${rec.name}`).catch((err: Error) => fail(err.message));
  if (options.size) await conn.resize(options.size.cols, options.size.rows);
  // What runc says (start errors) comes on stderr packets; the reason is read from its log.
  conn.stderr.resume();
  start.end("0");

  let timedOut = false;
  let killed = false;
  const kill = async () => {
    if (killed) return;
    killed = true;
    await group.kill();
    const pid = Number((await fs.readFile(pidFile, "utf8").catch(() => "")).trim());
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    setTimeout(() => child.kill("SIGKILL"), KILL_WAIT_MS).unref();
  };
  const timer = options.timeoutMs !== undefined ? setTimeout(() => ((timedOut = true), void kill()), options.timeoutMs) : undefined;
  const onAbort = () => void kill();
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  if (options.stdin) {
    const stdin = options.stdin;
    void (async () => {
      try {
        for await (const chunk of stdin) conn.write(chunk);
      } catch {
        /* the client went away: the abort signal ends the exec */
      }
    })();
  }

  const exit = (async (): Promise<ExecExit> => {
    const first = await sync.next();
    const pid = dataOf(first);
    let e: ExecExit;
    if (pid === undefined || pid <= 0) {
      const msg = (first as { message?: unknown } | undefined)?.message;
      const startError = runcStartError(await fs.readFile(runcLog, "utf8").catch(() => (typeof msg === "string" ? msg : "")));
      e = { exitCode: /no such file|not found/.test(startError) ? 127 : 126, timedOut, startError };
    } else {
      const status = dataOf(await sync.next());
      e = { exitCode: killed ? KILLED_EXIT : (status ?? KILLED_EXIT), timedOut };
    }
    await Promise.race([conn.closed, conmonExited.then(() => new Promise((r) => setTimeout(r, 200)))]);
    conn.close();
    await conmonExited;
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    if (timedOut || options.signal?.aborted) await group.kill();
    await cleanup();
    return e;
  })();
  return { output: conn.stdout, resize: (s) => conn.resize(s.cols, s.rows), exit };
}
