import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LocalVolumeStore } from "./types.js";
import { openVolumeStore, validateVolumeOptions } from "./volume-store.js";

const C1 = "1".repeat(64);
const C2 = "2".repeat(64);

describe("local volume store (directories)", () => {
  let root: string;
  let vs: LocalVolumeStore;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "berth-vol-"));
    vs = await openVolumeStore({ root });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("creates idempotently, conflicts on different options, inspects and lists by label", async () => {
    const a = await vs.create("data", { labels: { stack: "s" } });
    expect(a).toMatchObject({ name: "data", driver: "local", options: {}, mountpoint: path.join(root, "volumes", "data", "_data") });
    expect((await stat(a.mountpoint)).isDirectory()).toBe(true);
    expect(await vs.create("data")).toEqual(a);
    await expect(vs.create("data", { options: { type: "tmpfs" } })).rejects.toMatchObject({ kind: "Conflict" });
    await vs.create("other");
    expect(await vs.inspect("data")).toEqual(a);
    expect((await vs.list({ stack: "s" })).map((v) => v.name)).toEqual(["data"]);
    expect((await vs.list()).map((v) => v.name)).toEqual(["data", "other"]);
    await expect(vs.inspect("nope")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("validates names before any path use", async () => {
    for (const bad of ["../etc", "a/b", "", "UPPER", ".hidden"]) {
      await expect(vs.create(bad)).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(vs.remove(bad)).rejects.toMatchObject({ kind: "InvalidArgument" });
    }
    await expect(vs.acquire("ok", "not-an-id")).rejects.toMatchObject({ kind: "InvalidArgument" });
  });

  it("tracks users: acquire creates on demand, remove refuses while used", async () => {
    await vs.acquire("auto", C1);
    await vs.acquire("auto", C2);
    await vs.acquire("auto", C1);
    expect((await vs.users("auto")).sort()).toEqual([C1, C2]);
    await writeFile(path.join(await vs.use("auto"), "f"), "x");
    await expect(vs.remove("auto")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await vs.release("auto", C1);
    await vs.release("auto", C1);
    await expect(vs.remove("auto")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await vs.release("auto", C2);
    await vs.remove("auto");
    await expect(vs.inspect("auto")).rejects.toMatchObject({ kind: "NotFound" });
    expect(await readdir(path.join(root, "volumes"))).toEqual([]);
  });

  it("force removes a used volume", async () => {
    await vs.acquire("used", C1);
    await vs.remove("used", { force: true });
    await expect(vs.remove("used")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("treats a directory without volume.json as absent (crashed create)", async () => {
    await vs.create("half");
    await rm(path.join(root, "volumes", "half", "volume.json"));
    await expect(vs.inspect("half")).rejects.toMatchObject({ kind: "NotFound" });
    expect((await vs.create("half")).name).toBe("half");
  });
});

describe("volume options", () => {
  it.each<Record<string, string>>([{}, { type: "tmpfs" }, { type: "tmpfs", size: "64Mi", mode: "1777" }])("accepts %j", (o) => {
    expect(() => validateVolumeOptions("v", o)).not.toThrow();
  });
  it.each<Record<string, string>>([{ type: "nfs" }, { size: "1Mi" }, { type: "tmpfs", size: "lots" }, { type: "tmpfs", mode: "rwx" }, { device: "/dev/sda" }])(
    "rejects %j",
    (o) => expect(() => validateVolumeOptions("v", o)).toThrow(expect.objectContaining({ kind: "InvalidArgument" })),
  );
});
