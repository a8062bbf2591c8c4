import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  buildDockerSaveArchive,
  buildImage,
  buildOciLayoutTar,
  gzip,
  sha256,
  tarBuffer,
  writeOciLayoutDir,
  type FixtureEntry,
  type FixtureImage,
} from "../../test/helpers/image-fixtures.js";
import { ManualClock } from "../../lib/clock.js";
import { openContentStore, type FsContentStore } from "../content/content-store.js";
import { openImageStore, type FsImageStore } from "./image-store.js";
import { ociArchitecture } from "./platform.js";

async function* once(buf: Buffer) {
  yield buf;
}

const base = () => tarBuffer([{ name: "etc/", type: "directory" }, { name: "etc/os-release", data: "ID=fixture\n" }]);
const app = () => tarBuffer([{ name: "app/", type: "directory" }, { name: "app/run.sh", data: "#!/bin/sh\necho hi\n", mode: 0o755 }]);

async function tarNames(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tar.extract();
  const feed = fs.readFile(file).then((b) => ex.end(b));
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    out.set(e.header.name, Buffer.concat(chunks));
  }
  await feed;
  return out;
}

describe("FsImageStore", () => {
  let root: string;
  let content: FsContentStore;
  let images: FsImageStore;
  const open = async (r: string, extra: Partial<Parameters<typeof openImageStore>[0]> = {}) => {
    const c = await openContentStore({ root: r });
    return { c, s: await openImageStore({ root: r, content: c, clock: new ManualClock(), ...extra }) };
  };
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-images-"));
    ({ c: content, s: images } = await open(root));
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  const write = async (name: string, buf: Buffer) => {
    const p = path.join(root, name);
    await fs.writeFile(p, buf);
    return p;
  };

  describe("importRootfs", () => {
    it("makes a single-layer image with a generated config, findable every way", async () => {
      const layer = await base();
      const rec = await images.importRootfs(once(gzip(layer)), "busybox", { config: { Cmd: ["sh"], Env: ["A=1"], WorkingDir: "/w", User: "app" } });
      expect(rec.references).toEqual(["docker.io/library/busybox:latest"]);
      expect(rec.layers).toHaveLength(1);
      expect(rec.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
      expect(rec.diffIds).toEqual([sha256(layer)]);
      expect(rec.chainIds).toEqual(rec.diffIds);
      expect(rec.config).toEqual({ Cmd: ["sh"], Env: ["A=1"], WorkingDir: "/w", User: "app" });
      expect(rec.os).toBe("linux");
      expect(rec.architecture).toBe(ociArchitecture());
      const cfg = JSON.parse((await content.readBytes(rec.configDigest)).toString());
      expect(cfg.rootfs).toEqual({ type: "layers", diff_ids: [sha256(layer)] });
      for (const q of [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox:latest",
        rec.digest,
        rec.configDigest,
        rec.digest.slice(7, 19),
        rec.configDigest.slice(0, 19),
        `busybox@${rec.digest}`,
      ]) {
        expect((await images.get(q)).digest, q).toBe(rec.digest);
      }
      await expect(images.get("nothere")).rejects.toMatchObject({ kind: "NotFound" });
      await expect(images.get("Bad Ref")).rejects.toMatchObject({ kind: "InvalidArgument" });
    });

    it("keeps an uncompressed tarball as is (blob digest = diff ID)", async () => {
      const layer = await base();
      const rec = await images.importRootfs(once(layer), "localhost/plain:1");
      expect(rec.references).toEqual(["localhost/plain:1"]);
      expect(rec.layers[0]!.digest).toBe(sha256(layer));
      expect(rec.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar");
    });

    it("rejects a tarball with hostile names and leaves no blob", async () => {
      const evil = await tarBuffer([{ name: "../../escape", data: "x" }]);
      await expect(images.importRootfs(once(evil), "evil")).rejects.toMatchObject({ kind: "InvalidArgument" });
      expect(await content.list()).toEqual([]);
      expect(await images.list()).toEqual([]);
    });

    it("rejects garbage that is not a tar", async () => {
      await expect(images.importRootfs(once(gzip(Buffer.from("not a tar at all".repeat(100)))), "x")).rejects.toMatchObject({ kind: "InvalidArgument" });
      expect(await content.list()).toEqual([]);
    });
  });

  describe("tag / remove / prune", () => {
    it("untags, deletes with the last reference, and refuses ambiguous removal", async () => {
      const rec = await images.importRootfs(once(await base()), "one:1");
      await images.tag("one:1", "two:2");
      expect((await images.get(rec.digest)).references).toEqual(["docker.io/library/one:1", "docker.io/library/two:2"]);
      await expect(images.tag("one:1", `x@${rec.digest}`)).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(images.remove(rec.digest)).rejects.toMatchObject({ kind: "Conflict" });
      expect(await images.remove("two:2")).toEqual({ untagged: ["docker.io/library/two:2"], deleted: [] });
      expect((await content.list()).length).toBe(3);
      const r = await images.remove("one:1");
      expect(r.untagged).toEqual(["docker.io/library/one:1"]);
      expect(r.deleted[0]).toBe(rec.digest);
      expect(await content.list()).toEqual([]);
      await expect(images.get(rec.digest)).rejects.toMatchObject({ kind: "NotFound" });
    });

    it("force removes by digest with several references", async () => {
      const rec = await images.importRootfs(once(await base()), "one:1");
      await images.tag(rec.digest, "two:2");
      const r = await images.remove(rec.digest, { force: true });
      expect(r.untagged.sort()).toEqual(["docker.io/library/one:1", "docker.io/library/two:2"]);
      expect(await images.list()).toEqual([]);
    });

    it("keeps blobs another image shares", async () => {
      const b = await base();
      const archive = await write("a.tar", await buildDockerSaveArchive([{ layers: [b], repoTags: ["base:1"] }, { layers: [b, await app()], repoTags: ["app:1"] }], "legacy"));
      const [baseImg, appImg] = await images.load(archive);
      expect(baseImg!.layers[0]!.digest).toBe(appImg!.layers[0]!.digest);
      await images.remove("app:1");
      expect(await content.has(baseImg!.layers[0]!.digest)).toBe(true);
      expect(await content.has(appImg!.layers[1]!.digest)).toBe(false);
      expect(await content.has(appImg!.digest)).toBe(false);
    });

    it("prune removes unreferenced blobs only", async () => {
      const rec = await images.importRootfs(once(await base()), "one:1");
      const orphan = await content.ingest(once(Buffer.from("orphan")));
      const res = await images.prune();
      expect(res).toMatchObject({ deletedBlobs: 1, reclaimedBytes: 6 });
      expect(await content.has(orphan.digest)).toBe(false);
      expect(await content.has(rec.configDigest)).toBe(true);
    });

    it("a moved tag leaves the old image dangling; prune({dangling}) removes it", async () => {
      const first = await images.importRootfs(once(await base()), "x:1");
      await images.importRootfs(once(await app()), "x:1");
      expect((await images.get(first.digest)).references).toEqual([]);
      await images.prune({ dangling: true });
      await expect(images.get(first.digest)).rejects.toMatchObject({ kind: "NotFound" });
      expect((await images.list()).length).toBe(1);
    });

    it("prune({all}) removes every image, tagged or not, and their blobs (no container uses them)", async () => {
      const a = await images.importRootfs(once(await base()), "a:1");
      await images.importRootfs(once(await app()), "b:1");
      await images.tag("a:1", "a:2");
      const res = await images.prune({ all: true });
      expect(await images.list()).toEqual([]);
      await expect(images.get("a:2")).rejects.toMatchObject({ kind: "NotFound" });
      expect(await content.has(a.configDigest)).toBe(false);
      expect(res.deletedBlobs).toBeGreaterThanOrEqual(4);
    });
  });

  describe("load", () => {
    const img = async (extra: Partial<FixtureImage> = {}): Promise<FixtureImage> => ({ layers: [await base(), await app()], repoTags: ["app:1"], ...extra });

    it.each(["legacy", "modern"] as const)("reads a %s docker save archive", async (format) => {
      const fx = await img({ config: { Cmd: ["/app/run.sh"] } });
      const built = buildImage(fx);
      const archive = await write("save.tar", await buildDockerSaveArchive([fx], format));
      const [rec] = await images.load(archive);
      expect(rec!.references).toEqual(["docker.io/library/app:1"]);
      expect(rec!.configDigest).toBe(built.configDigest);
      expect(rec!.diffIds).toEqual(built.diffIds);
      expect(rec!.config.Cmd).toEqual(["/app/run.sh"]);
      if (format === "modern") expect(rec!.digest).toBe(built.manifestDigest);
    });

    it("reads a gzip-compressed docker save archive with gzip layers", async () => {
      const fx = await img({ gzipLayers: true });
      const archive = await write("save.tar.gz", gzip(await buildDockerSaveArchive([fx], "legacy")));
      const [rec] = await images.load(archive);
      expect(rec!.layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+gzip"]);
      expect(rec!.diffIds).toEqual(buildImage(fx).diffIds);
    });

    it("reads an OCI layout tar with a nested platform index", async () => {
      const fx = await img();
      const archive = await write("oci.tar", await buildOciLayoutTar(fx, { refName: "localhost/app:2", nestedIndex: true }));
      const [rec] = await images.load(archive);
      expect(rec!.references).toEqual(["localhost/app:2"]);
      expect(rec!.digest).toBe(buildImage(fx).manifestDigest);
    });

    it("reads an OCI layout directory; a bare tag name leaves the image unnamed", async () => {
      const fx = await img();
      const dir = path.join(root, "layout");
      await writeOciLayoutDir(dir, fx, { refName: "latest" });
      const [rec] = await images.load(dir);
      expect(rec!.references).toEqual([]);
      expect((await images.get(rec!.digest)).diffIds).toEqual(buildImage(fx).diffIds);
    });

    it("round-trips import → save → load into a fresh store", async () => {
      const layer = await base();
      const rec = await images.importRootfs(once(gzip(layer)), "localhost/rt:1", { config: { Cmd: ["sh"] } });
      const out = path.join(root, "saved.tar");
      await images.save(["localhost/rt:1"], out);
      const entries = await tarNames(out);
      expect([...entries.keys()]).toEqual(expect.arrayContaining(["manifest.json", "index.json", "oci-layout"]));
      const manifest = JSON.parse(entries.get("manifest.json")!.toString());
      expect(manifest).toEqual([
        { Config: `blobs/sha256/${rec.configDigest.slice(7)}`, RepoTags: ["localhost/rt:1"], Layers: [`blobs/sha256/${rec.layers[0]!.digest.slice(7)}`] },
      ]);
      for (const p of [manifest[0].Config, ...manifest[0].Layers]) expect(entries.has(p)).toBe(true);
      const index = JSON.parse(entries.get("index.json")!.toString());
      expect(index.manifests[0].annotations["io.containerd.image.name"]).toBe("localhost/rt:1");

      const fresh = await fs.mkdtemp(path.join(os.tmpdir(), "berth-images-fresh-"));
      try {
        const { s } = await open(fresh);
        const [loaded] = await s.load(out);
        expect(loaded!.configDigest).toBe(rec.configDigest);
        expect(loaded!.diffIds).toEqual(rec.diffIds);
        expect(loaded!.digest).toBe(rec.digest);
        expect(loaded!.references).toEqual(["localhost/rt:1"]);
      } finally {
        await fs.rm(fresh, { recursive: true, force: true });
      }
    });
  });

  describe("hostile archives", () => {
    const expectNothingLeft = async () => {
      expect(await content.list()).toEqual([]);
      expect(await images.list()).toEqual([]);
      expect(await fs.readdir(path.join(root, "ingest"))).toEqual([]);
    };

    it.each([
      ["a .. entry name", [{ name: "../evil", data: "x" }], /".." components/],
      ["an absolute entry name", [{ name: "/etc/evil", data: "x" }], /absolute names/],
      ["a duplicate entry", [{ name: "a", data: "1" }, { name: "a", data: "2" }], /appears twice/],
      ["a blob whose content does not match its name", [{ name: `blobs/sha256/${"0".repeat(64)}`, data: "x" }], /content has digest/],
      ["neither manifest.json nor index.json", [{ name: "x", data: "1" }], /neither index.json/],
    ])("rejects %s and leaves nothing", async (_, entries, err) => {
      const archive = await write("evil.tar", await tarBuffer(entries as FixtureEntry[]));
      await expect(images.load(archive)).rejects.toThrow(err);
      await expectNothingLeft();
    });

    it("rejects a manifest.json path outside the archive and symlinks escaping it", async () => {
      const cfg = Buffer.from("{}");
      const cases: [FixtureEntry[], unknown][] = [
        [[], [{ Config: "../../etc/passwd", RepoTags: [], Layers: [] }]],
        [[{ name: "c.json", type: "symlink", linkname: "../../../etc/passwd" }], [{ Config: "c.json", RepoTags: [], Layers: [] }]],
        [[{ name: "c.json", type: "symlink", linkname: "/etc/passwd" }], [{ Config: "c.json", RepoTags: [], Layers: [] }]],
        [[{ name: "c.json", data: cfg }], [{ Config: "c.json", RepoTags: [], Layers: ["sub/../../x"] }]],
      ];
      for (const [entries, manifest] of cases) {
        const archive = await write("evil.tar", await tarBuffer([...entries, { name: "manifest.json", data: JSON.stringify(manifest) }]));
        await expect(images.load(archive)).rejects.toMatchObject({ kind: "InvalidArgument" });
        await expectNothingLeft();
      }
    });

    it("caps manifest.json size and blob sizes", async () => {
      const { s } = await open(root, { maxManifestBytes: 1024, maxBlobBytes: 4096 });
      const big = await write("big.tar", await tarBuffer([{ name: "manifest.json", data: "[" + " ".repeat(5000) + "]" }]));
      await expect(s.load(big)).rejects.toThrow(/larger than the cap of 1024/);
      const bigBlob = await write("bigblob.tar", await tarBuffer([{ name: "layer.tar", data: Buffer.alloc(10_000) }]));
      await expect(s.load(bigBlob)).rejects.toThrow(/exceeds the cap of 4096/);
      await expectNothingLeft();
    });

    it("rejects a layer whose digest does not match the config's diff ID", async () => {
      const fx: FixtureImage = { layers: [await base()], repoTags: ["x:1"] };
      const built = buildImage(fx);
      const other = await app();
      const entries = [
        { name: "l/layer.tar", data: other },
        { name: `${built.configDigest.slice(7)}.json`, data: built.configBytes },
        { name: "manifest.json", data: JSON.stringify([{ Config: `${built.configDigest.slice(7)}.json`, RepoTags: ["x:1"], Layers: ["l/layer.tar"] }]) },
      ];
      await expect(images.load(await write("bad.tar", await tarBuffer(entries)))).rejects.toThrow(/diff ID/);
      await expectNothingLeft();
    });

    it("rejects an index entry whose blob is missing", async () => {
      const fx: FixtureImage = { layers: [await base()] };
      const built = buildImage(fx);
      const entries = [
        { name: "oci-layout", data: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
        { name: "index.json", data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: built.manifestDigest, size: built.manifestBytes.length }] }) },
      ];
      await expect(images.load(await write("m.tar", await tarBuffer(entries)))).rejects.toThrow(/missing from the archive/);
      await expectNothingLeft();
    });

    it("refuses Docker schema 1 manifests with NotImplemented", async () => {
      const m = Buffer.from(JSON.stringify({ schemaVersion: 1, name: "x", fsLayers: [] }));
      const entries = [
        { name: "oci-layout", data: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
        { name: `blobs/sha256/${sha256(m).slice(7)}`, data: m },
        { name: "index.json", data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha256(m), size: m.length }] }) },
      ];
      await expect(images.load(await write("s1.tar", await tarBuffer(entries)))).rejects.toMatchObject({ kind: "NotImplemented" });
    });
  });
});
