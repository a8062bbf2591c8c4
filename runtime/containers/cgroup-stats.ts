import { promises as fs } from "node:fs";
import * as path from "node:path";
import { parseMounts } from "./cgroups.js";

/**
 * A container's resource counters read from its cgroup, v1 or v2, with the file formats of
 * the kernel's Documentation/admin-guide/cgroup-v1/{memory,cpuacct,blkio-controller}.rst and
 * cgroup-v2.rst. Pure parsers, a map of where each controller is mounted, and one reader
 * (`readCgroupStats`) that never throws for a missing file (a controller not mounted, a
 * cgroup gone between two reads): that counter is then left out.
 *
 * On a hybrid host (v1 controllers plus a cgroup2 mount with none) runc puts containers in
 * the v1 hierarchies, so a memory controller mounted as v1 means v1 is read.
 */

/** Where the hierarchies are: each v1 controller's mount point, and the cgroup2 mount. */
export interface CgroupMounts {
  v1: Record<string, string>;
  v2?: string;
}

/** From a /proc/self/mounts text: a v1 mount carries its controllers as options (`cpu,cpuacct`). */
export function parseCgroupMounts(mountsText: string): CgroupMounts {
  const out: CgroupMounts = { v1: {} };
  for (const m of parseMounts(mountsText)) {
    if (m.fstype === "cgroup2") out.v2 ??= m.target;
    if (m.fstype !== "cgroup") continue;
    for (const c of ["cpu", "cpuacct", "memory", "blkio", "pids", "cpuset"]) if (m.options.includes(c)) out.v1[c] ??= m.target;
  }
  return out;
}

/** The hierarchy berth reads a container's counters from. */
export function cgroupVersionOf(mounts: CgroupMounts): 1 | 2 | undefined {
  if (mounts.v1.memory) return 1;
  return mounts.v2 ? 2 : undefined;
}

/** `key value` lines (memory.stat, cpu.stat, v1 and v2). */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * v1 memory.limit_in_bytes reads PAGE_COUNTER_MAX × page size (9223372036854771712 with 4 KiB
 * pages) when unlimited; anything at or above 2^62 is taken as no limit.
 */
const V1_UNLIMITED = 2 ** 62;

/** A single-number file (memory.current, pids.current, cpuacct.usage); `max` and an empty file are undefined. */
export function parseSingleValue(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  return Number(t);
}

/** A limit file: v2 `max`, or v1's unlimited value, is undefined (no limit). */
export function parseLimit(text: string): number | undefined {
  const v = parseSingleValue(text);
  return v === undefined || v >= V1_UNLIMITED ? undefined : v;
}

export interface BlockIo {
  readBytes: number;
  writeBytes: number;
}

/**
 * v1 blkio.*io_service_bytes*: `MAJ:MIN Op bytes` lines and a `Total` line; Read and Write
 * summed over devices (as Docker's CLI sums the Read and Write entries). Undefined when the
 * file lists no device (the policy is not in use: CFQ/BFQ files are empty with another scheduler).
 */
export function parseBlkioServiceBytes(text: string): BlockIo | undefined {
  let readBytes = 0;
  let writeBytes = 0;
  let any = false;
  for (const line of text.split("\n")) {
    const m = /^\d+:\d+ (\w+) (\d+)$/.exec(line.trim());
    if (!m) continue;
    any = true;
    const op = m[1]!.toLowerCase();
    if (op === "read") readBytes += Number(m[2]);
    else if (op === "write") writeBytes += Number(m[2]);
  }
  return any ? { readBytes, writeBytes } : undefined;
}

/** v2 io.stat: `MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N` per device; rbytes and wbytes summed. */
export function parseIoStat(text: string): BlockIo {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split("\n")) {
    if (!/^\d+:\d+ /.test(line)) continue;
    for (const kv of line.split(" ").slice(1)) {
      const [k, v] = kv.split("=");
      if (k === "rbytes") readBytes += Number(v);
      else if (k === "wbytes") writeBytes += Number(v);
    }
  }
  return { readBytes, writeBytes };
}

/** What one read of a container's cgroup found; a counter whose file could not be read is absent. */
export interface CgroupStats {
  version: 1 | 2;
  /** Cumulative CPU time of the cgroup, nanoseconds (v1 cpuacct.usage; v2 cpu.stat usage_usec × 1000). */
  cpuUsageNs?: number;
  memory?: {
    /** v1 memory.usage_in_bytes; v2 memory.current. */
    usageBytes: number;
    /**
     * What Docker's CLI subtracts from it as cache: v1 memory.stat `total_inactive_file`
     * (docker/cli since 20.10; 19.03 and older took `cache`), v2 `inactive_file`.
     */
    cacheBytes: number;
    /** Absent when unlimited. v1 memory.limit_in_bytes; v2 memory.max. */
    limitBytes?: number;
  };
  blockIo?: BlockIo;
  pids?: { current: number; limit?: number };
}

const read = (file: string) => fs.readFile(file, "utf8").catch(() => undefined);

/** Docker's v1 order of blkio files (libcontainer fs/blkio.go): the CFQ, then BFQ, then throttle counters. */
const V1_BLKIO_FILES = ["blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive"];

/** Reads the counters of `cgroupsPath` (`/berth/<id>`, as in the OCI spec) from the hierarchy of `mounts`. */
export async function readCgroupStats(mounts: CgroupMounts, cgroupsPath: string): Promise<CgroupStats | undefined> {
  const version = cgroupVersionOf(mounts);
  if (version === 1) return readV1(mounts.v1, cgroupsPath);
  if (version === 2) return readV2(path.join(mounts.v2!, cgroupsPath));
  return undefined;
}

