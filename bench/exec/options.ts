/** What the exec benchmark runs, and how often. BERTH_BENCH_QUICK=1: fewer of each. */
export interface ExecBenchOptions {
  /** Timed runs of each whole-process row (the contenders take turns, round by round). */
  runs: number;
  /** Untimed runs of each row first (page cache, first-use costs). */
  warmRuns: number;
  /** Bytes typed, one at a time, per `exec -it` echo session. */
  echoRounds: number;
  /** Running containers while `berth stats` streams. */
  statsContainers: number;
  /** Length of each CPU window (daemon idle, then under `berth stats`), seconds. */
  statsSeconds: number;
  /** Bound on any one spawned process or wait. */
  stepTimeoutMs: number;
}

export function defaultExecBenchOptions(): ExecBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    runs: quick ? 7 : 21,
    warmRuns: quick ? 2 : 3,
    echoRounds: quick ? 10 : 30,
    statsContainers: quick ? 3 : 10,
    statsSeconds: quick ? 4 : 10,
    stepTimeoutMs: 120_000,
  };
}
