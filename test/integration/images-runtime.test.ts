/**
 * The image half end to end on the real host: archives made in-test are loaded, unpacked and
 * mounted; busybox runs from the result; a saved image loads into a fresh runtime and runs.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import { hostLacks, which } from "../helpers/host.js";
import { buildBusyboxRootfs, buildDockerSaveArchive, buildOciLayoutTar, importBusybox, tarBuffer } from "../helpers/image-fixtures.js";

const skip = hostLacks("root", "overlay", "busybox");

function mountsUnder(root: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(root));
}

describe.skipIf(skip)("image runtime end to end (root)", () => {
  let base: string;
  const runtimes: { rt: ImageRuntime; ids: string[] }[] = [];

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-images-it-"));
  });
  afterEach(async () => {
    for (const { rt, ids } of runtimes.splice(0)) for (const id of ids) await rt.snapshots.removeContainerLayer(id);
    expect(mountsUnder(base)).toEqual([]);
    await fs.rm(base, { recursive: true, force: true });
  });

  const open = async (name: string, extra: { maxLayerBytes?: number } = {}) => {
    const rt = await openImageRuntime({ root: path.join(base, name), ...extra });
    const entry = { rt, ids: [] as string[] };
    runtimes.push(entry);
    return {
      rt,
      run: async (ref: string, script: string) => {
        const id = randomBytes(32).toString("hex");
        entry.ids.push(id);
        const { rootfs } = await rt.snapshots.prepare(id, await rt.ensureUnpacked(ref));
        return execFileSync(which("chroot") ?? "/usr/sbin/chroot", [rootfs, "/bin/sh", "-c", script], { encoding: "utf8", env: { PATH: "/bin" } });
      },
    };
  };

  it("round-trips busybox: import → save → load into a fresh runtime → runs", async () => {
    const a = await open("a");
    const image = await importBusybox(a.rt.images);
    expect(await a.run("busybox", "echo one")).toBe("one\n");
    const saved = path.join(base, "busybox.tar");
    await a.rt.images.save(["busybox"], saved);

    const b = await open("b");
    const [loaded] = await b.rt.images.load(saved);
    expect(loaded!.configDigest).toBe(image.configDigest);
    expect(loaded!.diffIds).toEqual(image.diffIds);
    expect(loaded!.references).toEqual(["docker.io/library/busybox:latest"]);
    expect(await b.run("busybox:latest", "cat /etc/hostname; id -u")).toBe("busybox\n0\n");
  });

  it("loads a legacy docker save archive with gzip layers and a shared base, and runs both images", async () => {
    const { rt, run } = await open("legacy");
    const bb = await buildBusyboxRootfs();
    const extra = await tarBuffer([{ name: "app/hello", data: "hello app\n" }]);
    const archive = path.join(base, "legacy.tar.gz");
    await fs.writeFile(
      archive,
      gzipSync(await buildDockerSaveArchive([{ layers: [bb], repoTags: ["bb:1"], gzipLayers: true }, { layers: [bb, extra], repoTags: ["app:1"], gzipLayers: true }], "legacy")),
    );
    const loaded = await rt.images.load(archive);
    expect(loaded.map((i) => i.references)).toEqual([["docker.io/library/bb:1"], ["docker.io/library/app:1"]]);
    expect(await run("app:1", "cat /app/hello")).toBe("hello app\n");
    expect(await run("bb:1", "ls /app 2>&1 || echo none")).toMatch(/none/);
    expect((await rt.snapshots.listLayers()).length).toBe(2);
  });

  it("loads an OCI layout and runs it", async () => {
    const { rt, run } = await open("oci");
    const archive = path.join(base, "oci.tar");
    await fs.writeFile(archive, await buildOciLayoutTar({ layers: [await buildBusyboxRootfs()] }, { refName: "localhost/bb:oci", nestedIndex: true }));
    await rt.images.load(archive);
    expect(await run("localhost/bb:oci", "echo oci")).toBe("oci\n");
  });

  it("a layer over the size cap fails ensureUnpacked and leaves the store consistent", async () => {
    const { rt } = await open("cap", { maxLayerBytes: 64 * 1024 });
    const big = await tarBuffer([{ name: "big", data: Buffer.alloc(256 * 1024) }]);
    const archive = path.join(base, "big.tar");
    await fs.writeFile(archive, await buildDockerSaveArchive([{ layers: [big], repoTags: ["big:1"], gzipLayers: true }], "modern"));
    await rt.images.load(archive);
    await expect(rt.ensureUnpacked("big:1")).rejects.toThrow(/exceeds the cap of 65536 bytes/);
    expect(await rt.snapshots.listLayers()).toEqual([]);
    expect(await fs.readdir(path.join(base, "cap", "snapshots", "tmp"))).toEqual([]);
    expect((await rt.images.get("big:1")).references).toEqual(["docker.io/library/big:1"]);
  });
});
