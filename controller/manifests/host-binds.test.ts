import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { berthPathsOf, defaultBerthPaths, hostBindErrors, hostBindExposure, resolveExisting, type BerthPaths } from "./host-binds.js";
import { container, diagnose, load } from "./testing.js";

const SUGGESTION = "refused unless the daemon or the apply allows host binds (--allow-host-binds)";

describe("hostBindExposure", () => {
  let base: string;
  let paths: BerthPaths;
  beforeAll(() => {
    base = realpathSync(mkdtempSync(path.join(tmpdir(), "berth-hostbinds-")));
    for (const d of ["srv/state/containers", "srv/run", "sock", "ok", "srv/state2"]) mkdirSync(path.join(base, d), { recursive: true });
    writeFileSync(path.join(base, "sock", "berth.sock"), "");
    symlinkSync("/", path.join(base, "to-root"));
    symlinkSync(path.join(base, "srv", "state", "containers"), path.join(base, "to-state"));
    symlinkSync(path.join(base, "srv"), path.join(base, "to-srv"));
    symlinkSync(path.join(base, "ok"), path.join(base, "to-ok"));
    paths = { root: path.join(base, "srv", "state"), runRoot: path.join(base, "srv", "run"), socketPath: path.join(base, "sock", "berth.sock") };
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const judge = (source: string) => {
    const e = hostBindExposure(source.replace("$B", base), paths);
    return e && { ...e, resolved: e.resolved.replace(base, "$B"), what: e.what.replaceAll(base, "$B") };
  };

  it.each([
    ["/", "berth's state directory $B/srv/state"],
    ["/proc", "the host's /proc"],
    ["/proc/sys/kernel", "the host's /proc"],
    ["/sys", "the host's /sys"],
    ["/sys/fs/cgroup", "the host's /sys"],
    ["/dev", "the host's /dev"],
    ["/dev/sda", "the host's /dev"],
    ["/boot", "the host's /boot"],
    ["/var/run/docker.sock", "the Docker socket /var/run/docker.sock"],
    ["/run/docker.sock", expect.stringMatching(/^the Docker socket \/(var\/)?run\/docker\.sock$/)], // where /var/run links to /run, the first
    ["/run/containerd/containerd.sock", "the containerd socket /run/containerd/containerd.sock"],
    ["/run/containerd", "the containerd socket /run/containerd/containerd.sock"],
    ["/run/podman/podman.sock", "the Podman socket /run/podman/podman.sock"],
    ["/run/crio/crio.sock", "the CRI-O socket /run/crio/crio.sock"],
    ["/run/crio", "the CRI-O socket /run/crio/crio.sock"],
    ["/run", expect.stringMatching(/^the Docker socket /)],
    ["/var/run", "the Docker socket /var/run/docker.sock"],
    ["$B", "berth's state directory $B/srv/state"],
    ["$B/srv", "berth's state directory $B/srv/state"],
    ["$B/sock", "berth's API socket $B/sock/berth.sock"],
  ])("refuses %s unless allowed: it exposes %s", (source, what: unknown) => {
    expect(judge(source)).toMatchObject({ what, always: false });
  });

  it.each([
    ["$B/srv/state", "berth's state directory $B/srv/state"],
    ["$B/srv/state/containers", "berth's state directory $B/srv/state"],
    ["$B/srv/run", "berth's run directory $B/srv/run"],
    ["$B/srv/run/not-yet", "berth's run directory $B/srv/run"],
    ["$B/sock/berth.sock", "berth's API socket $B/sock/berth.sock"],
  ])("refuses %s always: it is or lies inside %s", (source, what) => {
    expect(judge(source)).toMatchObject({ what, always: true });
  });

  it("judges the source after '..' and symlinks of its existing part", () => {
    expect(judge("/tmp/../")).toMatchObject({ resolved: "/", always: false });
    expect(judge("$B/ok/../srv")).toMatchObject({ resolved: "$B/srv", what: "berth's state directory $B/srv/state" });
    expect(judge("$B/to-root")).toMatchObject({ resolved: "/", what: "berth's state directory $B/srv/state", always: false });
    expect(judge("$B/to-root/proc")).toMatchObject({ resolved: "/proc", what: "the host's /proc" });
    expect(judge("$B/to-state")).toMatchObject({ resolved: "$B/srv/state/containers", always: true });
    // the existing prefix is resolved, the rest appended
    expect(judge("$B/to-srv/state/new/dir")).toMatchObject({ resolved: "$B/srv/state/new/dir", always: true });
    expect(resolveExisting(path.join(base, "to-root", "no", "such"))).toBe("/no/such");
  });

  it("says where a symlink led, at the mount's position", () => {
    expect(diagnose(container(`  mounts: ['${base}/to-root:/host']\n`), { berthPaths: paths })).toEqual([
      `t.yaml:7:12: error: container/web: spec.mounts[0]: bind source ${base}/to-root (resolves to /) exposes berth's state directory ${paths.root}; ${SUGGESTION}`,
    ]);
    expect(diagnose(container(`  mounts: [{type: bind, source: '${base}/to-state', target: /s}]\n`), { berthPaths: paths, allowHostBinds: true })).toEqual([
      `t.yaml:7:33: error: container/web: spec.mounts[0].source: bind source ${base}/to-state (resolves to ${paths.root}/containers) is inside berth's state directory ${paths.root}: berth's own state is never bind-mounted`,
    ]);
  });

  it("allows harmless sources", () => {
    for (const s of ["$B/ok", "$B/to-ok", "$B/srv/state2", "$B/missing/dir", "/srv/data", "/etc/ssl/certs", "/var/log", "/run/user", "/devices", "/processes"]) {
      expect(judge(s), s).toBeUndefined();
    }
  });

  it("reports through hostBindErrors unless allowed; berth's own state even when allowed", () => {
    const mounts = [
      { type: "bind" as const, source: "/", target: "/host", readOnly: false },
      { type: "volume" as const, source: "data", target: "/data", readOnly: false },
      { type: "bind" as const, source: paths.root, target: "/state", readOnly: true },
    ];
    const input = ["/:/host", "data:/data", { type: "bind", source: paths.root, target: "/state" }];
    expect(hostBindErrors(mounts, input, { allowHostBinds: false, berthPaths: paths }).map((e) => e.path)).toEqual([
      ["spec", "mounts", 0],
      ["spec", "mounts", 2, "source"],
    ]);
    expect(hostBindErrors(mounts, input, { allowHostBinds: true, berthPaths: paths })).toEqual([
      { path: ["spec", "mounts", 2, "source"], message: `bind source ${paths.root} is berth's state directory ${paths.root}: berth's own state is never bind-mounted` },
    ]);
  });

  it("defaults berth's paths like the CLI", () => {
    expect(defaultBerthPaths({})).toEqual({ root: "/var/lib/berth", runRoot: "/run/berth", socketPath: "/run/berth/berth.sock" });
    expect(defaultBerthPaths({ BERTH_ROOT: "/r", BERTH_RUN_ROOT: "/rr" })).toEqual({ root: "/r", runRoot: "/rr", socketPath: "/rr/berth.sock" });
    expect(berthPathsOf({ root: "/srv/b", runRoot: "/run/b2", socketPath: "" })).toEqual({ root: "/srv/b", runRoot: "/run/b2", socketPath: "/run/b2/berth.sock" });
  });
});

describe("host binds in manifests (located)", () => {
  const paths = { root: "/var/lib/berth", runRoot: "/run/berth", socketPath: "/run/berth/berth.sock" };
  const d = (spec: string, o: { allowHostBinds?: boolean } = {}) => diagnose(container(spec), { berthPaths: paths, ...o });

  it.each([
    ["  mounts: ['/:/host']\n", `7:12: error: container/web: spec.mounts[0]: bind source / exposes berth's state directory /var/lib/berth; ${SUGGESTION}`],
    ["  mounts: ['/tmp/../:/host:ro']\n", `7:12: error: container/web: spec.mounts[0]: bind source / exposes berth's state directory /var/lib/berth; ${SUGGESTION}`],
    ["  mounts: [{type: bind, source: /, target: /host}]\n", `7:33: error: container/web: spec.mounts[0].source: bind source / exposes berth's state directory /var/lib/berth; ${SUGGESTION}`],
    ["  mounts:\n    - data:/data\n    - type: bind\n      source: /var/lib\n      target: /x\n", `10:15: error: container/web: spec.mounts[1].source: bind source /var/lib exposes berth's state directory /var/lib/berth; ${SUGGESTION}`],
    ["  mounts: ['/var/run/docker.sock:/var/run/docker.sock']\n", `7:12: error: container/web: spec.mounts[0]: bind source /var/run/docker.sock exposes the Docker socket /var/run/docker.sock; ${SUGGESTION}`],
    ["  mounts: ['/run/containerd:/run/containerd']\n", `7:12: error: container/web: spec.mounts[0]: bind source /run/containerd exposes the containerd socket /run/containerd/containerd.sock; ${SUGGESTION}`],
    ["  mounts: ['/run:/run']\n", `7:12: error: container/web: spec.mounts[0]: bind source /run exposes berth's run directory /run/berth; ${SUGGESTION}`],
    ["  mounts: ['/proc:/host/proc:ro']\n", `7:12: error: container/web: spec.mounts[0]: bind source /proc exposes the host's /proc; ${SUGGESTION}`],
    ["  mounts: ['/var/lib/berth/controller:/c']\n", "7:12: error: container/web: spec.mounts[0]: bind source /var/lib/berth/controller is inside berth's state directory /var/lib/berth: berth's own state is never bind-mounted"],
    ["  mounts: ['../../../..:/x']\n", `7:12: error: container/web: spec.mounts[0]: bind source / exposes berth's state directory /var/lib/berth; ${SUGGESTION}`],
  ])("%j", (spec, want) => expect(d(spec)).toEqual([`t.yaml:${want}`]));

  it("accepts them with the allowance, except berth's own state", () => {
    expect(d("  mounts: ['/:/host', '/proc:/p', {type: bind, source: /run, target: /r}]\n", { allowHostBinds: true })).toEqual([]);
    expect(d("  mounts: ['/run/berth/berth.sock:/s']\n", { allowHostBinds: true })).toEqual([
      "t.yaml:7:12: error: container/web: spec.mounts[0]: bind source /run/berth/berth.sock is inside berth's run directory /run/berth: berth's own state is never bind-mounted",
    ]);
    expect(load(container("  mounts: ['/:/host']\n"), { berthPaths: paths, allowHostBinds: true }).objects).toHaveLength(1);
  });

  it("accepts harmless binds and loads nothing when one is refused", () => {
    expect(d("  mounts: ['./data:/data', '/srv/www:/www:ro']\n")).toEqual([]);
    expect(load(container("  mounts: ['/:/host']\n"), { berthPaths: paths }).objects).toEqual([]);
  });

  it("is reported with the schema errors of the same object", () => {
    expect(d("  imagee: x\n  mounts: ['/:/host']\n")).toEqual([
      't.yaml:7:3: error: container/web: spec.imagee: unknown field "imagee"; did you mean "image"?',
      `t.yaml:8:12: error: container/web: spec.mounts[0]: bind source / exposes berth's state directory /var/lib/berth; ${SUGGESTION}`,
    ]);
  });
});
