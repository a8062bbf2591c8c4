import * as path from "node:path";
import pino from "pino";
import { ApiClient } from "../../controller/api/client.js";
import type { ContainerStatusView } from "../../controller/api/protocol.js";
import { startDaemon, type Daemon } from "../../controller/daemon.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import { errorMessage } from "../../lib/errors.js";
import type { CommandContext } from "../client.js";
import { safeOutput } from "../safe-output.js";
import { handleStopSignals, signalExitCode, type StopSignal } from "../stop-signals.js";
import { paint } from "../style.js";
import { berthVersion } from "./daemon.js";
import { readForApply, reportDiagnostics, runApply, type ApplyOptions } from "./apply.js";

export interface UpOptions {
  filename: string[];
  recursive: boolean;
  stack?: string;
  /** Compose's `-p` (an alias of --stack for Compose files). */
  projectName?: string;
  /** Compose profiles to enable. */
  profile?: string[];
  timeout: string;
  allowPrivileged: boolean;
  allowHostBinds?: boolean;
  /** Print only the daemon's warnings and the progress, not the containers' logs. */
  detachLogs: boolean;
}

/**
 * `berth up`: a daemon in the foreground with these manifests applied (Compose's `up`):
 * applies them (pruning the stack to exactly these objects), shows progress until every
 * object is ready, then streams the stack's container logs prefixed with their names and
 * the controller's warnings, until a signal.
 *
 * Signals: the first SIGINT, SIGTERM or SIGHUP stops the stack's containers and the daemon,
 * then `up` exits 128+signal (130, 143, 129), whether it came during start-up, apply or
 * logs. A second SIGINT or SIGTERM exits at once and leaves the containers running (said on
 * stderr); a later SIGHUP changes nothing. Output: stdout and stderr may go away at any time
 * (`up | tee log` and tee exits first, a closed terminal); from then on `up` writes nothing
 * there and carries on, so a broken pipe never leaves the stack running unmanaged.
 *
 * Without a signal: 6 when the daemon cannot start, 1 when the manifests are invalid (nothing
 * is started). A stack that does not become ready in time keeps running until the signal.
 */
export async function runUp(g: { root: string; runRoot: string; socket?: string }, o: UpOptions): Promise<number> {
  const startedAt = Date.now();
  const socket = g.socket ?? path.join(g.runRoot, "berth.sock");
  const stdout = safeOutput(process.stdout);
  const stderr = safeOutput(process.stderr);
  const up: { stack?: string } = {};
  const stop = handleStopSignals({
    onFirst: (sig) => stderr.write(`\nberth: ${sig}: stopping${up.stack ? ` stack ${up.stack}` : ""}; a second SIGINT or SIGTERM exits at once and leaves it running\n`),
    onForce: (sig) => {
      stderr.write(`berth: ${sig} again: exiting without stopping${up.stack ? ` stack ${up.stack}` : " the stack"}; its containers keep running\n`);
      process.exit(signalExitCode(sig));
    },
  });
  const exitCode = (code: number) => {
    const sig: StopSignal | undefined = stop.received();
    return sig ? signalExitCode(sig) : code;
  };
  try {
    // pino drops its lines itself on EPIPE; any other failure of stderr (EIO once the
    // terminal is gone) only loses log lines too.
    const logDestination = pino.destination(2);
    logDestination.on("error", () => {});
    let daemon: Daemon;
    try {
      daemon = await startDaemon({
        root: g.root,
        runRoot: g.runRoot,
        socketPath: socket,
        logger: pino({ level: process.env.BERTH_LOG_LEVEL ?? "warn" }, logDestination),
        version: berthVersion(),
        allowPrivileged: o.allowPrivileged,
        allowHostBinds: !!o.allowHostBinds,
        // as `berth daemon --cgroup-parent`
        ...(process.env.BERTH_CGROUP_PARENT ? { cgroupParent: process.env.BERTH_CGROUP_PARENT } : {}),
      });
    } catch (err) {
      stderr.write(`berth: start daemon: ${errorMessage(err)}\n`);
      return 6;
    }
    const ctx: CommandContext = {
      client: new ApiClient(socket),
      stdout,
      stderr,
      stdin: process.stdin,
      clock: abortingClock(systemClock, stop.signal),
      interrupt: () => stop.signal,
    };
    let code = 0;
    try {
      code = await applyAndFollow(ctx, g, o, up, startedAt);
    } catch (err) {
      if (!stop.signal.aborted) throw err; // else: the interruption cut a wait short
    } finally {
      if (up.stack) await stopStack(ctx, up.stack);
      await daemon.stop();
    }
    return exitCode(code);
  } finally {
    stop.dispose();
  }
}

/**
 * `berth up -d [--wait]` (Compose's `up -d`): the stack applied to the running daemon, pruned to
 * exactly these objects, and nothing followed. With `--wait` (Compose's `up -d --wait`) it
 * returns once every object is ready (running, and healthy where checked) and exits 1 as
 * soon as one fails, naming it — a container whose dependency failed fails with that
 * dependency's name and reason (DependencyFailed) — or when `--timeout` passes.
 */
