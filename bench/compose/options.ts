/** What the compose benchmark runs, and how often. BERTH_BENCH_QUICK=1: fewer rounds (under ~2 minutes with the gitops suite's fixture). */
export interface ComposeBenchOptions {
  /** Timed rounds per variant and side (one untimed round each first); sides alternate who goes first. */
  rounds: number;
  /** Also the file without healthchecks (every condition service_started): the engines' own cost. */
  ungated: boolean;
  /** Bound on any one up, down or spawned process. */
  stepTimeoutMs: number;
}

export function defaultComposeBenchOptions(): ComposeBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return { rounds: quick ? 2 : 5, ungated: true, stepTimeoutMs: 120_000 };
}
