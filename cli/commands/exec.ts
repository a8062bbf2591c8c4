import { formatDuration } from "../../lib/units.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { parseTimeout } from "../manifest-args.js";

export interface ExecOptions {
  env: string[];
  user?: string;
  workdir?: string;
  timeout?: string;
}

/** Exit code of a command that ran out of time (as GNU timeout). */
export const EXEC_TIMEOUT_EXIT = 124;

/** `--env K=V` (repeatable) → a map; `--env K` takes K from this process's environment (docker). */
export function parseEnv(list: string[], environ: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf("=");
    const key = i < 0 ? item : item.slice(0, i);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`invalid --env ${JSON.stringify(item)}: expected NAME=VALUE`);
    if (i >= 0) env[key] = item.slice(i + 1);
    else if (environ[key] !== undefined) env[key] = environ[key]!;
  }
  return env;
}

/**
 * `berth exec NAME -- CMD [ARGS...]`: runs a command in the running container, prints what
 * it wrote (stdout, then stderr) and exits with its exit code, as docker exec does; 124 on
 * timeout.
 */
export async function runExec(ctx: CommandContext, name: string, argv: string[], o: ExecOptions): Promise<number> {
  if (argv.length === 0) throw new UsageError("no command given; usage: berth exec NAME -- CMD [ARGS...]");
  const env = parseEnv(o.env);
  // (the API takes whole milliseconds: `1.5ms` waits 2)
  const timeoutMs = o.timeout === undefined ? undefined : Math.ceil(parseTimeout(o.timeout));
  const res = await ctx.client.exec(name, {
    argv,
    ...(Object.keys(env).length ? { env } : {}),
    ...(o.user ? { user: o.user } : {}),
    ...(o.workdir ? { workingDir: o.workdir } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  if (res.stdout) ctx.stdout.write(res.stdout);
  if (res.stderr) ctx.stderr.write(res.stderr);
  if (res.timedOut) {
    ctx.stderr.write(`berth: exec in ${name}: ${argv[0]} timed out${timeoutMs !== undefined ? ` after ${formatDuration(timeoutMs)}` : ""}\n`);
    return EXEC_TIMEOUT_EXIT;
  }
  return res.exitCode;
}
