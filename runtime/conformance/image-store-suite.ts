import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageRecord } from "../types.js";
import type { ImageSuiteHarness } from "./types.js";

/**
 * The ImageStore conformance suite: FsImageStore (runtime/images) and FakeImageStore
 * (runtime/testing) pass the same tests — import, resolution, tag, remove, prune, save and
 * load round trips, and the error kinds of each.
 */

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  yield buf;
}

export function imageStoreSuite(name: string, open: () => Promise<ImageSuiteHarness>): void {
  describe(`ImageStore conformance: ${name}`, () => {
    let h: ImageSuiteHarness;
    const importAs = async (reference: string, variant?: string): Promise<ImageRecord> =>
      h.images.importRootfs(once(await h.rootfsTarball(variant)), reference, { config: { Cmd: ["sh"], Env: ["A=1"] } });

    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it("imports a rootfs tarball as a one-layer image under the normalized reference", async () => {
      const img = await importAs("conformance:1");
      expect(img.references).toEqual(["docker.io/library/conformance:1"]);
      expect(img.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(img.configDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(img.configDigest).not.toBe(img.digest);
      expect(img.layers).toHaveLength(1);
      expect(img.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
      expect(img.diffIds).toHaveLength(1);
      expect(img.chainIds).toEqual(img.diffIds);
      expect(img.config).toMatchObject({ Cmd: ["sh"], Env: ["A=1"] });
      expect(img.os).toBe("linux");
      expect(img.size).toBe(img.layers[0]!.size);
      expect(img.size).toBeGreaterThan(0);
      expect(await h.images.list()).toEqual([img]);
    });

    it("resolves by reference (any spelling), manifest or config digest, unique hex prefix, name@digest", async () => {
      const img = await importAs("localhost/web:2");
      for (const key of ["localhost/web:2", img.digest, img.configDigest, img.digest.slice(7, 19), `localhost/web@${img.digest}`]) {
        expect((await h.images.get(key)).digest, key).toBe(img.digest);
      }
      const bb = await importAs("busybox", "other");
      for (const key of ["busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest"]) {
        expect((await h.images.get(key)).digest, key).toBe(bb.digest);
      }
      await expect(h.images.get("localhost/web:3")).rejects.toMatchObject({ kind: "NotFound" });
      await expect(h.images.get(`sha256:${"0".repeat(64)}`)).rejects.toMatchObject({ kind: "NotFound" });
      await expect(h.images.get("Not A Reference")).rejects.toMatchObject({ kind: "InvalidArgument" });
    });

    it("refuses what is not a tar (InvalidArgument) and a missing file (NotFound)", async () => {
      await expect(h.images.importRootfs(once(Buffer.from("definitely not a tarball")), "junk:1")).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(h.images.importRootfs(path.join(h.dir, "missing.tar"), "junk:1")).rejects.toMatchObject({ kind: "NotFound" });
      await expect(h.images.importRootfs(once(await h.rootfsTarball()), "Bad Reference")).rejects.toMatchObject({ kind: "InvalidArgument" });
      expect(await h.images.list()).toEqual([]);
    });

    it("tags: another reference to the same image; a digest target is InvalidArgument, a missing source NotFound", async () => {
      const img = await importAs("localhost/app:1");
      const tagged = await h.images.tag(img.digest, "localhost/app:stable");
      expect(tagged.digest).toBe(img.digest);
      expect(tagged.references).toEqual(["localhost/app:1", "localhost/app:stable"]);
      expect((await h.images.get("localhost/app:stable")).digest).toBe(img.digest);
      await expect(h.images.tag(img.digest, `localhost/app@${img.digest}`)).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(h.images.tag("localhost/nope:1", "localhost/app:2")).rejects.toMatchObject({ kind: "NotFound" });
    });

    it("removes references one by one; the image goes with its last", async () => {
      const img = await importAs("localhost/app:1");
      await h.images.tag("localhost/app:1", "localhost/app:2");
      expect(await h.images.remove("localhost/app:1")).toEqual({ untagged: ["localhost/app:1"], deleted: [] });
      expect((await h.images.get(img.digest)).references).toEqual(["localhost/app:2"]);
      const last = await h.images.remove("localhost/app:2");
      expect(last.untagged).toEqual(["localhost/app:2"]);
      expect(last.deleted).toContain(img.digest);
      await expect(h.images.get(img.digest)).rejects.toMatchObject({ kind: "NotFound" });
      await expect(h.images.remove("localhost/app:2")).rejects.toMatchObject({ kind: "NotFound" });
      expect(await h.images.list()).toEqual([]);
    });

    it("removing by digest an image with several references is Conflict, unless forced", async () => {
      const img = await importAs("localhost/app:1");
      await h.images.tag(img.digest, "localhost/app:2");
      await expect(h.images.remove(img.digest)).rejects.toMatchObject({ kind: "Conflict" });
      const r = await h.images.remove(img.digest, { force: true });
      expect(r.untagged).toEqual(["localhost/app:1", "localhost/app:2"]);
      expect(r.deleted).toContain(img.digest);
      expect(await h.images.list()).toEqual([]);
    });

    it("a reference moved by a new import leaves a dangling image that prune removes; prune -a removes the rest", async () => {
      const first = await importAs("localhost/app:1", "one");
      const second = await importAs("localhost/app:1", "two");
      expect(second.digest).not.toBe(first.digest);
      expect((await h.images.get("localhost/app:1")).digest).toBe(second.digest);
      expect((await h.images.get(first.digest)).references).toEqual([]);
      expect((await h.images.list()).map((i) => i.digest).sort()).toEqual([first.digest, second.digest].sort());
      const pruned = await h.images.prune({ dangling: true });
      expect(pruned.deletedBlobs).toBeGreaterThanOrEqual(3);
      expect(pruned.reclaimedBytes).toBeGreaterThan(0);
      expect((await h.images.list()).map((i) => i.digest)).toEqual([second.digest]);
      expect((await h.images.prune()).deletedBlobs).toBe(0);
      await h.images.prune({ all: true });
      expect(await h.images.list()).toEqual([]);
    });

    it("keeps an image a container uses: remove is Conflict unless forced, prune -a keeps it", async ({ skip }) => {
      if (!h.holdImage) return skip();
      const img = await importAs("localhost/app:1");
      await h.holdImage(img);
      await expect(h.images.remove("localhost/app:1")).rejects.toMatchObject({ kind: "Conflict" });
      await h.images.prune({ all: true });
      expect((await h.images.get("localhost/app:1")).digest).toBe(img.digest);
      const r = await h.images.remove("localhost/app:1", { force: true });
      expect(r.deleted).toContain(img.digest);
    });

    it("save and load round-trip images with their references", async () => {
      const img = await importAs("localhost/app:1");
      await h.images.tag(img.digest, "localhost/app:2");
      const file = path.join(h.dir, "saved.tar");
      await h.images.save(["localhost/app:1"], file);
      await h.images.remove(img.digest, { force: true });
      const loaded = await h.images.load(file);
      expect(loaded.map((i) => [i.digest, i.references])).toEqual([[img.digest, ["localhost/app:1"]]]);
      expect(await h.images.get("localhost/app:1")).toEqual({ ...img, references: ["localhost/app:1"] });
      await expect(h.images.load(path.join(h.dir, "missing.tar"))).rejects.toMatchObject({ kind: "NotFound" });
      await expect(h.images.save([], file)).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(h.images.save(["localhost/nope:1"], file)).rejects.toMatchObject({ kind: "NotFound" });
    });
  });
}
