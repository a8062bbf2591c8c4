/** What the controller benchmark runs, and how often. BERTH_BENCH_QUICK=1: fewer repetitions. */
export interface ControllerBenchOptions {
  /** Repetitions of the 10-container apply (median reported). */
  stackReps: number;
  stackSize: number;
  chainReps: number;
  chainDepth: number;
  /** No-op re-applies through the API, the berth CLI, and docker-compose. */
  noopApiReps: number;
  noopCliReps: number;
  noopComposeReps: number;
  crashReps: number;
  unhealthyReps: number;
  /** Containers of the RSS measurement. */
  memoryContainers: number;
  /** Idle time before an RSS reading. */
  settleMs: number;
  /** Status poll period (berth API and Docker API alike). */
  pollMs: number;
  /** Bound on any one spawned process, API call, or wait. */
  stepTimeoutMs: number;
}

export function defaultControllerBenchOptions(): ControllerBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    stackReps: quick ? 1 : 3,
    stackSize: 10,
    chainReps: quick ? 1 : 3,
    chainDepth: 10,
    noopApiReps: quick ? 5 : 20,
    noopCliReps: quick ? 2 : 5,
    noopComposeReps: quick ? 3 : 10,
    crashReps: quick ? 2 : 5,
    unhealthyReps: quick ? 1 : 3,
    memoryContainers: quick ? 10 : 50,
    settleMs: 3000,
    pollMs: 20,
    stepTimeoutMs: 120_000,
  };
}
