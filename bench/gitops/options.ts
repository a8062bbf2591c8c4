/** What the gitops benchmark runs, and how often. BERTH_BENCH_QUICK=1: fewer rounds and a shorter CPU window. */
export interface GitopsBenchOptions {
  /** Containers of the watched stack (one of them is changed each round). */
  stackContainers: number;
  /** Timed commit rounds (one untimed first), and fresh starts of the same container. */
  commitRounds: number;
  /** Poll interval and bound of "the container runs the new spec". */
  pollMs: number;
  convergeTimeoutMs: number;
  /** Files of the idle tree (two real objects, the rest commented-out manifests), nested this deep. */
  idleFiles: number;
  /** Quiet time after the idle tree converged, then the CPU window. */
  idleSettleMs: number;
  idleWindowMs: number;
  /** Bound on any one spawned process or daemon start. */
  stepTimeoutMs: number;
}

export function defaultGitopsBenchOptions(): GitopsBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    stackContainers: 4,
    commitRounds: quick ? 4 : 10,
    pollMs: 20,
    convergeTimeoutMs: 30_000,
    idleFiles: 1000,
    idleSettleMs: quick ? 5_000 : 10_000,
    idleWindowMs: quick ? 10_000 : 20_000,
    stepTimeoutMs: 120_000,
  };
}
