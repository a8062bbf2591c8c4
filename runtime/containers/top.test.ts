import { describe, expect, it } from "vitest";
import { isBerthError } from "../../lib/errors.js";
import type { ProcessInfo } from "./proc-stat.js";
import { defaultTopRows, parsePsOutput, splitPsArgs, validatePsArgs } from "./top.js";

describe("ps options", () => {
  it("splits on ASCII whitespace", () => expect(splitPsArgs("  -o pid,comm\t-L ")).toEqual(["-o", "pid,comm", "-L"]));

  it.each([["aux"], ["-ef"], ["-o", "pid,comm"], ["-o", "pid=PID,user=USER"], ["-eo", "pid,ppid,pcpu,rss,args"], ["-L", "-o", "pid,lwp,comm"], ["m", "-o", "pid,tid,comm"]])(
    "accepts %j",
    (...args) => expect(() => validatePsArgs(args)).not.toThrow(),
  );

  it.each([
    [["-o", "user=PID"], 'specifying "user=PID" is not allowed'],
    [["-o", "pid,ppid=PID"], 'specifying "ppid=PID" is not allowed'],
    [["-q", "1"], "not allowed: berth selects"],
    [["-q1"], "not allowed: berth selects"],
    [["q"], "not allowed: berth selects"],
    [["--quick-pid=1"], "not allowed: berth selects"],
    [["-o", "pid;rm -rf /"], "invalid ps option"],
    [["$(id)"], "invalid ps option"],
    [[""], "invalid ps option"],
    [Array.from({ length: 33 }, () => "-f"), "at most 32"],
  ])("refuses %j", (args, message) => {
    let err: unknown;
    try {
      validatePsArgs(args);
    } catch (e) {
      err = e;
    }
    expect(isBerthError(err, "InvalidArgument")).toBe(true);
    expect((err as Error).message).toContain(message);
  });
});

describe("ps output", () => {
  // procps 4.0.2 `ps -ef` (with -q) and `ps m -o pid,tid,comm`.
  const EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root        4012    3990  0 10:01 ?        00:00:00 sh -c sleep 3600 & wait
root        4031    4012  0 10:01 ?        00:00:00 sleep 3600
root        4100       1  0 10:02 ?        00:00:00 /usr/bin/other
`;
  it("keeps the container's pids, the last column taking the rest of the line", () => {
    expect(parsePsOutput(EF, [4012, 4031])).toEqual({
      titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
      processes: [
        ["root", "4012", "3990", "0", "10:01", "?", "00:00:00", "sh -c sleep 3600 & wait"],
        ["root", "4031", "4012", "0", "10:01", "?", "00:00:00", "sleep 3600"],
      ],
    });
  });
  it("keeps thread lines (PID -) with the process above them only", () => {
    const M = `    PID     TID COMMAND
   4012       - sh
      -    4012 -
   4100       - other
      -    4100 -
      -    4101 -
`;
    expect(parsePsOutput(M, [4012]).processes).toEqual([
      ["4012", "-", "sh"],
      ["-", "4012", "-"],
    ]);
  });
  it("needs a PID column", () => {
    expect(() => parsePsOutput("COMMAND\nsh\n", [1])).toThrow(/no PID column/);
  });
});

describe("default rows from /proc", () => {
  const proc = (pid: number, euid: number, ticks: number, argv: string[], comm: string): ProcessInfo => ({
    stat: { pid, comm, state: "S", ppid: 1, utime: ticks, stime: ticks, numThreads: 1, startTime: 1, rssPages: 1 },
    status: { uids: [0, euid, euid, euid], gids: [0, 0, 0, 0] },
    argv,
  });
  it("PID, USER (effective, by host name or number), TIME, CMD, by pid", () => {
    const rows = defaultTopRows([proc(20, 1234, 50, ["sleep", "99"], "sleep"), proc(7, 0, 6150, ["sh"], "sh"), proc(9, 65534, 0, [], "zomb")], new Map([[0, "root"], [65534, "nobody"]]));
    expect(rows).toEqual({
      titles: ["PID", "USER", "TIME", "CMD"],
      processes: [
        ["7", "root", "00:02:03", "sh"],
        ["9", "nobody", "00:00:00", "[zomb]"],
        ["20", "1234", "00:00:01", "sleep 99"],
      ],
    });
  });
});
