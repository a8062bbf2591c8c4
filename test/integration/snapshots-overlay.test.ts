/**
 * Container layers over unpacked image layers with real overlayfs mounts: busybox runs from
 * the merged rootfs, whiteouts and opaque directories hide lower content, 60 layers mount
 * with short relative lowerdirs, and layers a container uses survive image removal.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import { hostLacks, which } from "../helpers/host.js";
import { buildDockerSaveArchive, importBusybox, sha256, tarBuffer } from "../helpers/image-fixtures.js";

const skip = hostLacks("root", "overlay", "busybox");

function ourMounts(root: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(root));
}

const newId = () => randomBytes(32).toString("hex");

describe.skipIf(skip)("snapshots over overlayfs (root)", () => {
  let root: string;
  let rt: ImageRuntime;
  let ids: string[];

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-overlay-"));
    rt = await openImageRuntime({ root });
    ids = [];
  });
  afterEach(async () => {
    for (const id of ids) await rt.snapshots.removeContainerLayer(id);
    expect(ourMounts(root)).toEqual([]);
    await fs.rm(root, { recursive: true, force: true });
  });

  const prepare = async (chainIds: string[]) => {
    const id = newId();
    ids.push(id);
    return { id, ...(await rt.snapshots.prepare(id, chainIds)) };
  };

  it("runs busybox from a prepared rootfs; writes go to the container layer only", async () => {
    const image = await importBusybox(rt.images);
    expect(image.references).toEqual(["docker.io/library/busybox:latest"]);
    const chainIds = await rt.ensureUnpacked("busybox");
    expect(chainIds).toEqual(image.chainIds);
    const { id, rootfs } = await prepare(chainIds);
    expect(ourMounts(root)).toEqual([rootfs]);
    expect(await fs.readFile(path.join(rootfs, "etc/passwd"), "utf8")).toMatch(/^app:x:1000:1000/m);
    expect(((await fs.stat(path.join(rootfs, "tmp"))).mode & 0o7777)).toBe(0o1777);
    const out = execFileSync(which("chroot") ?? "/usr/sbin/chroot", [rootfs, "/bin/sh", "-c", "echo hi from $(id -u) > /tmp/out; cat /tmp/out; ls /bin | wc -l"], {
      encoding: "utf8",
      env: { PATH: "/bin" },
    });
    expect(out).toMatch(/^hi from 0\n\s*24\n$/);
    const upper = path.join(root, "snapshots", "containers", id, "upper");
    expect(await fs.readFile(path.join(upper, "tmp/out"), "utf8")).toBe("hi from 0\n");
    const layer = await rt.snapshots.layerPath(chainIds[0]!);
    await expect(fs.stat(path.join(layer, "tmp/out"))).rejects.toThrow(/ENOENT/);

    // unmount → mount again keeps the container's writes; mount is idempotent
    await rt.snapshots.unmount(id);
    await rt.snapshots.unmount(id);
    expect(ourMounts(root)).toEqual([]);
    await rt.snapshots.mount(id);
    await rt.snapshots.mount(id);
    expect(ourMounts(root)).toEqual([rootfs]);
    expect(await fs.readFile(path.join(rootfs, "tmp/out"), "utf8")).toBe("hi from 0\n");

    // prepare again with the same layers is idempotent; other layers conflict
    await rt.snapshots.prepare(id, chainIds);
    await expect(rt.snapshots.prepare(id, [])).rejects.toMatchObject({ kind: "Conflict" });

    await rt.snapshots.removeContainerLayer(id);
    await rt.snapshots.removeContainerLayer(id);
    expect(ourMounts(root)).toEqual([]);
    await expect(fs.stat(path.join(root, "snapshots", "containers", id))).rejects.toThrow(/ENOENT/);
  });

  it("falls back to lazy unmount when the rootfs is busy", async () => {
    await importBusybox(rt.images);
    const { id, rootfs } = await prepare(await rt.ensureUnpacked("busybox"));
    const fh = await fs.open(path.join(rootfs, "etc/passwd"), "r");
    try {
      await rt.snapshots.removeContainerLayer(id);
      expect(ourMounts(root)).toEqual([]);
    } finally {
      await fh.close();
    }
  });

  it("hides lower content behind whiteouts and opaque directories", async () => {
    const l1 = await tarBuffer([
      { name: "etc/a", data: "a" },
      { name: "etc/b", data: "b" },
      { name: "var/x/1", data: "1" },
      { name: "var/x/2", data: "2" },
    ]);
    const l2 = await tarBuffer([
      { name: "etc/.wh.a", data: "" },
      { name: "var/x/.wh..wh..opq", data: "" },
      { name: "var/x/3", data: "3" },
    ]);
    const archive = path.join(root, "wh.tar");
    await fs.writeFile(archive, await buildDockerSaveArchive([{ layers: [l1, l2], repoTags: ["wh:1"] }], "modern"));
    await rt.images.load(archive);
    const { rootfs } = await prepare(await rt.ensureUnpacked("wh:1"));
    expect((await fs.readdir(path.join(rootfs, "etc"))).sort()).toEqual(["b"]);
    expect((await fs.readdir(path.join(rootfs, "var/x"))).sort()).toEqual(["3"]);
  });

  it("mounts 60 layers through short relative lowerdirs", async () => {
    const layers = await Promise.all(Array.from({ length: 60 }, (_, i) => tarBuffer([{ name: `layers/f${i}`, data: `${i}` }, { name: "top", data: `${i}` }])));
    const archive = path.join(root, "many.tar");
    await fs.writeFile(archive, await buildDockerSaveArchive([{ layers, repoTags: ["many:1"] }], "legacy"));
    const [image] = await rt.images.load(archive);
    expect(image!.chainIds).toHaveLength(60);
    const { rootfs } = await prepare(await rt.ensureUnpacked(image!));
    expect((await fs.readdir(path.join(rootfs, "layers"))).length).toBe(60);
    expect(await fs.readFile(path.join(rootfs, "top"), "utf8")).toBe("59");
    const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === rootfs)!;
    expect(line).toMatch(/lowerdir=l\/[A-Z0-9]+:l\//);
  });

  it("never deletes layers a container uses; prune reclaims them afterwards", async () => {
    const image = await importBusybox(rt.images);
    const chainIds = await rt.ensureUnpacked(image);
    const { id } = await prepare(chainIds);
    await expect(rt.images.remove("busybox")).rejects.toMatchObject({ kind: "Conflict" });
    await rt.images.remove("busybox", { force: true });
    await expect(rt.images.get(image.digest)).rejects.toMatchObject({ kind: "NotFound" });
    expect(await rt.snapshots.has(chainIds[0]!)).toBe(true);
    expect(await rt.snapshots.gc(new Set())).toBe(0);
    await rt.snapshots.removeContainerLayer(id);
    const res = await rt.images.prune();
    expect(res.deletedSnapshots).toBe(1);
    expect(await rt.snapshots.listLayers()).toEqual([]);
    expect(await fs.readdir(path.join(root, "snapshots", "l"))).toEqual([]);
  });

  it("image removal deletes only the layers no other image uses", async () => {
    const base = await tarBuffer([{ name: "base", data: "b" }]);
    const top = await tarBuffer([{ name: "top", data: "t" }]);
    const archive = path.join(root, "two.tar");
    await fs.writeFile(archive, await buildDockerSaveArchive([{ layers: [base], repoTags: ["base:1"] }, { layers: [base, top], repoTags: ["app:1"] }], "modern"));
    const [b, a] = await rt.images.load(archive);
    await rt.ensureUnpacked(b!);
    await rt.ensureUnpacked(a!);
    expect((await rt.snapshots.listLayers()).length).toBe(2);
    await rt.images.remove("app:1");
    expect(await rt.snapshots.listLayers()).toEqual([b!.chainIds[0]]);
    expect(b!.chainIds[0]).toBe(sha256(base));
  });

  it("prepares a container over zero layers", async () => {
    const { rootfs } = await prepare([]);
    expect(await fs.readdir(rootfs)).toEqual([]);
  });
});
