import { watch, type FSWatcher } from "node:fs";
import { ID_RE } from "../../lib/names.js";
import { ensureRunRootDirs, settleLocked } from "./adoption.js";
import { pathExists, type RuntimeContext } from "./context.js";
import { finalizeLocked } from "./exits.js";
import { keepRotated } from "./k8s-log.js";
import { allRecords } from "./lookup.js";
import { isSameProcess } from "./proc.js";
import type { ContainerRecord } from "./records.js";

/**
 * Watches for exits while a runtime instance is open: an fs watch on the exits dir reports
 * most exits at once; a slow poll (every `pollIntervalMs` on the context's clock) catches
 * what the watch missed, settles containers whose conmon died without an exit file or
 * whose runc state vanished (the run-root was emptied: the poll recreates its directories
 * and watches the new exits dir; adoption.ts adopts or stops the survivors), repairs
 * corrupt records (record-repair.ts), and keeps the previous log generation (k8s-log.ts).
 * Exits are recorded under the container's lock by `finalizeLocked`, which publishes
 * `exited`. Stops when the context closes.
 */
export function startWatching(ctx: RuntimeContext): () => void {
  let watcher: FSWatcher | undefined;
  const arm = () => {
    watcher?.close();
    try {
      watcher = watch(ctx.exitsDir, (_event, filename) => {
        const id = filename?.toString();
        if (id && ID_RE.test(id)) void onExit(ctx, id);
      });
      watcher.on("error", () => {});
    } catch {
      watcher = undefined; // the poll below still sees every exit
    }
  };
  arm();
  let cancelPoll: (() => void) | undefined;
  const tick = () => {
    if (ctx.closed) return;
    void poll(ctx, arm).finally(() => {
      if (!ctx.closed) cancelPoll = ctx.clock.setTimer(ctx.opts.pollIntervalMs, tick);
    });
  };
  cancelPoll = ctx.clock.setTimer(ctx.opts.pollIntervalMs, tick);
  return () => {
    watcher?.close();
    cancelPoll?.();
  };
}

async function poll(ctx: RuntimeContext, rewatch: () => void): Promise<void> {
  if (!(await pathExists(ctx.exitsDir))) {
    // The run-root was emptied under us: conmon's exit files need their directory back.
    await ensureRunRootDirs(ctx).catch(() => {});
    if (!ctx.closed) rewatch();
  }
  for (const rec of await allRecords(ctx).catch(() => [] as ContainerRecord[])) {
    if (ctx.closed) return;
    if (rec.status !== "running") continue;
    await keepRotated(ctx.logPath(rec.id)).catch(() => {});
    if (await pathExists(ctx.exitFile(rec.id))) await onExit(ctx, rec.id);
    else if (!(await ctx.runc.exists(rec.id)) || (!rec.reason && !(await isSameProcess(rec.conmonPid, rec.conmonStartTime)))) {
      // runc's state is gone (the run-root was emptied), or the monitor died without
      // writing an exit file: settle it like after a restart.
      await ctx.lock.run(rec.id, () => settleLocked(ctx, rec.id)).catch(() => {});
    }
  }
}

async function onExit(ctx: RuntimeContext, id: string): Promise<void> {
  if (ctx.closed || ctx.finalizing.has(id)) return;
  if (!(await pathExists(ctx.exitFile(id)))) return;
  ctx.finalizing.add(id);
  try {
    await ctx.lock.run(id, () => finalizeLocked(ctx, id));
  } catch {
    // Retried by the next poll.
  } finally {
    ctx.finalizing.delete(id);
  }
}
