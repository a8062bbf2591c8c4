import { describe, expect, it } from "vitest";
import type { ContainerCreateSpec, ImageRuntimeConfig } from "../types.js";
import { DEFAULT_CAPABILITIES, effectiveCapabilities, normalizeCapability } from "../../lib/capabilities.js";
import { buildEnv, buildOciSpec, DEFAULT_PATH, INIT_PATH, MASKED_PATHS, READONLY_PATHS, resolveCommand, type SpecInput } from "./spec-builder.js";
import { testSpec } from "../../test/helpers/rootfs.js";

const ID = "a".repeat(64);

const spec = (over: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec => testSpec("web", over);

function input(over: Partial<ContainerCreateSpec> = {}, image: ImageRuntimeConfig = { Cmd: ["sh"] }, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    id: ID,
    spec: spec(over),
    image,
    rootfs: "/r",
    user: { uid: 0, gid: 0, additionalGids: [0], home: "/root" },
    mounts: [],
    etcFiles: { hosts: "/b/hosts", resolvConf: "/b/resolv.conf", hostname: "/b/hostname" },
    rlimits: [{ type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 }],
    cgroupsPath: `/berth/${ID}`,
    hostHostname: "hosty",
    ...extra,
  };
}

describe("resolveCommand (Docker's ENTRYPOINT/CMD rules)", () => {
  const img: ImageRuntimeConfig = { Entrypoint: ["/entry"], Cmd: ["--default"] };
  it.each([
    ["image only", img, {}, ["/entry", "--default"]],
    ["args replace Cmd", img, { args: ["--x"] }, ["/entry", "--x"]],
    ["command replaces Entrypoint and drops Cmd", img, { command: ["/other"] }, ["/other"]],
    ["command and args", img, { command: ["/other"], args: ["a"] }, ["/other", "a"]],
    ["Cmd only", { Cmd: ["sh"] }, {}, ["sh"]],
    ["null Entrypoint", { Entrypoint: null, Cmd: ["sh"] }, {}, ["sh"]],
    ["args with no Entrypoint", { Cmd: ["sh"] }, { args: ["echo", "x"] }, ["echo", "x"]],
    ["empty args keep Entrypoint", img, { args: [] }, ["/entry"]],
  ] as const)("%s", (_n, image, s, want) => {
    expect(resolveCommand(image as ImageRuntimeConfig, { name: "web", ...s } as ContainerCreateSpec)).toEqual(want);
  });

  it.each([
    ["nothing at all", {}, {}],
    ["empty command drops Cmd", { Cmd: ["sh"] }, { command: [] }],
    ["empty args and no Entrypoint", { Cmd: ["sh"] }, { args: [] }],
  ] as const)("no command: %s", (_n, image, s) => {
    expect(() => resolveCommand(image as ImageRuntimeConfig, { name: "web", ...s } as ContainerCreateSpec)).toThrow(
      expect.objectContaining({ kind: "InvalidArgument", message: expect.stringMatching(/no command/) }),
    );
  });
});

describe("buildEnv", () => {
  it("merges image env under ours, defaults PATH, sets HOSTNAME and HOME", () => {
    expect(buildEnv({ Env: ["A=1", "B=2", "junk"] }, { B: "3", C: "x=y" }, "h", "/home/app")).toEqual([
      `PATH=${DEFAULT_PATH}`,
      "HOSTNAME=h",
      "A=1",
      "B=3",
      "C=x=y",
      "HOME=/home/app",
    ]);
  });
  it("keeps the image PATH and a given HOME", () => {
    expect(buildEnv({ Env: ["PATH=/x"] }, { HOME: "/h" }, "h", "/root")).toEqual(["PATH=/x", "HOSTNAME=h", "HOME=/h"]);
  });
  it.each(["", "A=B", "NUL\0"])("rejects key %j", (k) => {
    expect(() => buildEnv({}, { [k]: "v" }, "h", "/")).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
  });
});