async function readV1(v1: Record<string, string>, cg: string): Promise<CgroupStats> {
  const at = (controller: string, file: string) => (v1[controller] ? read(path.join(v1[controller], cg, file)) : Promise.resolve(undefined));
  const [cpu, usage, stat, limit, pidsCurrent, pidsMax, ...blkio] = await Promise.all([
    at("cpuacct", "cpuacct.usage"),
    at("memory", "memory.usage_in_bytes"),
    at("memory", "memory.stat"),
    at("memory", "memory.limit_in_bytes"),
    at("pids", "pids.current"),
    at("pids", "pids.max"),
    ...V1_BLKIO_FILES.map((f) => at("blkio", f)),
  ]);
  const out: CgroupStats = { version: 1 };
  const cpuNs = cpu === undefined ? undefined : parseSingleValue(cpu);
  if (cpuNs !== undefined) out.cpuUsageNs = cpuNs;
  const used = usage === undefined ? undefined : parseSingleValue(usage);
  if (used !== undefined) {
    const lim = limit === undefined ? undefined : parseLimit(limit);
    out.memory = { usageBytes: used, cacheBytes: parseFlatKeyed(stat ?? "").total_inactive_file ?? 0, ...(lim !== undefined ? { limitBytes: lim } : {}) };
  }
  const blk = blkio.map((t) => (t === undefined ? undefined : parseBlkioServiceBytes(t))).find((b) => b !== undefined);
  if (blk) out.blockIo = blk;
  else if (blkio.some((t) => t !== undefined)) out.blockIo = { readBytes: 0, writeBytes: 0 };
  setPids(out, pidsCurrent, pidsMax);
  return out;
}

async function readV2(dir: string): Promise<CgroupStats> {
  const [cpu, current, stat, max, io, pidsCurrent, pidsMax] = await Promise.all(
    ["cpu.stat", "memory.current", "memory.stat", "memory.max", "io.stat", "pids.current", "pids.max"].map((f) => read(path.join(dir, f))),
  );
  const out: CgroupStats = { version: 2 };
  const usec = cpu === undefined ? undefined : parseFlatKeyed(cpu).usage_usec;
  if (usec !== undefined) out.cpuUsageNs = usec * 1000;
  const used = current === undefined ? undefined : parseSingleValue(current);
  if (used !== undefined) {
    const lim = max === undefined ? undefined : parseLimit(max);
    out.memory = { usageBytes: used, cacheBytes: parseFlatKeyed(stat ?? "").inactive_file ?? 0, ...(lim !== undefined ? { limitBytes: lim } : {}) };
  }
  if (io !== undefined) out.blockIo = parseIoStat(io);
  setPids(out, pidsCurrent, pidsMax);
  return out;
}

function setPids(out: CgroupStats, current: string | undefined, max: string | undefined) {
  const n = current === undefined ? undefined : parseSingleValue(current);
  if (n === undefined) return;
  const lim = max === undefined ? undefined : parseLimit(max);
  out.pids = { current: n, ...(lim !== undefined ? { limit: lim } : {}) };
}

/**
 * The pids of the processes in `cgroupsPath` and every cgroup below it (an exec's own group,
 * exec-group.ts, is one; runc's GetAllPids reads the tree the same way): cgroup.procs of the
 * first hierarchy that has the cgroup (v1 pids — where exec groups are made — or memory or
 * cpuacct, else cgroup2), else the thread ids of v1 `tasks` mapped to their thread-group ids
 * (`readTgid`). Empty when the cgroup is gone. Depth and breadth are bounded.
 */
export async function cgroupPids(mounts: CgroupMounts, cgroupsPath: string, readTgid: (tid: number) => Promise<number | undefined>): Promise<number[]> {
  const dirs = [mounts.v1.pids, mounts.v1.memory, mounts.v1.cpuacct, cgroupVersionOf(mounts) === 2 ? mounts.v2 : undefined]
    .filter((d): d is string => !!d)
    .map((d) => path.join(d, cgroupsPath));
  for (const dir of dirs) {
    const out = new Set<number>();
    if (await collectPids(dir, out, readTgid, 0, { left: MAX_CGROUPS })) return [...out].sort((a, b) => a - b);
  }
  return [];
}

const MAX_CGROUPS = 1024;
const MAX_DEPTH = 8;

/** Adds the pids of `dir` and of its sub-cgroups to `out`; false when `dir` is no cgroup (gone, or not in this hierarchy). */
async function collectPids(dir: string, out: Set<number>, readTgid: (tid: number) => Promise<number | undefined>, depth: number, budget: { left: number }): Promise<boolean> {
  if (budget.left-- <= 0) return true;
  const procs = await read(path.join(dir, "cgroup.procs"));
  if (procs !== undefined) for (const p of numbers(procs)) out.add(p);
  else {
    const tasks = await read(path.join(dir, "tasks"));
    if (tasks === undefined) return false;
    for (const tid of numbers(tasks)) {
      const tgid = await readTgid(tid);
      if (tgid !== undefined) out.add(tgid);
    }
  }
  if (depth < MAX_DEPTH) {
    const subs = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of subs) if (e.isDirectory()) await collectPids(path.join(dir, e.name), out, readTgid, depth + 1, budget);
  }
  return true;
}

function numbers(text: string): number[] {
  return text
    .split("\n")
    .filter((l) => /^\d+$/.test(l))
    .map(Number)
    .sort((a, b) => a - b);
}
