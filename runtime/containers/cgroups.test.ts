import { describe, expect, it } from "vitest";
import { cgroupMountpoints, memoryMountpoint, parseCgroupLayout, parseOomKillCount } from "./cgroups.js";
import { parseStatStartTime } from "./proc.js";
import { normalizeSignal } from "../../lib/signals.js";
import { containerRlimits, parseProcLimits } from "./host-limits.js";

const HYBRID = `sysfs /sys sysfs rw 0 0
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;
const V1 = HYBRID.split("\n").filter((l) => !l.startsWith("cgroup2")).join("\n");
const V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n";

describe("cgroup layout", () => {
  it.each([
    [HYBRID, "hybrid"],
    [V1, "v1"],
    [V2, "v2"],
    ["proc /proc proc rw 0 0\n", "none"],
  ])("%#", (text, want) => expect(parseCgroupLayout(text)).toBe(want));

  it("finds hierarchies and the memory controller", () => {
    expect(cgroupMountpoints(HYBRID)).toEqual(["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"]);
    expect(memoryMountpoint(HYBRID)).toBe("/sys/fs/cgroup/memory");
    expect(memoryMountpoint(V2)).toBeUndefined();
  });

  it("reads oom_kill counters (v1 memory.oom_control, v2 memory.events)", () => {
    expect(parseOomKillCount("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")).toBe(2);
    expect(parseOomKillCount("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")).toBe(1);
    expect(parseOomKillCount("oom_kill_disable 0\n")).toBe(0);
  });
});

describe("host facts", () => {
  it("parses /proc/<pid>/stat start time past a hostile comm", () => {
    const stat = "123 (evil) name) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200";
    expect(parseStatStartTime(stat)).toBe("98765");
  });

  it("parses /proc/self/limits and derives rlimits under the hard limit", () => {
    const text = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 20000                files
Max processes             96365                96365                processes
`;
    const l = parseProcLimits(text);
    expect(l.RLIMIT_NOFILE).toEqual({ soft: 1024, hard: 20000 });
    expect(l.RLIMIT_CPU).toEqual({ soft: "unlimited", hard: "unlimited" });
    expect(containerRlimits(l)).toEqual([{ type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 }]);
    expect(containerRlimits(parseProcLimits("Max open files            1024   4194304  files\n"))).toEqual([
      { type: "RLIMIT_NOFILE", soft: 1048576, hard: 1048576 },
    ]);
  });
});

describe("signals", () => {
  it.each([
    ["TERM", "SIGTERM"],
    ["sigkill", "SIGKILL"],
    ["9", "SIGKILL"],
    ["SIGRTMIN+3", "37"],
    ["40", "40"],
    ["SIGNOPE", undefined],
    ["0", undefined],
    ["65", undefined],
    ["--all", undefined],
  ])("%s → %s", (s, want) => expect(normalizeSignal(s)).toBe(want));
});
