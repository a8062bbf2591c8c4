import { lstat, mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdirAllInRootfs, readFileInRootfs, secureResolve } from "./rootfs-path.js";

describe("rootfs paths never escape the rootfs", () => {
  let base: string;
  let root: string;
  let outside: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), "berth-rootfs-"));
    root = path.join(base, "root");
    outside = path.join(base, "outside");
    await mkdir(path.join(root, "etc"), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(outside, "secret"), "host secret");
    await writeFile(path.join(root, "etc", "real"), "inside");
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it.each([
    ["/etc/real", "etc/real"],
    ["etc/real", "etc/real"],
    ["/../../etc/real", "etc/real"],
    ["/a/../etc/./real", "etc/real"],
    ["/missing/../etc/real", "etc/real"],
    ["/nope/deeper", "nope/deeper"],
  ])("%s", async (p, rel) => {
    expect(await secureResolve(root, p)).toBe(path.join(root, rel));
  });

  it("treats absolute symlink targets as rootfs-relative", async () => {
    await symlink(outside, path.join(root, "abs"));
    expect(await secureResolve(root, "/abs/secret")).toBe(path.join(root, outside.slice(1), "secret"));
    await symlink("/etc", path.join(root, "etclink"));
    expect(await secureResolve(root, "/etclink/real")).toBe(path.join(root, "etc", "real"));
  });

  it("clamps relative symlinks at the root", async () => {
    await symlink("../../../../outside", path.join(root, "etc", "up"));
    expect(await secureResolve(root, "/etc/up/secret")).toBe(path.join(root, "outside", "secret"));
    await expect(readFileInRootfs(root, "/etc/up/secret")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("detects symlink loops", async () => {
    await symlink("/b", path.join(root, "a"));
    await symlink("/a", path.join(root, "b"));
    await expect(secureResolve(root, "/a")).rejects.toMatchObject({ kind: "InvalidArgument" });
  });

  it("reads regular files only, with a size cap", async () => {
    expect((await readFileInRootfs(root, "/etc/real")).toString()).toBe("inside");
    await expect(readFileInRootfs(root, "/etc")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await writeFile(path.join(root, "big"), Buffer.alloc(100));
    await expect(readFileInRootfs(root, "/big", 10)).rejects.toMatchObject({ kind: "FailedPrecondition" });
    expect((await readFileInRootfs(root, "/big", 100)).length).toBe(100);
  });

  it("mkdir -p never follows a symlink out", async () => {
    await symlink(outside, path.join(root, "work"));
    const made = await mkdirAllInRootfs(root, "/work/app/data");
    expect(made.startsWith(root + "/")).toBe(true);
    expect((await lstat(made)).isDirectory()).toBe(true);
    await expect(lstat(path.join(outside, "app"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(path.join(outside, "secret"), "utf8")).toBe("host secret");
    await mkdirAllInRootfs(root, "/srv/x");
    await mkdirAllInRootfs(root, "/srv/x"); // idempotent
    await expect(mkdirAllInRootfs(root, "/etc/real/sub")).rejects.toMatchObject({ kind: "FailedPrecondition" });
  });
});
