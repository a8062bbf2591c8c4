import { failedPrecondition, invalidArgument, notFound, unavailable } from "../../lib/errors.js";
import { normalizeSignal } from "../../lib/signals.js";
import type { ContainerState, StopOptions } from "../types.js";
import type { RuntimeContext } from "./context.js";
import { finalizeLocked, waitExitFile } from "./exits.js";
import { stateOf, type ContainerRecord } from "./records.js";

/**
 * stop and kill. Neither takes the container's lock while it waits: the exit is recorded by
 * whoever sees conmon's exit file first (this wait, the watcher, inspect), under the lock.
 */

/**
 * Stops a running container `rec` (no-op otherwise): the stop signal (the option, else the
 * spec's, else the image's StopSignal, else SIGTERM), then SIGKILL (to every process of
 * the container) once the grace period passed on the clock; resolves with the exited state.
 * A grace of 0 or a SIGKILL stop signal kills at once. Unavailable when no exit is reported
 * `killWaitMs` after SIGKILL.
 *
 * `options.signal` aborts the wait: stop rejects with its reason at once and abandons the
 * SIGKILL escalation (the container may still be exiting; nothing is left scheduled). An
 * already aborted signal rejects before any signal is sent.
 */
export async function stopContainer(ctx: RuntimeContext, rec: ContainerRecord, options: StopOptions): Promise<ContainerState> {
  const { id } = rec;
  const abort = options.signal;
  if (rec.status !== "running") return stateOf(rec);
  let sig: string | undefined;
  if (options.stopSignal !== undefined) {
    sig = normalizeSignal(options.stopSignal);
    if (!sig) throw invalidArgument(`stop container ${rec.name}: invalid signal ${JSON.stringify(options.stopSignal)}`);
  } else {
    // An image's StopSignal is not ours to validate at create: fall back to SIGTERM.
    sig = normalizeSignal(rec.spec.stopSignal ?? rec.imageConfig.StopSignal ?? "SIGTERM") ?? "SIGTERM";
  }
  abort?.throwIfAborted();
  const grace = options.graceMs ?? rec.spec.stopGracePeriodMs ?? ctx.opts.defaultStopGraceMs;
  if (sig !== "SIGKILL" && grace > 0) {
    await ctx.runc.kill(id, sig).catch(() => {});
    if (await waitExitFile(ctx, id, grace, abort)) return finalizedState(ctx, rec);
  }
  abort?.throwIfAborted();
  // --all: also processes that escaped init's process group (pid namespace ends with init anyway).
  await ctx.runc.kill(id, "SIGKILL", true).catch(() => {});
  if (!(await waitExitFile(ctx, id, ctx.opts.killWaitMs, abort))) {
    throw unavailable(`stop container ${rec.name}: no exit reported ${ctx.opts.killWaitMs}ms after SIGKILL`);
  }
  return finalizedState(ctx, rec);
}

async function finalizedState(ctx: RuntimeContext, rec: ContainerRecord): Promise<ContainerState> {
  const done = await ctx.lock.run(rec.id, () => finalizeLocked(ctx, rec.id));
  if (!done) throw notFound(`stop container ${rec.name}: removed meanwhile`, { object: { kind: "container", name: rec.name } });
  return stateOf(done);
}

/** Sends `signal` to the init of a running container: InvalidArgument for a bad signal, FailedPrecondition unless running. */
export async function killContainer(ctx: RuntimeContext, rec: ContainerRecord, sig: string): Promise<void> {
  if (rec.status !== "running") throw failedPrecondition(`kill container ${rec.name}: not running`, { object: { kind: "container", name: rec.name } });
  await ctx.runc.kill(rec.id, sig);
}

/** The canonical name of `signal`, InvalidArgument when it is none. */
export function mustSignal(signal: string, what: string): string {
  const sig = normalizeSignal(signal);
  if (!sig) throw invalidArgument(`${what}: invalid signal ${JSON.stringify(signal)}`);
  return sig;
}
