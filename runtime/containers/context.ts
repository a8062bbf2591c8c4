import { promises as fs } from "node:fs";
import * as path from "node:path";
import { systemClock, type Clock } from "../../lib/clock.js";
import { failedPrecondition, invalidArgument } from "../../lib/errors.js";
import { isValidName } from "../../lib/names.js";
import type { Cgroups } from "./cgroups.js";
import { EventHub } from "./events.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { resolveContainerRuntimeOptions, type ContainerRuntimeOptions, type ResolvedContainerRuntimeOptions, type RuntimeLog } from "./options.js";
import { RecordStore } from "./records.js";
import { Runc } from "./runc.js";

/**
 * What every part of the conmon + runc runtime shares: its options, state paths, records,
 * runc, the per-container lock and the event hub. One context per runtime instance; the
 * parts (adoption.ts, exits.ts, watcher.ts, create.ts, start.ts, stop.ts, exec.ts) are
 * functions over it, runtime.ts is the facade that serializes them.
 *
 * Paths: records under `<root>/containers/<id>/` (persistent, with the k8s-file log and
 * `run/`, the copy of the current run's runc state and config: run-copy.ts);
 * `<root>/containers/boot-id` (the boot the root was last opened in, see adoption.ts);
 * `<root>/quarantine/containers/` (corrupt records, quarantine.ts); per-run state under
 * `<runRoot>` (tmpfs): `exits/<id>` written by conmon, `runc/` (runc's --root),
 * `containers/<id>/` (bundle: config.json, pid files, persist dir, /etc files), `sockets/`
 * (conmon's attach sockets).
 */
export class RuntimeContext {
  readonly root: string;
  readonly runRoot: string;
  readonly records: RecordStore;
  readonly runc: Runc;
  /** Serializes the operations on one container (by id). */
  readonly lock = new KeyedMutex();
  readonly hub = new EventHub();
  readonly clock: Clock;
  readonly opts: ResolvedContainerRuntimeOptions;
  readonly log: RuntimeLog;
  /** Set by `openRuntimeState` (adoption.ts). */
  cgroups!: Cgroups;
  bootId = "";
  knownCaps: string[] = [];
  closed = false;
  /** Ids whose exit is being finalized, to coalesce watcher and poll. */
  readonly finalizing = new Set<string>();
  /** Ids whose start is in its `beforeRun` hook: created by runc, not yet running; attach may connect. */
  readonly beforeRun = new Set<string>();

  constructor(options: ContainerRuntimeOptions) {
    this.opts = resolveContainerRuntimeOptions(options);
    if (!isValidName(this.opts.cgroupParent)) throw invalidArgument(`invalid cgroup parent ${JSON.stringify(this.opts.cgroupParent)}`);
    this.root = path.resolve(options.root);
    this.runRoot = path.resolve(options.runRoot);
    this.records = new RecordStore(this.root);
    this.runc = new Runc(this.opts.runcPath, path.join(this.runRoot, "runc"));
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? { info() {}, warn() {} };
  }

  get exitsDir(): string {
    return path.join(this.runRoot, "exits");
  }
  bundleDir(id: string): string {
    return path.join(this.runRoot, "containers", id);
  }
  exitFile(id: string): string {
    return path.join(this.exitsDir, id);
  }
  logPath(id: string): string {
    return path.join(this.records.containerDir(id), "ctr.log");
  }

  nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  assertOpen(): void {
    if (this.closed) throw failedPrecondition("container runtime: closed");
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
