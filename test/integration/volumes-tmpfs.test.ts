import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostLacks } from "../helpers/host.js";
import { mountsUnder, unmountUnder } from "../helpers/rootfs.js";
import { isMountpoint } from "../../runtime/volumes/mount-util.js";
import { openVolumeStore } from "../../runtime/volumes/volume-store.js";
import type { LocalVolumeStore } from "../../runtime/volumes/types.js";

const lacks = hostLacks("root");
const C1 = "c".repeat(64);

describe.skipIf(lacks)("volumes: tmpfs-backed named volumes", () => {
  let root: string;
  let vs: LocalVolumeStore;
  beforeEach(async () => {
    root = await mkdtemp("/tmp/berth-vol-it-");
    vs = await openVolumeStore({ root });
  });
  afterEach(async () => {
    await unmountUnder(root);
    expect(await mountsUnder(root)).toEqual([]);
    await rm(root, { recursive: true, force: true });
  });

  it("mounts at creation with size and mode, remounts on use after a reboot, unmounts on remove", async () => {
    const v = await vs.create("cache", { options: { type: "tmpfs", size: "1Mi", mode: "1777" } });
    expect(await isMountpoint(v.mountpoint)).toBe(true);
    expect((await stat(v.mountpoint)).mode & 0o7777).toBe(0o1777);
    // The size is enforced.
    await expect(writeFile(path.join(v.mountpoint, "big"), Buffer.alloc(2 * 1024 * 1024))).rejects.toMatchObject({ code: "ENOSPC" });
    // "Reboot": the tmpfs is gone; the next use mounts it again (empty).
    await unmountUnder(v.mountpoint);
    expect(await isMountpoint(v.mountpoint)).toBe(false);
    await vs.acquire("cache", C1);
    expect(await vs.use("cache")).toBe(v.mountpoint);
    expect(await isMountpoint(v.mountpoint)).toBe(true);
    await expect(vs.remove("cache")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await vs.release("cache", C1);
    await vs.remove("cache");
    expect(await mountsUnder(root)).toEqual([]);
  });
});
