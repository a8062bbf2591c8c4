import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cgroupPids, cgroupVersionOf, parseBlkioServiceBytes, parseCgroupMounts, parseFlatKeyed, parseIoStat, parseLimit, readCgroupStats } from "./cgroup-stats.js";

// This host's layout: v1 controllers (cpu and cpuacct apart), a named systemd hierarchy, cgroup2 without controllers.
const HYBRID = `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;
const DEBIAN_V1 = "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n";
const V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n";

describe("where the controllers are", () => {
  it("hybrid: v1 controllers are read", () => {
    const m = parseCgroupMounts(HYBRID);
    expect(m).toEqual({
      v1: { cpu: "/sys/fs/cgroup/cpu", cpuacct: "/sys/fs/cgroup/cpuacct", memory: "/sys/fs/cgroup/memory", blkio: "/sys/fs/cgroup/blkio", pids: "/sys/fs/cgroup/pids" },
      v2: "/sys/fs/cgroup/unified",
    });
    expect(cgroupVersionOf(m)).toBe(1);
  });
  it("a joint cpu,cpuacct mount", () => expect(parseCgroupMounts(DEBIAN_V1).v1.cpuacct).toBe("/sys/fs/cgroup/cpu,cpuacct"));
  it("v2", () => {
    expect(parseCgroupMounts(V2)).toEqual({ v1: {}, v2: "/sys/fs/cgroup" });
    expect(cgroupVersionOf(parseCgroupMounts(V2))).toBe(2);
  });
});

describe("file formats", () => {
  it("flat keyed", () => expect(parseFlatKeyed("cache 9482240\ntotal_inactive_file 300531712\nbad line x\n")).toEqual({ cache: 9482240, total_inactive_file: 300531712 }));
  it.each([
    ["max\n", undefined],
    ["9223372036854771712\n", undefined],
    ["67108864\n", 67108864],
    ["", undefined],
  ])("limit %j", (t, want) => expect(parseLimit(t)).toBe(want));
  it("v1 blkio: Read and Write summed over devices; no device is no data", () => {
    const t = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n8:16 Read 1\n8:16 Write 2\nTotal 12291\n";
    expect(parseBlkioServiceBytes(t)).toEqual({ readBytes: 4097, writeBytes: 8194 });
    expect(parseBlkioServiceBytes("Total 0\n")).toBeUndefined();
  });
  it("v2 io.stat", () => {
    expect(parseIoStat("8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n254:0 rbytes=10 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n")).toEqual({ readBytes: 1459210, writeBytes: 314773524 });
  });
});

describe("reading a container's cgroup", () => {
  const base = mkdtempSync(path.join(tmpdir(), "berth-cgstats-"));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const write = (dir: string, files: Record<string, string>) => {
    mkdirSync(dir, { recursive: true });
    for (const [f, t] of Object.entries(files)) writeFileSync(path.join(dir, f), t);
  };
  const cg = "/berth/0123456789abcdef";

  it("v1: cpuacct.usage, usage minus total_inactive_file, the limit, blkio's first file with devices, pids", async () => {
    const v1 = Object.fromEntries(["cpuacct", "memory", "blkio", "pids"].map((c) => [c, path.join(base, "v1", c)]));
    write(path.join(v1.cpuacct!, cg), { "cpuacct.usage": "123456789\n" });
    write(path.join(v1.memory!, cg), { "memory.usage_in_bytes": "50331648\n", "memory.limit_in_bytes": "67108864\n", "memory.stat": "cache 8388608\ntotal_cache 8388608\ntotal_inactive_file 4194304\n" });
    write(path.join(v1.blkio!, cg), { "blkio.io_service_bytes_recursive": "Total 0\n", "blkio.bfq.io_service_bytes_recursive": "Total 0\n", "blkio.throttle.io_service_bytes_recursive": "8:0 Read 100\n8:0 Write 200\nTotal 300\n" });
    write(path.join(v1.pids!, cg), { "pids.current": "3\n", "pids.max": "max\n", "cgroup.procs": "40\n12\n" });
    // an exec's own group below it (exec-group.ts): its processes are the container's too
    write(path.join(v1.pids!, cg, "exec-1a2b"), { "cgroup.procs": "77\n" });
    const mounts = { v1, v2: path.join(base, "unified") };
    expect(await readCgroupStats(mounts, cg)).toEqual({
      version: 1,
      cpuUsageNs: 123456789,
      memory: { usageBytes: 50331648, cacheBytes: 4194304, limitBytes: 67108864 },
      blockIo: { readBytes: 100, writeBytes: 200 },
      pids: { current: 3 },
    });
    expect(await cgroupPids(mounts, cg, async () => undefined)).toEqual([12, 40, 77]);
  });

  it("v1 without cgroup.procs: tasks mapped to thread groups", async () => {
    const v1 = { memory: path.join(base, "v1t", "memory") };
    write(path.join(v1.memory, cg), { tasks: "10\n11\n12\n20\n" });
    const tgid: Record<number, number> = { 10: 10, 11: 10, 12: 10, 20: 20 };
    expect(await cgroupPids({ v1 }, cg, async (t) => tgid[t])).toEqual([10, 20]);
  });

  it("v2: cpu.stat usage_usec, memory.current minus inactive_file, memory.max, io.stat, pids", async () => {
    const root = path.join(base, "v2");
    write(path.join(root, cg), {
      "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
      "memory.current": "10485760\n",
      "memory.max": "max\n",
      "memory.stat": "anon 6291456\nfile 4194304\ninactive_file 1048576\nactive_file 3145728\n",
      "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
      "pids.current": "2\n",
      "pids.max": "100\n",
    });
    expect(await readCgroupStats({ v1: {}, v2: root }, cg)).toEqual({
      version: 2,
      cpuUsageNs: 2_500_000_000,
      memory: { usageBytes: 10485760, cacheBytes: 1048576 },
      blockIo: { readBytes: 4096, writeBytes: 8192 },
      pids: { current: 2, limit: 100 },
    });
  });

  it("a cgroup that is gone: no counters", async () => {
    expect(await readCgroupStats({ v1: {}, v2: path.join(base, "nothing") }, cg)).toEqual({ version: 2 });
    expect(await cgroupPids({ v1: {}, v2: path.join(base, "nothing") }, cg, async () => undefined)).toEqual([]);
  });
});
