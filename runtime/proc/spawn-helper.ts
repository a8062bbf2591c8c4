/**
 * The spawn helper: a small Node process the daemon starts once (exec-file.ts) and asks, over
 * its IPC channel, to run programs — ip, mount, runc, iptables-restore, git. fork() copies the
 * page tables of the process that forks, so a fork from the daemon (100+ MB resident) holds
 * its event loop for milliseconds each time, dozens of times per container start; from this
 * process (about 40 MB, nothing else to do) it costs a fraction of that, and off the daemon's
 * thread. It runs what it is sent exactly (argv arrays, never a shell) and answers each
 * request with the exit status and the output; it exits when the daemon goes away.
 */
import { spawn } from "node:child_process";
import type { SpawnReply, SpawnRequest } from "./spawn-protocol.js";

if (!process.send) throw new Error("spawn-helper.js runs only as a child process with an IPC channel");

const reply = (r: SpawnReply) => process.send!(r);

function run(req: SpawnRequest): void {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let killed = false;
  let maxBufferExceeded = false;
  let spawnError: SpawnReply["spawnError"];
  let child;
  try {
    child = spawn(req.file, req.args, {
      ...(req.cwd ? { cwd: req.cwd } : {}),
      ...(req.env ? { env: req.env } : {}),
      stdio: [req.input ? "pipe" : "ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const x = e as NodeJS.ErrnoException;
    reply({ id: req.id, code: null, signal: null, stdout: new Uint8Array(), stderr: new Uint8Array(), killed: false, maxBufferExceeded: false, spawnError: { ...(x.code ? { code: x.code } : {}), message: x.message } });
    return;
  }
  const kill = () => {
    killed = true;
    child.kill(req.killSignal as NodeJS.Signals);
  };
  const timer = req.timeoutMs > 0 ? setTimeout(kill, req.timeoutMs) : undefined;
  /** Keeps a stream's chunks, up to maxBuffer bytes of it; past that the program is killed. */
  const collect = (list: Buffer[]) => {
    let bytes = 0;
    return (c: Buffer) => {
      if (maxBufferExceeded) return;
      bytes += c.length;
      if (bytes > req.maxBuffer) {
        maxBufferExceeded = true;
        kill();
        return;
      }
      list.push(c);
    };
  };
  child.stdout!.on("data", collect(out));
  child.stderr!.on("data", collect(err));
  child.on("error", (e: NodeJS.ErrnoException) => {
    spawnError = { ...(e.code ? { code: e.code } : {}), message: e.message };
  });
  if (req.input && child.stdin) {
    child.stdin.on("error", () => {}); // a program that exits without reading its input
    child.stdin.end(Buffer.from(req.input));
  }
  child.on("close", (code, signal) => {
    if (timer) clearTimeout(timer);
    reply({
      id: req.id,
      code: spawnError ? null : code,
      signal,
      stdout: Buffer.concat(out),
      stderr: Buffer.concat(err),
      killed,
      maxBufferExceeded,
      ...(spawnError ? { spawnError } : {}),
    });
  });
}

process.on("message", (m: SpawnRequest) => run(m));
// The daemon is gone (or closed the channel): nothing more will be asked.
process.on("disconnect", () => process.exit(0));
