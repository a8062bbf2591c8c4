import { describe, expect, it } from "vitest";
import { conmonArgs, parseSyncMessage } from "./conmon.js";

describe("conmon argv", () => {
  const base = {
    id: "f".repeat(64),
    name: "web",
    runcPath: "/usr/sbin/runc",
    runcRoot: "/run/berth/runc",
    bundle: "/run/berth/containers/x",
    containerPidFile: "/b/pidfile",
    conmonPidFile: "/b/conmon.pid",
    exitDir: "/run/berth/exits",
    persistDir: "/b/persist",
    logPath: "/var/lib/berth/containers/x/ctr.log",
    logSizeMax: 1024,
    socketDir: "/run/berth/sockets",
  };
  it("passes every path as its own argv element, podman-style", () => {
    const a = conmonArgs(base);
    const flag = (f: string) => a[a.indexOf(f) + 1];
    expect(a.slice(0, 2)).toEqual(["--api-version", "1"]);
    expect(flag("-c")).toBe(base.id);
    expect(flag("-u")).toBe(base.id);
    expect(flag("-r")).toBe("/usr/sbin/runc");
    expect(flag("-b")).toBe(base.bundle);
    expect(flag("-p")).toBe("/b/pidfile");
    expect(flag("--conmon-pidfile")).toBe("/b/conmon.pid");
    expect(flag("--exit-dir")).toBe("/run/berth/exits");
    expect(flag("--persist-dir")).toBe("/b/persist");
    expect(flag("-l")).toBe(`k8s-file:${base.logPath}`);
    expect(flag("--log-size-max")).toBe("1024");
    expect(a).toContain("--runtime-arg=--root=/run/berth/runc");
    expect(a).toContain("--full-attach");
  });
  it("omits --log-size-max when unlimited", () => {
    expect(conmonArgs({ ...base, logSizeMax: 0 })).not.toContain("--log-size-max");
  });
  it("adds a terminal and an open stdin only when asked", () => {
    const plain = conmonArgs(base);
    for (const f of ["--terminal", "--stdin", "--leave-stdin-open"]) expect(plain).not.toContain(f);
    expect(conmonArgs({ ...base, terminal: true })).toContain("--terminal");
    const i = conmonArgs({ ...base, stdin: true, leaveStdinOpen: true });
    expect(i).toContain("--stdin");
    expect(i).toContain("--leave-stdin-open");
    expect(conmonArgs({ ...base, leaveStdinOpen: true })).not.toContain("--leave-stdin-open");
  });
});

describe("sync pipe messages", () => {
  it.each([
    ['{"data": 4242}', { pid: 4242 }],
    ['{"data": -1, "message": "runc create failed: exec: \\"nope\\": not found\\n"}', { error: 'runc create failed: exec: "nope": not found' }],
    ['{"data": -1}', { error: "conmon reported -1" }],
    ["not json", { error: expect.stringMatching(/malformed/) }],
    ['{"pid": 1}', { error: expect.stringMatching(/malformed/) }],
  ])("%s", (line, want) => {
    expect(parseSyncMessage(line)).toEqual(want);
  });
});
