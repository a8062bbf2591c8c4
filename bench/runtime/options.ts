/** What the runtime benchmark runs, and how often. BERTH_BENCH_QUICK=1: smaller and fewer. */
export interface RuntimeBenchOptions {
  /** Container counts of the create+start rounds. */
  sizes: number[];
  /** Repetitions of the N=1 round (median reported). */
  singleReps: number;
  /** N at which memory is measured (must be one of sizes). */
  memoryAt: number;
  /** Uncompressed size of the unpack layer, bytes (approximate). */
  unpackBytes: number;
  unpackMaxFiles: number;
  unpackReps: number;
  /** Bound on any one spawned process or runtime call. */
  stepTimeoutMs: number;
}

export function defaultRuntimeBenchOptions(): RuntimeBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    sizes: quick ? [1, 3] : [1, 10, 50],
    singleReps: quick ? 2 : 5,
    memoryAt: quick ? 3 : 10,
    unpackBytes: quick ? 20e6 : 150e6,
    unpackMaxFiles: quick ? 1000 : 6000,
    unpackReps: quick ? 1 : 3,
    stepTimeoutMs: 60_000,
  };
}
