/** What the network benchmark runs, and how often. BERTH_BENCH_QUICK=1: fewer rounds, smaller transfers. */
export interface NetworkBenchOptions {
  /** Timed container starts per contender (after one untimed warm-up each). */
  startRounds: number;
  /** Rounds of "start a container → its name resolves on a peer". */
  dnsRounds: number;
  /** Bytes per transfer, and transfers per path (median reported). */
  transferBytes: number;
  transferReps: number;
  /** create/delete cycles of a container with a published port (runtime API), and through the daemon (CLI). */
  churnCycles: number;
  daemonChurnCycles: number;
  /** Bound on any one spawned process or runtime call. */
  stepTimeoutMs: number;
  /** Bound on the whole child process running the bench. */
  totalTimeoutMs: number;
}

export function defaultNetworkBenchOptions(): NetworkBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    startRounds: quick ? 3 : 7,
    dnsRounds: quick ? 2 : 5,
    transferBytes: quick ? 256 << 20 : 1 << 30,
    transferReps: quick ? 1 : 3,
    churnCycles: quick ? 10 : 100,
    daemonChurnCycles: quick ? 3 : 10,
    stepTimeoutMs: 60_000,
    totalTimeoutMs: 9 * 60_000,
  };
}

/** Host ports this bench publishes (all within 19000–19999). */
export const PORTS = {
  berthStart: 19100,
  dockerStart: 19200,
  podmanStart: 19300,
  sinkPublished: 19400,
  sinkLoopback: 19401,
  churn: 19500,
  daemonWeb: 19600,
  daemonChurn: 19601,
} as const;

/** Subnets this bench gives its networks (berth's pools and the host's routes are 172.x / 192.168.x). */
export const SUBNETS = { runtime: "10.213.1.0/24", daemon: "10.213.2.0/24", dns: "10.213.3.0/24", docker: "10.213.200.0/24", podman: "10.213.201.0/24" } as const;
