import { describe, expect, it } from "vitest";
import { execGroupHierarchy } from "./exec-group.js";
import { runcStartError } from "./runc.js";

const V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n";
const HYBRID = [
  "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0",
  "cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0",
  "cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0",
  "cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0",
  "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0",
].join("\n");

describe("exec group hierarchy", () => {
  it("v2: the unified hierarchy with every controller; v1 and hybrid: pids, else freezer; none without either", () => {
    expect(execGroupHierarchy(V2)).toEqual({ mount: "/sys/fs/cgroup", controller: "" });
    expect(execGroupHierarchy(HYBRID)).toEqual({ mount: "/sys/fs/cgroup/pids", controller: "pids" });
    expect(execGroupHierarchy(HYBRID.replace(/.*pids.*\n/, ""))).toEqual({ mount: "/sys/fs/cgroup/freezer", controller: "freezer" });
    // A cpuset child starts without cpus: never the exec's group.
    expect(execGroupHierarchy("cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n")).toBeUndefined();
    expect(execGroupHierarchy("")).toBeUndefined();
  });
});

describe("runc start errors", () => {
  const line = (msg: string, level = "error") => JSON.stringify({ level, msg, time: "2026-12-01T11:18:06Z" });

  it("keeps Docker's part of runc's reason: from `exec:` on", () => {
    expect(runcStartError(`${line('exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH')}\n`)).toBe(
      'exec: "nosuch": executable file not found in $PATH',
    );
    expect(runcStartError(line('exec failed: unable to start container process: exec: "/etc/passwd": permission denied'))).toBe('exec: "/etc/passwd": permission denied');
    expect(runcStartError(line('container_linux.go:380: starting container process caused: exec: "x": stat x: no such file or directory'))).toBe(
      'exec: "x": stat x: no such file or directory',
    );
  });

  it("the last error wins over warnings; other failures are said as runc said them; nothing said is still a reason", () => {
    expect(runcStartError([line("cgroup warning", "warning"), line("cannot exec in a stopped container")].join("\n"))).toBe("cannot exec in a stopped container");
    expect(runcStartError("plain text\nlast line\n")).toBe("last line");
    expect(runcStartError("")).toBe("exec: the OCI runtime could not start the process");
  });
});
