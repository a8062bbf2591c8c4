/** What the build benchmark runs, and how often. BERTH_BENCH_QUICK=1: smaller and fewer (under a minute). */
export interface BuildBenchOptions {
  /** Data layers of the pulled image (over busybox), and their total size in bytes. */
  pullLayers: number;
  pullBytes: number;
  /** Timed pulls per contender (median reported). */
  pullRounds: number;
  /** The example app's context: small files, and a few larger ones (bytes each). */
  contextSmallFiles: number;
  contextLargeFiles: number;
  contextLargeBytes: number;
  /** What the build stage's RUN generates, bytes. */
  runBytes: number;
  /** Timed cold builds and unchanged rebuilds per contender. */
  coldRounds: number;
  warmRounds: number;
  /** Unchanged rebuilds in a fresh node process (berth; the CLI's path through the runtime). */
  processRounds: number;
  /** The unpack layer (bench/runtime/unpack.ts): uncompressed bytes, file cap, repetitions. */
  unpackBytes: number;
  unpackMaxFiles: number;
  unpackReps: number;
  /** Whiteout entries of the synthetic layer measuring berth's per-whiteout cost. */
  whiteouts: number;
  /** Bound on any one spawned process or runtime call. */
  stepTimeoutMs: number;
}

export function defaultBuildBenchOptions(): BuildBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    pullLayers: 5,
    pullBytes: quick ? 20e6 : 50e6,
    pullRounds: quick ? 2 : 5,
    contextSmallFiles: 200,
    contextLargeFiles: 3,
    contextLargeBytes: quick ? 1e6 : 2e6,
    runBytes: quick ? 2e6 : 4e6,
    coldRounds: quick ? 1 : 3,
    warmRounds: quick ? 2 : 5,
    processRounds: quick ? 1 : 3,
    unpackBytes: quick ? 20e6 : 150e6,
    unpackMaxFiles: quick ? 1000 : 6000,
    unpackReps: quick ? 1 : 3,
    whiteouts: quick ? 50 : 200,
    stepTimeoutMs: 120_000,
  };
}
