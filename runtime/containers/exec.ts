import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { failedPrecondition, invalidArgument } from "../../lib/errors.js";
import type { ExecOptions, ExecResult, ExecStream, ExecStreamOptions } from "../types.js";
import type { RuntimeContext } from "./context.js";
import { createExecGroup } from "./exec-group.js";
import type { OciProcess, OciSpec } from "./oci-types.js";
import { loggedPhaseTimer } from "./options.js";
import type { ContainerRecord } from "./records.js";
import { resolveUserInRootfs } from "./user.js";

/**
 * exec in a running container: `runc exec --process <file>` with the container's own
 * process spec (env, user, cwd, capabilities from its config.json) overridden by the
 * options, in a cgroup of its own under the container's (exec-group.ts) so that a timeout or
 * an abort kills every process it started (runc.ts). FailedPrecondition unless running;
 * InvalidArgument for an empty argv, bad env or a relative workingDir — all before anything
 * runs. The process file, pid file and (when empty) the exec's cgroup are removed once it
 * ended. Not serialized with other operations: an exec may run while the container stops
 * (it then ends with the container).
 */
/**
 * The checks of an exec that need only the container's state and the options, the same for
 * every ContainerRuntime (the fake in runtime/testing/ runs them too): FailedPrecondition
 * unless running; InvalidArgument for an empty argv, bad env or a relative workingDir.
 */
export function validateExecOptions(name: string, running: boolean, options: Pick<ExecOptions, "argv" | "env" | "workingDir">): void {
  if (!running) throw failedPrecondition(`exec in container ${name}: not running`, { object: { kind: "container", name } });
  if (!Array.isArray(options.argv) || options.argv.length === 0 || options.argv.some((a) => typeof a !== "string" || a.includes("\0"))) {
    throw invalidArgument(`exec in container ${name}: argv must be a non-empty list of strings`);
  }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (!k || k.includes("=") || k.includes("\0") || v.includes("\0")) throw invalidArgument(`exec in container ${name}: invalid env ${JSON.stringify(k)}`);
  }
  if (options.workingDir !== undefined && !options.workingDir.startsWith("/")) throw invalidArgument(`exec in container ${name}: workingDir must be absolute`);
}

/**
 * The process spec of an exec: the container's own process (env, user, cwd, capabilities
 * from its config.json) overridden by the options. Same errors as execStreamInContainer.
 */
export async function execProcessSpec(ctx: RuntimeContext, rec: ContainerRecord, options: Pick<ExecStreamOptions, "argv" | "env" | "user" | "workingDir">, terminal: false | { cols?: number; rows?: number }): Promise<OciProcess> {
  validateExecOptions(rec.name, rec.status === "running", options);
  const config = JSON.parse(await fs.readFile(path.join(ctx.bundleDir(rec.id), "config.json"), "utf8")) as OciSpec;
  const env = new Map(config.process.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as const));
  for (const [k, v] of Object.entries(options.env ?? {})) env.set(k, v);
  // docker exec -t sets TERM when the container's environment has none.
  if (terminal && !env.has("TERM")) env.set("TERM", "xterm");
  let user = config.process.user;
  if (options.user !== undefined) {
    const u = await resolveUserInRootfs(config.root.path, options.user);
    user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
  }
  const cwd = options.workingDir ?? config.process.cwd;
  if (!cwd.startsWith("/")) throw invalidArgument(`exec in container ${rec.name}: workingDir must be absolute`);
  const { consoleSize: _, ...base } = config.process;
  return {
    ...base,
    terminal: terminal !== false,
    // runc sizes the terminal before the process runs (no first-prompt redraw needed).
    ...(terminal && terminal.cols && terminal.rows ? { consoleSize: { width: terminal.cols, height: terminal.rows } } : {}),
    user,
    args: options.argv,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd,
  };
}

export const execPhaseTimer = (ctx: RuntimeContext, name: string) => loggedPhaseTimer(ctx, "exec", name);

export async function execStreamInContainer(ctx: RuntimeContext, rec: ContainerRecord, options: ExecStreamOptions): Promise<ExecStream> {
  const { id } = rec;
  const t = execPhaseTimer(ctx, rec.name);
  const bundle = ctx.bundleDir(id);
  const proc = await execProcessSpec(ctx, rec, options, false);
  t.mark("process spec");
  const tag = randomBytes(6).toString("hex");
  const processFile = path.join(bundle, `exec-${tag}.json`);
  const pidFile = path.join(bundle, `exec-${tag}.pid`);
  await fs.writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
  t.mark("process file");
  const group = await createExecGroup(rec.cgroupsPath, `exec-${tag}`);
  t.mark("cgroup");
  const s = ctx.runc.execStream(id, processFile, pidFile, {
    ...(group.runcArg ? { cgroup: group.runcArg } : {}),
    ...(options.stdin ? { stdin: options.stdin } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    killGroup: () => group.kill(),
  });
  const exit = s.exit.then(async (e) => {
    t.mark("runc exec");
    // A kill raced with a fork, or runc was given up on: make sure nothing of it is left.
    if (e.timedOut || options.signal?.aborted) await group.kill();
    await group.remove();
    await fs.rm(processFile, { force: true });
    await fs.rm(pidFile, { force: true });
    t.mark("cleanup");
    t.done();
    return e;
  });
  return { stdout: s.stdout, stderr: s.stderr, exit };
}

/** The first `max` bytes of a stream, read to its end (what is over the cap is discarded). */
async function capture(stream: Readable, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (n < max) parts.push(chunk.subarray(0, max - n));
    n += chunk.length;
  }
  return Buffer.concat(parts);
}

/**
 * The buffered exec (health probes) on top of the stream: stdout and stderr each captured
 * up to `maxOutputBytes` (default the runtime's `execMaxOutputBytes`) and decoded as UTF-8;
 * a start failure's reason is stderr's first line. Same errors as execStreamInContainer; a
 * timeout or abort resolves (exit code 137, `timedOut` on timeout) rather than rejecting.
 */
export async function execInContainer(ctx: RuntimeContext, rec: ContainerRecord, options: ExecOptions): Promise<ExecResult> {
  const { maxOutputBytes, ...rest } = options;
  const max = maxOutputBytes ?? ctx.opts.execMaxOutputBytes;
  const s = await execStreamInContainer(ctx, rec, rest);
  const [stdout, stderr] = await Promise.all([capture(s.stdout, max), capture(s.stderr, max)]);
  const e = await s.exit;
  const err = e.startError ? Buffer.concat([Buffer.from(`${e.startError}\n`), stderr]).subarray(0, max) : stderr;
  return { exitCode: e.exitCode, stdout: stdout.toString("utf8"), stderr: err.toString("utf8"), timedOut: e.timedOut };
}
