import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MountSpec } from "../types.js";
import { checkBindSource, resolveMounts, validateMounts } from "./mounts.js";

describe("validateMounts", () => {
  it.each<[string, MountSpec[]]>([
    ["relative target", [{ type: "tmpfs", target: "data", readOnly: false }]],
    ["target with ..", [{ type: "tmpfs", target: "/a/../etc", readOnly: false }]],
    ["target /", [{ type: "tmpfs", target: "/", readOnly: false }]],
    ["duplicate target", [{ type: "tmpfs", target: "/x", readOnly: false }, { type: "tmpfs", target: "/x/", readOnly: false }]],
    ["bad volume name", [{ type: "volume", source: "../x", target: "/x", readOnly: false }]],
    ["relative bind source", [{ type: "bind", source: "rel", target: "/x", readOnly: false }]],
    ["bad tmpfs size", [{ type: "tmpfs", target: "/x", readOnly: false, sizeBytes: -1 }]],
    ["bad tmpfs mode", [{ type: "tmpfs", target: "/x", readOnly: false, mode: 0o17777 }]],
  ])("rejects %s", (_n, mounts) => {
    expect(() => validateMounts(mounts, "c")).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
  });
});

describe("bind sources and OCI mounts", () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), "berth-mnt-"));
    await mkdir(path.join(base, "state", "containers"), { recursive: true });
    await mkdir(path.join(base, "ok"));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("refuses protected paths, paths inside them, and symlinks into them", async () => {
    const prot = [path.join(base, "state")];
    await symlink(path.join(base, "state", "containers"), path.join(base, "link"));
    for (const src of [path.join(base, "state"), path.join(base, "state", "containers"), path.join(base, "link")]) {
      await expect(checkBindSource(src, prot, "c")).rejects.toMatchObject({ kind: "InvalidArgument" });
    }
    await expect(checkBindSource(path.join(base, "missing"), prot, "c")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    expect(await checkBindSource(path.join(base, "ok"), prot, "c")).toBe(path.join(base, "ok"));
    // "state2" is not inside "state".
    await mkdir(path.join(base, "state2"));
    expect(await checkBindSource(path.join(base, "state2"), prot, "c")).toBe(path.join(base, "state2"));
  });

  it("builds bind and tmpfs mounts with ro/rw", async () => {
    const out = await resolveMounts(
      [
        { type: "bind", source: path.join(base, "ok"), target: "/data/", readOnly: true },
        { type: "tmpfs", target: "/scratch", readOnly: false, sizeBytes: 1048576, mode: 0o1777 },
      ],
      { container: "c", protectedPaths: [] },
    );
    expect(out).toEqual([
      { destination: "/data", type: "bind", source: path.join(base, "ok"), options: ["rbind", "rprivate", "ro"] },
      { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1048576", "mode=1777", "rw"] },
    ]);
    await expect(resolveMounts([{ type: "volume", source: "v", target: "/v", readOnly: false }], { container: "c", protectedPaths: [] })).rejects.toMatchObject({
      kind: "FailedPrecondition",
    });
  });
});
