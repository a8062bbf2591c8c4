import type { Clock } from "../../lib/clock.js";
import type { ImageStore, SnapshotStore } from "../types.js";
import type { LocalVolumeStore } from "../volumes/types.js";

/** Where the runtime says what it repaired on its own (a pino logger is one). */
export interface RuntimeLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  /** Per-operation detail (an exec's phases); a pino logger drops it below level debug. */
  debug?(fields: object, msg: string): void;
}

/** Options of the conmon + runc container runtime (runtime.ts). */
export interface ContainerRuntimeOptions {
  /** Persistent state dir (records, logs, volumes). */
  root: string;
  /** Per-boot state dir, on tmpfs in production (exit files, runc state, bundles). */
  runRoot: string;
  images?: ImageStore;
  snapshots?: SnapshotStore;
  volumes?: LocalVolumeStore;
  runcPath?: string;
  conmonPath?: string;
  /** The static init bind-mounted into `init: true` containers (Debian's tini package). */
  initPath?: string;
  /** Parent cgroup of every container: `/<cgroupParent>/<id>`. */
  cgroupParent?: string;
  /** conmon's --log-size-max per container log, bytes (one previous generation is kept). */
  logSizeMax?: number;
  /** Slow poll for exits, conmon liveness and log rotation, ms. */
  pollIntervalMs?: number;
  /** Further paths bind mounts must never expose (e.g. the API socket). */
  protectedPaths?: string[];
  clock?: Clock;
  /** Quarantined records, adopted survivors of an emptied run-root. Default: silent. */
  logger?: RuntimeLog;
  /** Told how long each phase of a create, a start or an exec took, ms (bench/: the start and exec breakdowns). */
  onPhases?: PhaseObserver;
}

export type PhaseOp = "create" | "start" | "exec";
export type PhaseObserver = (op: PhaseOp, phases: Record<string, number>) => void;

/** Phase timing: `mark("unpack")` ends the phase named so; `done()` reports them all. */
export function phaseTimer(op: PhaseOp, observer: PhaseObserver | undefined) {
  if (!observer) return { mark: (_name: string) => {}, done: () => {} };
  const phases: Record<string, number> = {};
  let last = performance.now();
  return {
    mark(name: string) {
      const now = performance.now();
      phases[name] = (phases[name] ?? 0) + (now - last);
      last = now;
    },
    done() {
      observer(op, phases);
    },
  };
}

/**
 * A create's, start's or exec's phase timer: its phases go to `onPhases` and, as the debug
 * line `<op> phases` {container, phasesMs}, to the runtime's logger (`berth daemon
 * --log-level debug`; bench/exec reads the exec lines from the daemon's log).
 */
export function loggedPhaseTimer(ctx: { opts: { onPhases?: PhaseObserver | undefined; logger?: RuntimeLog | undefined } }, op: PhaseOp, name: string) {
  const { onPhases, logger } = ctx.opts;
  const debug = logger?.debug?.bind(logger);
  if (!onPhases && !debug) return phaseTimer(op, undefined);
  return phaseTimer(op, (o, phases) => {
    onPhases?.(o, phases);
    debug?.({ container: name, phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v * 100) / 100])) }, `${o} phases`);
  });
}

/** tini-static from Debian's tini package: static, so it runs in images without a libc. */
export const DEFAULT_INIT_PATH = "/usr/bin/tini-static";

export function defaultContainerRuntimeOptions() {
  return {
    runcPath: "/usr/sbin/runc",
    conmonPath: "/usr/bin/conmon",
    initPath: DEFAULT_INIT_PATH,
    cgroupParent: "berth",
    logSizeMax: 10 * 1024 * 1024,
    pollIntervalMs: 2000,
    conmonTimeoutMs: 60_000,
    /** Extra wait for the exit file after SIGKILL. */
    killWaitMs: 30_000,
    defaultStopGraceMs: 10_000,
    execMaxOutputBytes: 1024 * 1024,
  };
}

/** The options with every default applied. */
export type ResolvedContainerRuntimeOptions = ReturnType<typeof defaultContainerRuntimeOptions> & ContainerRuntimeOptions;

export function resolveContainerRuntimeOptions(options: ContainerRuntimeOptions): ResolvedContainerRuntimeOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...defaultContainerRuntimeOptions(), ...given } as ResolvedContainerRuntimeOptions;
}