export async function runUpDetached(ctx: CommandContext, o: UpOptions & { wait: boolean }): Promise<number> {
  const apply: ApplyOptions = {
    filename: o.filename,
    recursive: o.recursive,
    ...(o.stack ? { stack: o.stack } : {}),
    ...(o.projectName ? { projectName: o.projectName } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    prune: true,
    dryRun: false,
    allowPrivileged: o.allowPrivileged,
    ...(o.allowHostBinds ? { allowHostBinds: true } : {}),
    wait: o.wait,
    timeout: o.timeout,
  };
  return runApply(ctx, apply);
}

/**
 * Applies the manifests and follows the stack until `ctx.interrupt()` aborts; sets
 * `up.stack` once this `up` may have started something of it. Throws the abort reason when
 * interrupted during a step.
 */
async function applyAndFollow(ctx: CommandContext, g: { runRoot: string }, o: UpOptions, up: { stack?: string }, startedAt: number): Promise<number> {
  const signal = ctx.interrupt();
  // `-f -` waits for stdin's end, which may never come
  const input = await orAbort(readForApply(ctx, o), signal);
  signal.throwIfAborted();
  if (!input) return 1;
  // Invalid manifests end `up` at once (a stack that is only slow to get ready keeps running).
  const check = await ctx.client.apply({ stack: input.stack, files: input.texts, prune: true, dryRun: true, allowPrivileged: o.allowPrivileged, ...(o.allowHostBinds ? { allowHostBinds: true } : {}) });
  signal.throwIfAborted();
  if (reportDiagnostics(ctx, check)) return 1;
  up.stack = input.stack;
  // The same stack again: a Compose project named by -p is named by it again (its stack is its berth name).
  const apply: ApplyOptions = { ...o, ...(o.projectName ? {} : { stack: up.stack }), prune: true, dryRun: false, wait: true, pollMs: 200 };
  const code = await runApply(ctx, apply); // its waits end at the signal (ctx.clock)
  signal.throwIfAborted();
  const color = paint(ctx.stdout);
  ctx.stdout.write(
    code === 0
      ? color.green(`\nstack ${up.stack} is up: Ctrl-C stops it; \`berth --run-root ${g.runRoot} get\` from another terminal\n\n`)
      : color.yellow(`\nstack ${up.stack} is not ready (see above); it keeps running until Ctrl-C\n\n`),
  );
  await Promise.all([streamLogs(ctx, up.stack, o.detachLogs, signal, startedAt - 1000), streamWarnings(ctx, signal)]);
  return code;
}

/** `clock` whose sleeps also end (rejecting with its reason) when `stop` aborts. */
function abortingClock(clock: Clock, stop: AbortSignal): Clock {
  return {
    now: () => clock.now(),
    setTimer: (ms, fn) => clock.setTimer(ms, fn),
    sleep: (ms, signal) => clock.sleep(ms, signal ? AbortSignal.any([signal, stop]) : stop),
  };
}

/** Settles as `p`, or rejects with the signal's reason as soon as it aborts (`p` then settles unobserved). */
function orAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
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
  const tty = Boolean(ctx.stdout.isTTY) && !process.env.NO_COLOR;
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
              (line.stream === "stderr" ? ctx.stderr : ctx.stdout).write(`${prefix}${line.text}\n`);
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
  const color = paint(ctx.stderr);
  const since = Date.now() - 2000; // the backlog before that was shown by apply's progress display
  try {
    for await (const e of ctx.client.watchEvents(signal)) {
      if (e.type === "Warning" && Date.parse(e.time) > since) ctx.stderr.write(color.yellow(`${e.object}: ${e.reason}: ${e.message}\n`));
    }
  } catch {
    /* stopping */
  }
}

/**
 * Stops every container of the stack that is not already stopped (a Pending one too, so
 * that it is not started after the daemon's last look). A failure is reported and does not
 * keep the others from stopping. Never throws.
 */
async function stopStack(ctx: CommandContext, stack: string): Promise<void> {
  let views;
  try {
    views = (await ctx.client.list("Container")).filter((v) => v.metadata.stack === stack);
  } catch (err) {
    ctx.stderr.write(`berth: stop stack ${stack}: ${errorMessage(err)}\n`);
    return;
  }
  const live = views.filter((v) => !["Exited", "Failed"].includes((v.status as ContainerStatusView).phase));
  if (!live.length) return;
  ctx.stdout.write(`\nstopping stack ${stack}...\n`);
  await Promise.all(
    live.map(async (v) => {
      try {
        await ctx.client.act(v.metadata.name, "stop");
        ctx.stdout.write(`container/${v.metadata.name} stopped\n`);
      } catch (err) {
        ctx.stderr.write(`berth: stop container/${v.metadata.name}: ${errorMessage(err)}\n`);
      }
    }),
  );
}
