import { promises as fs } from "node:fs";
import type { ContainerStatsFigures, ContainerStatsReading, NetworkIo } from "../types.js";
import { USER_HZ } from "./proc-stat.js";

/**
 * `docker stats` figures: the host counters a reading needs besides the cgroup's
 * (cgroup-stats.ts) — the host's CPU time (/proc/stat) and memory (/proc/meminfo), a
 * network namespace's interfaces (/proc/<pid>/net/dev of a process in it) — and the
 * computation of the figures from two readings, as docker/cli's stats_helpers.go does it:
 *
 *   CPU %    = Δ container CPU time / Δ host CPU time × online CPUs × 100
 *              (host CPU time: the first seven fields of /proc/stat's `cpu` line, as moby's
 *              collector sums them; 0 when either delta is not positive)
 *   memory   = usage − cache (cgroup-stats.ts says which cache), limit capped at the host's
 *              memory (moby reports the host's MemTotal for an unlimited container), % of it
 *   net, block I/O, pids: the counters as read (cumulative since the container started).
 */

/** The host's CPU time from a /proc/stat text, nanoseconds, and its online CPUs (`cpuN` lines). */
export function parseProcStatCpu(text: string, hz = USER_HZ): { systemNs: number; onlineCpus: number } | undefined {
  let systemNs: number | undefined;
  let onlineCpus = 0;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "cpu") {
      if (f.length < 8) return undefined;
      const ticks = f.slice(1, 8).reduce((s, v) => s + Number(v), 0);
      systemNs = (ticks * 1e9) / hz;
    } else if (/^cpu\d+$/.test(f[0] ?? "")) onlineCpus++;
  }
  return systemNs === undefined ? undefined : { systemNs, onlineCpus: Math.max(1, onlineCpus) };
}

/** MemTotal of a /proc/meminfo text, bytes. */
export function parseMemTotal(text: string): number | undefined {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * A /proc/net/dev text: per interface its receive and transmit counters. Loopback is left
 * out (Docker counts a container's endpoints only).
 */
export function parseNetDev(text: string): Record<string, NetworkIo> {
  const out: Record<string, NetworkIo> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    if (!name || name === "lo" || f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out[name] = { rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]! };
  }
  return out;
}

/** The sum over interfaces. */
export function sumNetworkIo(ifaces: Record<string, NetworkIo>): NetworkIo {
  const total: NetworkIo = { rxBytes: 0, rxPackets: 0, rxErrors: 0, rxDropped: 0, txBytes: 0, txPackets: 0, txErrors: 0, txDropped: 0 };
  for (const io of Object.values(ifaces)) for (const k of Object.keys(total) as (keyof NetworkIo)[]) total[k] += io[k];
  return total;
}

/** The host counters one round of readings shares (read once per round, whatever the number of containers). */
export interface HostCounters {
  systemNs: number;
  onlineCpus: number;
  memTotalBytes: number;
}

export async function readHostCounters(procRoot = "/proc"): Promise<HostCounters> {
  const [stat, meminfo] = await Promise.all([fs.readFile(`${procRoot}/stat`, "utf8"), fs.readFile(`${procRoot}/meminfo`, "utf8")]);
  const cpu = parseProcStatCpu(stat);
  const mem = parseMemTotal(meminfo);
  if (!cpu || mem === undefined) throw new Error(`read host counters: unexpected ${procRoot}/stat or ${procRoot}/meminfo`);
  return { ...cpu, memTotalBytes: mem };
}

/** The interfaces of the network namespace `pid` is in (none when it is gone). */
export async function readNetDev(pid: number, procRoot = "/proc"): Promise<Record<string, NetworkIo> | undefined> {
  const text = await fs.readFile(`${procRoot}/${pid}/net/dev`, "utf8").catch(() => undefined);
  return text === undefined ? undefined : parseNetDev(text);
}

/**
 * The figures of `cur`, its CPU % against `prev` (an earlier reading of the same run of the
 * same container; without one, or across a restart, CPU % is 0 as in Docker's first frame).
 */
export function computeStats(prev: ContainerStatsReading | undefined, cur: ContainerStatsReading): ContainerStatsFigures {
  const out: ContainerStatsFigures = { cpuPercent: 0 };
  if (prev?.cpu && cur.cpu && prev.startedAt === cur.startedAt) {
    const cpuDelta = cur.cpu.usageNs - prev.cpu.usageNs;
    const systemDelta = cur.cpu.systemNs - prev.cpu.systemNs;
    if (cpuDelta > 0 && systemDelta > 0) out.cpuPercent = (cpuDelta / systemDelta) * cur.cpu.onlineCpus * 100;
  }
  if (cur.memory) {
    const m = cur.memory;
    const usage = m.cacheBytes < m.usageBytes ? m.usageBytes - m.cacheBytes : m.usageBytes;
    out.memory = { usageBytes: usage, limitBytes: m.limitBytes, percent: m.limitBytes > 0 ? (usage / m.limitBytes) * 100 : 0 };
  }
  if (cur.network) out.network = sumNetworkIo(cur.network);
  if (cur.blockIo) out.blockIo = { ...cur.blockIo };
  if (cur.pids) out.pids = { ...cur.pids };
  return out;
}
