import { describe, expect, it } from "vitest";
import { commandOf, formatCpuTime, parseCmdline, parsePasswd, parseProcStat, parseProcStatus } from "./proc-stat.js";

// A real /proc/<pid>/stat line (of `cat`), and one whose comm has spaces and parentheses.
const CAT =
  "30676 (cat) R 30673 30673 2005 0 -1 4194304 101 0 0 0 7 3 0 0 20 0 1 0 2860852 3133440 382 18446744073709551615 94886657843200 94886657863081 140723225575088 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94886657879088 94886657880704 94887530524672 140723225578209 140723225578229 140723225578229 140723225579499 0\n";
const TRICKY = "412 (a) b (c) S 1 412 412 0 -1 4194560 90 0 0 0 123456 6544 0 0 20 0 3 0 9999 1000 50 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

describe("/proc/<pid>/stat", () => {
  it("reads the fields ps reads", () => {
    expect(parseProcStat(CAT)).toEqual({ pid: 30676, comm: "cat", state: "R", ppid: 30673, utime: 7, stime: 3, numThreads: 1, startTime: 2860852, rssPages: 382 });
  });
  it("cuts comm at the last parenthesis", () => {
    const s = parseProcStat(TRICKY)!;
    expect([s.comm, s.state, s.ppid, s.utime, s.stime, s.numThreads, s.startTime]).toEqual(["a) b (c", "S", 1, 123456, 6544, 3, 9999]);
  });
  it.each(["", "garbage", "12 (x) S 1 2"])("refuses %j", (t) => expect(parseProcStat(t)).toBeUndefined());
});

describe("/proc/<pid>/status", () => {
  it("reads uids, gids and tgid", () => {
    const text = "Name:\tsh\nTgid:\t412\nPid:\t413\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
    expect(parseProcStatus(text)).toEqual({ uids: [1000, 0, 0, 0], gids: [100, 100, 100, 100], tgid: 412 });
  });
  it("is undefined without Uid", () => expect(parseProcStatus("Name:\tsh\n")).toBeUndefined());
});

describe("cmdline and CMD", () => {
  it("splits on NUL, with or without the last one", () => {
    expect(parseCmdline(Buffer.from("sleep\x001000\x00"))).toEqual(["sleep", "1000"]);
    expect(parseCmdline(Buffer.from("nginx: worker process"))).toEqual(["nginx: worker process"]);
    expect(parseCmdline(Buffer.alloc(0))).toEqual([]);
  });
  it("shows [comm] for a process without argv, and no control characters", () => {
    expect(commandOf([], "kworker/0:1")).toBe("[kworker/0:1]");
    expect(commandOf(["sh", "-c", "echo a\nb"], "sh")).toBe("sh -c echo a?b");
  });
});

describe("TIME", () => {
  it.each([
    [0, "00:00:00"],
    [99, "00:00:00"],
    [100, "00:00:01"],
    [100 * 3723, "01:02:03"],
    [100 * (2 * 86400 + 5), "2-00:00:05"],
  ])("%d ticks is %s", (ticks, want) => expect(formatCpuTime(ticks)).toBe(want));
});

describe("/etc/passwd", () => {
  it("maps uids to the first name", () => {
    const m = parsePasswd("root:x:0:0:root:/root:/bin/bash\n# comment\nnobody:x:65534:65534::/:/sbin/nologin\ntoor:x:0:0::/:/bin/sh\nbad:x:zz:0::/:\n");
    expect([...m]).toEqual([
      [0, "root"],
      [65534, "nobody"],
    ]);
  });
});