describe("capabilities", () => {
  it.each([
    [[], [], false, [...DEFAULT_CAPABILITIES]],
    [["NET_ADMIN"], [], false, [...DEFAULT_CAPABILITIES, "CAP_NET_ADMIN"]],
    [[], ["chown", "CAP_KILL"], false, DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_CHOWN" && c !== "CAP_KILL")],
    [["CHOWN"], ["ALL"], false, ["CAP_CHOWN"]],
    [["ALL"], ["SYS_ADMIN"], false, "all-but-sys-admin"],
    [["SYS_TIME"], ["SYS_TIME"], false, [...DEFAULT_CAPABILITIES]],
    [[], ["ALL"], true, "all"],
  ] as const)("add %j drop %j privileged %s", (add, drop, priv, want) => {
    const got = effectiveCapabilities(add, drop, priv);
    if (want === "all") expect(got.length).toBe(41);
    else if (want === "all-but-sys-admin") {
      expect(got).not.toContain("CAP_SYS_ADMIN");
      expect(got.length).toBe(40);
    } else expect([...got].sort()).toEqual([...want].sort());
  });
  it("normalizes names and rejects unknown ones", () => {
    expect(normalizeCapability("net_raw")).toBe("CAP_NET_RAW");
    expect(normalizeCapability("cap_chown")).toBe("CAP_CHOWN");
    expect(normalizeCapability("all")).toBe("ALL");
    expect(() => normalizeCapability("FLY")).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
  });
});

describe("buildOciSpec", () => {
  it("builds Docker's defaults", () => {
    const s = buildOciSpec(input());
    expect(s.process.args).toEqual(["sh"]);
    expect(s.process.cwd).toBe("/");
    expect(s.process.user).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(s.process.noNewPrivileges).toBe(false); // as Docker: setuid binaries in images work
    expect(s.process.capabilities.bounding).toEqual(s.process.capabilities.effective);
    expect([...s.process.capabilities.bounding].sort()).toEqual([...DEFAULT_CAPABILITIES].sort());
    expect(s.process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 }]);
    expect(s.hostname).toBe(ID.slice(0, 12));
    expect(s.root).toEqual({ path: "/r", readonly: false });
    expect(s.linux.namespaces.map((n) => n.type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
    expect(s.linux.maskedPaths).toEqual([...MASKED_PATHS]);
    expect(s.linux.readonlyPaths).toEqual([...READONLY_PATHS]);
    expect(s.linux.cgroupsPath).toBe(`/berth/${ID}`);
    expect(s.linux.resources.devices[0]).toEqual({ allow: false, access: "rwm" });
    expect(s.linux.resources.memory).toBeUndefined();
    expect(s.mounts.map((m) => m.destination)).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/sys",
      "/sys/fs/cgroup",
      "/dev/mqueue",
      "/dev/shm",
      "/etc/hosts",
      "/etc/resolv.conf",
      "/etc/hostname",
    ]);
    expect(s.mounts.find((m) => m.destination === "/sys")!.options).toContain("ro");
    expect(s.mounts.find((m) => m.destination === "/dev/shm")!.options).toContain("size=67108864");
    expect(s.process.env).toContain(`HOSTNAME=${ID.slice(0, 12)}`);
  });

  it("host network: no network namespace, the host's hostname", () => {
    const s = buildOciSpec(input({ networkMode: "host" }));
    expect(s.linux.namespaces.map((n) => n.type)).not.toContain("network");
    expect(s.hostname).toBe("hosty");
    expect(buildOciSpec(input({ networkMode: "host", hostname: "mine" })).hostname).toBe("mine");
  });

  it("resources: memory with swap = memory, cpus as quota/period, pids", () => {
    const s = buildOciSpec(input({ resources: { memoryBytes: 64 * 1024 * 1024, cpus: 1.5, pids: 100 } }));
    expect(s.linux.resources.memory).toEqual({ limit: 67108864, swap: 67108864 });
    expect(s.linux.resources.cpu).toEqual({ quota: 150000, period: 100000 });
    expect(s.linux.resources.pids).toEqual({ limit: 100 });
    const noSwap = buildOciSpec(input({ resources: { memoryBytes: 64 * 1024 * 1024 } }, undefined, { swapAccounting: false }));
    expect(noSwap.linux.resources.memory).toEqual({ limit: 67108864 });
  });

  it.each([
    [{ memoryBytes: 1024 }],
    [{ memoryBytes: 5 * 1024 * 1024 + 0.5 }],
    [{ cpus: 0 }],
    [{ cpus: 0.001 }],
    [{ pids: 0 }],
    [{ pids: 1.5 }],
  ])("rejects resources %j", (resources) => {
    expect(() => buildOciSpec(input({ resources }))).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
  });

  it("readOnlyRootfs, workingDir, privileged", () => {
    const ro = buildOciSpec(input({ readOnlyRootfs: true, workingDir: "/app" }));
    expect(ro.root.readonly).toBe(true);
    expect(ro.process.cwd).toBe("/app");
    expect(ro.mounts.find((m) => m.destination === "/etc/hosts")!.options).toContain("ro");
    expect(buildOciSpec(input({}, { Cmd: ["sh"], WorkingDir: "srv" })).process.cwd).toBe("/srv");
    expect(() => buildOciSpec(input({ workingDir: "rel" }))).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
    const p = buildOciSpec(input({ privileged: true }));
    expect(p.linux.maskedPaths).toEqual([]);
    expect(p.linux.readonlyPaths).toEqual([]);
    expect(p.linux.resources.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(p.process.noNewPrivileges).toBe(false);
    expect(p.mounts.find((m) => m.destination === "/sys")!.options).toContain("rw");
    expect(buildOciSpec(input({ privileged: true }, undefined, { knownCapabilities: ["CAP_CHOWN", "CAP_KILL"] })).process.capabilities.bounding).toEqual([
      "CAP_CHOWN",
      "CAP_KILL",
    ]);
  });

  it("user mounts replace default mounts at the same destination and come last", () => {
    const s = buildOciSpec(
      input({}, undefined, {
        mounts: [
          { destination: "/dev/shm", type: "tmpfs", source: "tmpfs", options: ["size=1"] },
          { destination: "/data", type: "bind", source: "/v", options: ["rbind", "ro"] },
        ],
      }),
    );
    expect(s.mounts.filter((m) => m.destination === "/dev/shm")).toEqual([{ destination: "/dev/shm", type: "tmpfs", source: "tmpfs", options: ["size=1"] }]);
    expect(s.mounts.at(-1)!.destination).toBe("/data");
  });

  it("rejects bad hostnames", () => {
    expect(() => buildOciSpec(input({ hostname: "bad host" }))).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
  });
});

