import { describe, expect, it } from "vitest";
import type { ContainerStatsReading } from "../types.js";
import { computeStats, parseMemTotal, parseNetDev, parseProcStatCpu } from "./stats.js";

describe("host counters", () => {
  it("/proc/stat: the first seven fields of cpu in ns, and the online cpus", () => {
    const t = "cpu  100 5 50 1000 10 1 2 7 0 0\ncpu0 50 2 25 500 5 1 1 3 0 0\ncpu1 50 3 25 500 5 0 1 4 0 0\nintr 1 2 3\nctxt 99\n";
    expect(parseProcStatCpu(t)).toEqual({ systemNs: (100 + 5 + 50 + 1000 + 10 + 1 + 2) * 1e7, onlineCpus: 2 });
    expect(parseProcStatCpu("intr 1\n")).toBeUndefined();
  });
  it("/proc/meminfo", () => expect(parseMemTotal("MemTotal:        8039876 kB\nMemFree: 1 kB\n")).toBe(8039876 * 1024));
  it("/proc/<pid>/net/dev: loopback left out", () => {
    const t = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:    5286      51    1    2    0     0          0         0      936      12    3    4    0     0       0          0
`;
    expect(parseNetDev(t)).toEqual({ eth0: { rxBytes: 5286, rxPackets: 51, rxErrors: 1, rxDropped: 2, txBytes: 936, txPackets: 12, txErrors: 3, txDropped: 4 } });
  });
});

describe("figures from two readings (docker/cli's calculateCPUPercentUnix and memory without cache)", () => {
  const reading = (o: Partial<ContainerStatsReading> = {}): ContainerStatsReading => ({
    id: "0123456789abcdef",
    name: "web",
    readAtMs: 0,
    pid: 42,
    startedAt: "2024-01-01T00:00:00.000Z",
    cgroupVersion: 1,
    cpu: { usageNs: 1_000_000_000, systemNs: 100_000_000_000, onlineCpus: 2 },
    memory: { usageBytes: 60 << 20, cacheBytes: 10 << 20, limitBytes: 100 << 20, limited: true },
    ...o,
  });

  it("CPU %: container delta over host delta times the CPUs", () => {
    // the host's 2 CPUs ran 2 s of time (1 s each); the container used 0.5 s of it: 50% of one CPU
    const next = reading({ cpu: { usageNs: 1_500_000_000, systemNs: 102_000_000_000, onlineCpus: 2 } });
    expect(computeStats(reading(), next).cpuPercent).toBeCloseTo(50, 10);
  });
  it("CPU % is 0 for a first reading, no host progress, or another run", () => {
    const next = reading({ cpu: { usageNs: 2e9, systemNs: 101e9, onlineCpus: 2 } });
    expect(computeStats(undefined, next).cpuPercent).toBe(0);
    expect(computeStats(reading(), reading({ cpu: { usageNs: 2e9, systemNs: 100e9, onlineCpus: 2 } })).cpuPercent).toBe(0);
    expect(computeStats(reading(), { ...next, startedAt: "2024-01-01T00:01:00.000Z" }).cpuPercent).toBe(0);
  });
  it("memory: usage minus cache, % of the limit; cache above usage leaves usage", () => {
    expect(computeStats(undefined, reading()).memory).toEqual({ usageBytes: 50 << 20, limitBytes: 100 << 20, percent: 50 });
    expect(computeStats(undefined, reading({ memory: { usageBytes: 5, cacheBytes: 9, limitBytes: 10, limited: true } })).memory).toEqual({ usageBytes: 5, limitBytes: 10, percent: 50 });
  });
  it("network summed over interfaces; absent stays absent", () => {
    const io = { rxBytes: 1, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 2, txPackets: 1, txErrors: 0, txDropped: 0 };
    const f = computeStats(undefined, reading({ network: { eth0: io, eth1: io }, blockIo: { readBytes: 3, writeBytes: 4 }, pids: { current: 2, limit: 10 } }));
    expect(f.network).toEqual({ rxBytes: 2, rxPackets: 2, rxErrors: 0, rxDropped: 0, txBytes: 4, txPackets: 2, txErrors: 0, txDropped: 0 });
    expect([f.blockIo, f.pids]).toEqual([{ readBytes: 3, writeBytes: 4 }, { current: 2, limit: 10 }]);
    expect(computeStats(undefined, reading()).network).toBeUndefined();
  });
});
