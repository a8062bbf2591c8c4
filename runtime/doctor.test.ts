import { describe, expect, it } from "vitest";
import { checkCgroups, checkConmon, checkKernel, checkOverlay, checkRoot, checkRunc, checkSetfattr, compareVersions, parseVersion, runDoctor, type DoctorProbe } from "./doctor.js";

describe("doctor checks", () => {
  it("parses and compares versions", () => {
    expect(parseVersion("6.18.44-fc-v769")).toEqual([6, 18, 44]);
    expect(parseVersion("runc version 1.1.5+ds1")).toEqual([1, 1, 5]);
    expect(parseVersion("5.10")).toEqual([5, 10, 0]);
    expect(parseVersion("none")).toBeUndefined();
    expect(compareVersions([4, 18, 0], [4, 9, 9])).toBeGreaterThan(0);
    expect(compareVersions([1, 1], [1, 1, 0])).toBe(0);
  });

  it.each([
    ["6.1.0-18-amd64", "ok"],
    ["4.19.0", "ok"],
    ["4.9.0", "warn"],
    ["3.10.0-1160.el7", "fail"],
    ["weird", "warn"],
  ])("kernel %s → %s", (rel, status) => expect(checkKernel(rel).status).toBe(status));

  it("root", () => {
    expect(checkRoot(0).status).toBe("ok");
    expect(checkRoot(1000)).toMatchObject({ status: "fail", fix: expect.stringMatching(/root/) });
  });

  it("overlayfs", () => {
    expect(checkOverlay("nodev\tsysfs\nnodev\toverlay\n").status).toBe("ok");
    expect(checkOverlay("nodev\tsysfs\n")).toMatchObject({ status: "fail", fix: expect.stringMatching(/modprobe overlay/) });
    expect(checkOverlay(undefined).status).toBe("fail");
  });

  it("cgroups", () => {
    expect(checkCgroups("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n").detail).toMatch(/v2/);
    expect(checkCgroups("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n").detail).toMatch(/hybrid/);
    expect(checkCgroups("proc /proc proc rw 0 0\n")).toMatchObject({ status: "fail", fix: expect.stringMatching(/cgroupfs-mount/) });
  });

  it("runc and conmon: missing, broken, old, fine", () => {
    expect(checkRunc(undefined, undefined)).toMatchObject({ status: "fail", fix: "apt-get install runc" });
    expect(checkRunc("/usr/sbin/runc", undefined)).toMatchObject({ status: "fail", fix: expect.stringMatching(/reinstall runc/) });
    expect(checkRunc("/usr/sbin/runc", "runc version 1.0.0-rc93\n").status).toBe("fail");
    expect(checkRunc("/usr/sbin/runc", "runc version 1.1.5+ds1\ncommit: x\nspec: 1.0.2-dev\n")).toMatchObject({ status: "ok", detail: "/usr/sbin/runc 1.1.5" });
    expect(checkConmon(undefined, undefined)).toMatchObject({ status: "fail", fix: "apt-get install conmon" });
    expect(checkConmon("/usr/bin/conmon", "conmon version 2.0.2\n").status).toBe("fail");
    expect(checkConmon("/usr/bin/conmon", "conmon version 2.1.6\ncommit: unknown\n").status).toBe("ok");
  });

  it("checks for setfattr", () => {
    expect(checkSetfattr(undefined)).toMatchObject({ status: "fail", fix: "apt-get install attr" });
    expect(checkSetfattr("/usr/bin/setfattr").status).toBe("ok");
  });

  it("runDoctor assembles every check from a probe", async () => {
    const probe: DoctorProbe = {
      uid: () => 0,
      kernelRelease: () => "6.1.0",
      readFile: async (f) =>
        f === "/proc/filesystems" ? "nodev\toverlay\n" : f === "/proc/sys/net/ipv4/ip_forward" ? "0\n" : f.includes("bridge-nf") ? undefined : "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n",
      run: async (cmd) => ({ code: 0, stdout: cmd.endsWith("runc") ? "runc version 1.1.12\n" : cmd.endsWith("iptables") ? "iptables v1.8.9 (nf_tables)\n" : "conmon version 2.1.10\n", stderr: "" }),
      which: (cmd) => (cmd === "conmon" ? undefined : `/usr/sbin/${cmd}`),
      firewallRules: async () => [{ table: "nat", lines: ["-A BERTH-DNAT -m comment --comment web -j BERTH-P-0123456789"] }],
    };
    const r = await runDoctor(probe);
    expect(r.ok).toBe(false);
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([
      ["root", "ok"],
      ["kernel", "ok"],
      ["overlayfs", "ok"],
      ["cgroups", "ok"],
      ["runc", "ok"],
      ["conmon", "fail"],
      ["setfattr", "ok"],
      ["iptables", "ok"],
      ["ip_forward", "warn"],
      ["br_netfilter", "ok"],
    ]);
    expect(r.checks.find((c) => c.name === "ip_forward")?.fix).toMatch(/sysctl -w net.ipv4.ip_forward=1/);
    expect(r.firewall).toEqual([{ table: "nat", lines: ["-A BERTH-DNAT -m comment --comment web -j BERTH-P-0123456789"] }]);
  });

  it("networking checks: iptables missing or of an unknown backend warns", async () => {
    const { checkIptables } = await import("./doctor.js");
    expect(checkIptables(undefined, undefined)).toMatchObject({ status: "warn", fix: "apt-get install iptables" });
    expect(checkIptables("/sbin/iptables", "iptables v1.4.21\n").status).toBe("warn");
    expect(checkIptables("/sbin/iptables", "iptables v1.8.9 (legacy)\n").status).toBe("ok");
  });
});