describe("init: true (Docker's --init)", () => {
  it("makes the init PID 1 with -- before the argv, bound read-only at /dev/init after /dev's tmpfs", () => {
    const oci = buildOciSpec(input({ init: true, command: ["sh", "-c", "sleep 1000 & wait"] }, { Cmd: ["sh"] }, { initBinary: "/usr/bin/tini-static" }));
    expect(oci.process.args).toEqual([INIT_PATH, "--", "sh", "-c", "sleep 1000 & wait"]);
    expect(INIT_PATH).toBe("/dev/init");
    const dests = oci.mounts.map((m) => m.destination);
    expect(dests.indexOf("/dev/init")).toBeGreaterThan(dests.indexOf("/dev"));
    expect(oci.mounts.find((m) => m.destination === "/dev/init")).toEqual({ destination: "/dev/init", type: "bind", source: "/usr/bin/tini-static", options: ["rbind", "ro", "nosuid", "nodev", "rprivate"] });
  });

  it("adds nothing without it, and refuses it without a binary or with a mount at /dev/init", () => {
    const plain = buildOciSpec(input({}, { Cmd: ["sh"] }, { initBinary: "/usr/bin/tini-static" }));
    expect(plain.process.args).toEqual(["sh"]);
    expect(plain.mounts.some((m) => m.destination === INIT_PATH)).toBe(false);
    expect(() => buildOciSpec(input({ init: true }))).toThrow(/init binary/);
    const mounted = input({ init: true }, { Cmd: ["sh"] }, { initBinary: "/i", mounts: [{ destination: "/dev/init", type: "bind", source: "/x", options: ["rbind"] }] });
    expect(() => buildOciSpec(mounted)).toThrow(/a mount targets \/dev\/init/);
  });
});
