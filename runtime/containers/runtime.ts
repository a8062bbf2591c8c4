import { promises as fs } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { conflict, failedPrecondition, isBerthError } from "../../lib/errors.js";
import type {
  ContainerCommitOptions,
  ContainerPathStat,
  ImageRecord,
  LayerChange,
  ContainerCreateSpec,
  ContainerDetail,
  ContainerRuntime,
  ContainerStatsReading,
  ContainerTop,
  HostCounters,
  ContainerState,
  ExecOptions,
  ExecResult,
  ExecStream,
  ExecStreamOptions,
  ExecTerminal,
  ExecTerminalOptions,
  Attachment,
  AttachOptions,
  LogLine,
  LogOptions,
  RuntimeEvent,
  StartOptions,
  StopOptions,
} from "../types.js";
import { openRuntimeState } from "./adoption.js";
import { RuntimeContext } from "./context.js";
import { createContainer } from "./create.js";
import { attachToContainer } from "./attach.js";
import { execInContainer, execStreamInContainer } from "./exec.js";
import { execTerminalInContainer } from "./exec-terminal.js";
import { readLogs } from "./k8s-log.js";
import { clearLeftovers } from "./leftovers.js";
import { allRecords, currentRecord, resolveId } from "./lookup.js";
import { commitContainer, containerChanges } from "./changes.js";
import { archiveContainerPathLocked, extractToContainerLocked, statContainerPathLocked } from "./copy.js";
import { exportContainerLocked } from "./export.js";
import type { ContainerRuntimeOptions } from "./options.js";
import { netnsNameOf, removeNetns } from "./netns.js";
import { stateOf } from "./records.js";
import { startLocked } from "./start.js";
import { containerDetail, containerStats, containerTop } from "./stats-reader.js";
import { killContainer, mustSignal, stopContainer } from "./stop.js";
import { startWatching } from "./watcher.js";

export { defaultContainerRuntimeOptions, type ContainerRuntimeOptions } from "./options.js";
export { REBOOT_REASON } from "./adoption.js";

/**
 * berth's container runtime over conmon + runc (see conmon.ts for the protocol).
 *
 * Lifecycle: create (image → snapshots → rootfs, record "created"; create.ts) → start
 * (spec, conmon runs `runc create`, we run `runc start`, record "running"; start.ts) → exit
 * (conmon writes the exit file; we learn it from the watcher, inspect, stop or the next
 * open; record "exited"; runc state is deleted so the container can be started again;
 * exits.ts, watcher.ts) → remove. State layout: context.ts.
 *
 * Survival: conmon runs in its own session and outlives this process. `openContainerRuntime`
 * adopts running containers (same pid), learns exits that happened meanwhile from exit
 * files, reports containers that ran before a reboot as exited with a reason, and adopts
 * (or cleanly stops) those whose run-root was emptied under them in the same boot
 * (adoption.ts, with the ordering that makes it crash-safe). A corrupt record is
 * quarantined and its container rebuilt from the host or removed from it
 * (record-repair.ts), at open, by the poll, or by the lookup that finds it (lookup.ts).
 *
 * Concurrency: operations on one container are serialized in-process (stop and exec wait
 * outside the lock). One runtime instance per root at a time (a second process on the same
 * root may race on records). Facts only: nothing here restarts a container.
 */
export class ConmonRuncRuntime implements ContainerRuntime {
  private readonly ctx: RuntimeContext;
  private stopWatching: (() => void) | undefined;

  constructor(options: ContainerRuntimeOptions) {
    this.ctx = new RuntimeContext(options);
  }

  /** Creates the directories, detects a lost run-root, adopts or settles every container, starts watching. */
  async open(): Promise<void> {
    await openRuntimeState(this.ctx);
    this.stopWatching = startWatching(this.ctx);
  }

  async create(spec: ContainerCreateSpec): Promise<ContainerState> {
    this.ctx.assertOpen();
    return createContainer(this.ctx, spec);
  }

