/** The runtime benchmark's contenders, the environment they run in, and the results. */

export interface Pids {
  container: number;
  /** The process monitoring the container (conmon, containerd-shim), when there is one. */
  monitor?: number;
}

export interface Contender {
  name: string;
  version: string;
  /** Untimed work before a round (e.g. writing bundles). */
  prepare?(names: string[]): Promise<void>;
  /** Creates and starts one container; returns its handle. Timed. */
  startOne(name: string): Promise<string>;
  pids(handles: string[]): Promise<Pids[]>;
  /** Removes the containers (force). Timed separately. */
  removeAll(handles: string[]): Promise<void>;
  close(): Promise<void>;
  /** Where its create+start time goes: median ms per phase over every timed start (berth only). */
  phases?(): Record<string, number>;
}

export interface BenchEnv {
  base: string;
  /** tmpfs, like /run. */
  run: string;
  rootfsDir: string;
  rootfsTgz: string;
  cgroupPrefix: string;
  timeoutMs: number;
}

export interface RoundResult {
  n: number;
  totalMs: number;
  perContainerMs: number;
  removeMsPerContainer: number;
}

export interface MemoryResult {
  n: number;
  monitor?: string;
  containerRssKiB: number;
  monitorRssKiB: number | null;
  totalRssKiB: number;
  containerPssKiB: number;
  monitorPssKiB: number | null;
  totalPssKiB: number;
}

export interface ContenderResult {
  name: string;
  available: boolean;
  reason?: string;
  version?: string;
  rounds: Record<string, RoundResult>;
  memory?: MemoryResult;
}

export interface UnpackResult {
  files: number;
  dirs: number;
  uncompressedBytes: number;
  compressedBytes: number;
  reps: number;
  rows: { name: string; medianMs: number; mbPerS: number; timeRatio: number; samplesMs: number[] }[];
}
