import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { failedPrecondition, invalidArgument } from "../../lib/errors.js";
import type { ExecOptions, ExecResult } from "../types.js";
import type { RuntimeContext } from "./context.js";
import type { OciProcess, OciSpec } from "./oci-types.js";
import type { ContainerRecord } from "./records.js";
import { resolveUserInRootfs } from "./user.js";

/**
 * exec in a running container: `runc exec --process <file>` with the container's own
 * process spec (env, user, cwd, capabilities from its config.json) overridden by the
 * options. FailedPrecondition unless running; InvalidArgument for an empty argv, bad env
 * or a relative workingDir. A timeout or an abort kills the exec'd process and resolves
 * (exit code 128+signal, `timedOut` on timeout) rather than rejecting. The process file
 * and pid file are removed afterwards. Not serialized with other operations: an exec may
 * run while the container stops (it then ends with the container).
 */
export async function execInContainer(ctx: RuntimeContext, rec: ContainerRecord, options: ExecOptions): Promise<ExecResult> {
  const { id } = rec;
  if (rec.status !== "running") throw failedPrecondition(`exec in container ${rec.name}: not running`, { object: { kind: "container", name: rec.name } });
  if (!Array.isArray(options.argv) || options.argv.length === 0 || options.argv.some((a) => typeof a !== "string" || a.includes("\0"))) {
    throw invalidArgument(`exec in container ${rec.name}: argv must be a non-empty list of strings`);
  }
  const bundle = ctx.bundleDir(id);
  const config = JSON.parse(await fs.readFile(path.join(bundle, "config.json"), "utf8")) as OciSpec;
  const env = new Map(config.process.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as const));
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (!k || k.includes("=") || k.includes("\0") || v.includes("\0")) throw invalidArgument(`exec in container ${rec.name}: invalid env ${JSON.stringify(k)}`);
    env.set(k, v);
  }
  let user = config.process.user;
  if (options.user !== undefined) {
    const u = await resolveUserInRootfs(config.root.path, options.user);
    user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
  }
  const cwd = options.workingDir ?? config.process.cwd;
  if (!cwd.startsWith("/")) throw invalidArgument(`exec in container ${rec.name}: workingDir must be absolute`);
  const proc: OciProcess = {
    ...config.process,
    terminal: false,
    user,
    args: options.argv,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd,
  };
  const tag = randomBytes(6).toString("hex");
  const processFile = path.join(bundle, `exec-${tag}.json`);
  const pidFile = path.join(bundle, `exec-${tag}.pid`);
  await fs.writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
  try {
    return await ctx.runc.exec(id, processFile, pidFile, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      maxOutputBytes: options.maxOutputBytes ?? ctx.opts.execMaxOutputBytes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await fs.rm(processFile, { force: true });
    await fs.rm(pidFile, { force: true });
  }
}