  async start(idOrName: string, options: StartOptions = {}): Promise<ContainerState> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "start");
    await currentRecord(this.ctx, id);
    return this.ctx.lock.run(id, async () => {
      const rec = await this.ctx.records.mustLoad(id);
      if (rec.status === "running") return stateOf(rec);
      await startLocked(this.ctx, rec, options);
      return stateOf(rec);
    });
  }

  async stop(idOrName: string, options: StopOptions = {}): Promise<ContainerState> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "stop");
    return stopContainer(this.ctx, await currentRecord(this.ctx, id), options);
  }

  async kill(idOrName: string, signal: string): Promise<void> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "kill");
    const sig = mustSignal(signal, `kill container ${idOrName}`);
    await killContainer(this.ctx, await currentRecord(this.ctx, id), sig);
  }

  /**
   * Removes a stopped container: runc state, cgroup, writable layer, volume references,
   * bundle, exit file, name, record (last), then publishes `removed`. A running one is
   * FailedPrecondition, or with force SIGKILLed first. NotFound, or nothing with force.
   */
  async remove(idOrName: string, options: { force?: boolean } = {}): Promise<void> {
    const ctx = this.ctx;
    ctx.assertOpen();
    let id: string;
    try {
      id = await resolveId(ctx, idOrName, "remove");
    } catch (err) {
      if (options.force && isBerthError(err, "NotFound")) return;
      throw err;
    }
    const first = await currentRecord(ctx, id);
    if (first.status === "running") {
      if (!options.force) {
        throw failedPrecondition(`remove container ${first.name}: running (stop it first, or force)`, { object: { kind: "container", name: first.name } });
      }
      await this.stop(id, { stopSignal: "SIGKILL", graceMs: 0 });
    }
    await ctx.lock.run(id, async () => {
      const rec = await ctx.records.load(id);
      if (!rec) return;
      if (rec.status === "running") throw conflict(`remove container ${rec.name}: it was started again meanwhile`);
      await ctx.runc.delete(id);
      // Whatever runc's state does not name any more (a run-root emptied under it) goes too.
      await clearLeftovers(ctx, id, rec.cgroupsPath, [rec.conmonPid]);
      await ctx.opts.snapshots?.removeContainerLayer(id);
      await removeNetns(netnsNameOf(id)); // its veth peers go with it
      for (const v of rec.volumes) await ctx.opts.volumes?.release(v, id);
      await fs.rm(ctx.bundleDir(id), { recursive: true, force: true });
      await fs.rm(ctx.exitFile(id), { force: true });
      await ctx.records.releaseName(rec.name, id);
      await ctx.records.remove(id);
      ctx.hub.publish({ type: "removed", id, name: rec.name, at: ctx.nowIso() });
    });
  }

  async inspect(idOrName: string): Promise<ContainerState> {
    this.ctx.assertOpen();
    return stateOf(await currentRecord(this.ctx, await resolveId(this.ctx, idOrName, "inspect")));
  }

  async list(labels?: Record<string, string>): Promise<ContainerState[]> {
    this.ctx.assertOpen();
    const out: ContainerState[] = [];
    for (const r of await allRecords(this.ctx)) {
      if (labels && !Object.entries(labels).every(([k, v]) => r.spec.labels[k] === v)) continue;
      out.push(stateOf(await currentRecord(this.ctx, r.id).catch(() => r)));
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  async exec(idOrName: string, options: ExecOptions): Promise<ExecResult> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "exec");
    return execInContainer(this.ctx, await currentRecord(this.ctx, id), options);
  }

  async execStream(idOrName: string, options: ExecStreamOptions): Promise<ExecStream> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "exec");
    return execStreamInContainer(this.ctx, await currentRecord(this.ctx, id), options);
  }

  async execTerminal(idOrName: string, options: ExecTerminalOptions): Promise<ExecTerminal> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "exec");
    return execTerminalInContainer(this.ctx, await currentRecord(this.ctx, id), options);
  }

  async attach(idOrName: string, options: AttachOptions = {}): Promise<Attachment> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "attach to");
    return attachToContainer(this.ctx, await currentRecord(this.ctx, id), options);
  }

  /** The k8s-file log (k8s-log.ts); `follow` ends once the container is not running. */
  async *logs(idOrName: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const ctx = this.ctx;
    ctx.assertOpen();
    const id = await resolveId(ctx, idOrName, "read logs of");
    yield* readLogs(ctx.logPath(id), {
      ...options,
      clock: ctx.clock,
      isRunning: async () => {
        try {
          return (await currentRecord(ctx, id)).status === "running";
        } catch {
          return false;
        }
      },
    });
  }

  /** `docker diff` of the container (changes.ts). */
  async changes(idOrName: string): Promise<LayerChange[]> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "diff");
    return containerChanges(this.ctx, await currentRecord(this.ctx, id));
  }

  /**
   * `docker commit` of the container (changes.ts); under its lock, so it is not removed
   * meanwhile. (An exit is settled before the lock is taken: currentRecord takes it then.)
   */
  async commit(idOrName: string, options: ContainerCommitOptions = {}): Promise<ImageRecord> {
    const ctx = this.ctx;
    ctx.assertOpen();
    const id = await resolveId(ctx, idOrName, "commit");
    await currentRecord(ctx, id);
    return ctx.lock.run(id, async () => commitContainer(ctx, await ctx.records.mustLoad(id), options));
  }

  /** `docker export` of the container (export.ts), under its lock like commit. */
  async export(idOrName: string, out: Writable | string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const ctx = this.ctx;
    ctx.assertOpen();
    const id = await resolveId(ctx, idOrName, "export");
    await currentRecord(ctx, id);
    return ctx.lock.run(id, async () => exportContainerLocked(ctx, await ctx.records.mustLoad(id), out, options.signal));
  }

  /** `docker top` (stats-reader.ts, top.ts): read-only, no lock. */
  async top(idOrName: string, psArgs?: string[]): Promise<ContainerTop> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "top");
    return containerTop(this.ctx, await currentRecord(this.ctx, id), psArgs);
  }

  /** One stats reading (stats-reader.ts): read-only, no lock. */
  async stats(idOrName: string, options: { host?: HostCounters } = {}): Promise<ContainerStatsReading> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "stats");
    return containerStats(this.ctx, await currentRecord(this.ctx, id), options.host);
  }

  /** `docker inspect`'s facts (stats-reader.ts): read-only, no lock. */
  async detail(idOrName: string): Promise<ContainerDetail> {
    this.ctx.assertOpen();
    const id = await resolveId(this.ctx, idOrName, "inspect");
    return containerDetail(this.ctx, await currentRecord(this.ctx, id));
  }

  /** `docker cp`'s stat of a path (copy.ts), under the container's lock like export. */
  async statPath(idOrName: string, userPath: string): Promise<ContainerPathStat> {
    const { ctx, id } = await this.lockedTarget(idOrName, "copy");
    return ctx.lock.run(id, async () => statContainerPathLocked(ctx, await ctx.records.mustLoad(id), userPath));
  }

  /** `docker cp` from the container: the tar of a path into `out` (copy.ts). */
  async archivePath(idOrName: string, userPath: string, out: Writable, options: { signal?: AbortSignal; onStat?: (stat: ContainerPathStat) => void } = {}): Promise<void> {
    const { ctx, id } = await this.lockedTarget(idOrName, "copy");
    return ctx.lock.run(id, async () => archiveContainerPathLocked(ctx, await ctx.records.mustLoad(id), userPath, out, options));
  }

  /** `docker cp` into the container: extracts a tar into a directory (copy.ts); returns the entries written. */
  async extractArchive(idOrName: string, userPath: string, tar: Readable | AsyncIterable<Uint8Array>, options: { copyUIDGID?: boolean } = {}): Promise<number> {
    const { ctx, id } = await this.lockedTarget(idOrName, "copy");
    return ctx.lock.run(id, async () => extractToContainerLocked(ctx, await ctx.records.mustLoad(id), userPath, tar, options));
  }

  private async lockedTarget(idOrName: string, verb: string): Promise<{ ctx: RuntimeContext; id: string }> {
    const ctx = this.ctx;
    ctx.assertOpen();
    const id = await resolveId(ctx, idOrName, verb);
    await currentRecord(ctx, id); // settles an exit first, so a stopped container is seen as stopped
    return { ctx, id };
  }

  events(signal?: AbortSignal): AsyncIterable<RuntimeEvent> {
    return this.ctx.hub.subscribe(signal);
  }

  async close(): Promise<void> {
    this.ctx.closed = true;
    this.stopWatching?.();
    this.ctx.hub.close();
  }
}

/** Opens the runtime: adopts running containers, settles exited ones, starts watching exits. */
export async function openContainerRuntime(options: ContainerRuntimeOptions): Promise<ConmonRuncRuntime> {
  const rt = new ConmonRuncRuntime(options);
  await rt.open();
  return rt;
}
