import * as path from "node:path";
import pino from "pino";
import { startDaemon, type Daemon } from "../../controller/daemon.js";
import type { ContainerStatusView } from "../../controller/api/protocol.js";
import { errorMessage } from "../../lib/errors.js";
import { processContext, type CommandContext } from "../client.js";
import { paint } from "../style.js";
import { berthVersion } from "./daemon.js";
import { readForApply, reportDiagnostics, runApply, type ApplyOptions } from "./apply.js";

export interface UpOptions {
  filename: string[];
  recursive: boolean;
  stack?: string;
  timeout: string;
  allowPrivileged: boolean;
  /** Print only the daemon's warnings and the progress, not the containers' logs. */
  detachLogs: boolean;
}

/**
 * `berth up`: a daemon in the foreground with these manifests applied (Compose's `up`):
 * applies them (pruning the stack to exactly these objects), shows progress until every
 * object is ready, then streams the stack's container logs prefixed with their names and
 * the controller's warnings. Ctrl-C (or SIGTERM) stops the stack's containers and the
 * daemon; a second Ctrl-C exits at once. Exit 1 when the manifests are invalid or the stack
 * does not become ready in time (the stack keeps running until Ctrl-C).
 */
export async function runUp(g: { root: string; runRoot: string; socket?: string }, o: UpOptions): Promise<number> {
  const startedAt = Date.now();
  const socket = g.socket ?? path.join(g.runRoot, "berth.sock");
  const logger = pino({ level: process.env.BERTH_LOG_LEVEL ?? "warn" }, pino.destination(2));
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      root: g.root,
      runRoot: g.runRoot,
      socketPath: socket,
      logger,
      version: berthVersion(),
      allowPrivileged: o.allowPrivileged,
      // as `berth daemon --cgroup-parent`
      ...(process.env.BERTH_CGROUP_PARENT ? { cgroupParent: process.env.BERTH_CGROUP_PARENT } : {}),
    });
  } catch (err) {
    process.stderr.write(`berth: start daemon: ${errorMessage(err)}\n`);
    return 6;
  }
  const ctx = processContext({ runRoot: g.runRoot, socket });
  const stop = ctx.interrupt();
  const color = paint(process.stdout);
  let code = 0;
  let stack: string | undefined;
  try {
    const input = await readForApply(ctx, o);
    if (!input) return 1;
    // Invalid manifests end `up` at once (a stack that is only slow to get ready keeps running).
    const check = await ctx.client.apply({ stack: input.stack, files: input.texts, prune: true, dryRun: true, allowPrivileged: o.allowPrivileged });
    if (reportDiagnostics(ctx, check)) return 1;
    stack = input.stack;
    const apply: ApplyOptions = { ...o, stack, prune: true, dryRun: false, wait: true, pollMs: 200 };
    code = await runApply(ctx, apply);
    if (stop.aborted) return 130;
    process.stdout.write(
      code === 0
        ? color.green(`\nstack ${stack} is up: Ctrl-C stops it; \`berth --run-root ${g.runRoot} get\` from another terminal\n\n`)
        : color.yellow(`\nstack ${stack} is not ready (see above); it keeps running until Ctrl-C\n\n`),
    );
    await Promise.all([streamLogs(ctx, stack, o.detachLogs, stop, startedAt - 1000), streamWarnings(ctx, stop)]);
    return code;
  } finally {
    if (stack) await stopStack(ctx, stack).catch((err) => process.stderr.write(`berth: stop stack ${stack}: ${errorMessage(err)}\n`));
    await daemon.stop();
  }
}

/**
 * Follows the logs of the stack's containers (also those started later), `name | line`:
 * everything written since `since` (`up`'s start: a container's first line can precede its
 * recorded start time by a few milliseconds, so that is not the bound).
 */
async function streamLogs(ctx: CommandContext, stack: string, quiet: boolean, signal: AbortSignal, since: number): Promise<void> {
  if (quiet) return new Promise((r) => signal.addEventListener("abort", () => r(), { once: true }));
  const following = new Map<string, string>(); // name → container id being followed
  const colors = ["cyan", "magenta", "blue", "green", "yellow"] as const;
  const codes = { cyan: 36, magenta: 35, blue: 34, green: 32, yellow: 33 };
  const tty = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  let n = 0;
  const tasks: Promise<void>[] = [];
  while (!signal.aborted) {
    const views = await ctx.client.list("Container").catch(() => []);
    for (const v of views) {
      if (v.metadata.stack !== stack) continue;
      const id = (v.status as ContainerStatusView).containerId;
      if (!id || following.get(v.metadata.name) === id) continue;
      following.set(v.metadata.name, id);
      const c = codes[colors[n++ % colors.length]!];
      const prefix = tty ? `\u001b[${c}m${v.metadata.name} |\u001b[39m ` : `${v.metadata.name} | `;
      tasks.push(
        (async () => {
          try {
            for await (const line of ctx.client.logs(v.metadata.name, { follow: true, since }, signal)) {
              (line.stream === "stderr" ? process.stderr : process.stdout).write(`${prefix}${line.text}\n`);
            }
          } catch {
            /* the container went away or we are stopping: the next poll follows its successor */
          }
          if (following.get(v.metadata.name) === id) following.delete(v.metadata.name);
        })(),
      );
    }
    await ctx.clock.sleep(1000, signal).catch(() => {});
  }
  await Promise.allSettled(tasks);
}

/** Prints the controller's warnings (back-offs, unhealthy, failures) as they happen. */
async function streamWarnings(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  const color = paint(process.stderr);
  const since = Date.now() - 2000; // the backlog before that was shown by apply's progress display
  try {
    for await (const e of ctx.client.watchEvents(signal)) {
      if (e.type === "Warning" && Date.parse(e.time) > since) process.stderr.write(color.yellow(`${e.object}: ${e.reason}: ${e.message}\n`));
    }
  } catch {
    /* stopping */
  }
}

async function stopStack(ctx: CommandContext, stack: string): Promise<void> {
  const views = (await ctx.client.list("Container")).filter((v) => v.metadata.stack === stack);
  if (!views.length) return;
  process.stdout.write(`\nstopping stack ${stack}...\n`);
  await Promise.all(
    views.map(async (v) => {
      if ((v.status as ContainerStatusView).phase === "Running" || (v.status as ContainerStatusView).phase === "Restarting") {
        await ctx.client.act(v.metadata.name, "stop");
        process.stdout.write(`container/${v.metadata.name} stopped\n`);
      }
    }),
  );
}
