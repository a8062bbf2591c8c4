import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildImage, gzip, tarBuffer, type BuiltImage } from "../../test/helpers/image-fixtures.js";
import { ManualClock } from "../../lib/clock.js";
import { openContentStore, type FsContentStore } from "../content/content-store.js";
import { openImageStore, type FsImageStore } from "../images/image-store.js";
import { MediaType } from "../images/media-types.js";
import { ociArchitecture } from "../images/platform.js";
import { openRegistryImages, type RegistryImages, type RegistryImagesOptions } from "./registry-images.js";
import { FakeRegistry, loopbackOnly, startStorage } from "./testing.js";
import type { RegistryProgress } from "./types.js";

const big = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x & 0xff;
  }
  return b;
};

async function fixture(arch = ociArchitecture()): Promise<BuiltImage> {
  const base = await tarBuffer([{ name: "etc/", type: "directory" }, { name: "etc/os-release", data: `ID=${arch}\n` }]);
  // Incompressible data so the gzip layer is large enough to cut half-way.
  const app = await tarBuffer([{ name: "app/", type: "directory" }, { name: "app/data.bin", data: big(600_000, arch.length) }]);
  return buildImage({ layers: [base, app], gzipLayers: true, architecture: arch });
}

function publish(reg: FakeRegistry, repo: string, tag: string | undefined, img: BuiltImage, type: string = MediaType.ociManifest): string {
  reg.addBlob(repo, img.configBytes);
  for (const l of img.layerBlobs) reg.addBlob(repo, l);
  let bytes = img.manifestBytes;
  if (type === MediaType.dockerManifest) {
    const doc = JSON.parse(bytes.toString());
    doc.mediaType = type;
    doc.config.mediaType = MediaType.dockerConfig;
    for (const l of doc.layers) l.mediaType = MediaType.dockerLayerGzip;
    bytes = Buffer.from(JSON.stringify(doc));
  }
  return reg.addManifest(repo, tag, bytes, type);
}

describe("RegistryImages", () => {
  let root: string;
  let content: FsContentStore;
  let images: FsImageStore;
  let reg: FakeRegistry;
  let seen: URL[];
  let clock: ManualClock;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-registry-"));
    content = await openContentStore({ root });
    images = await openImageStore({ root, content });
    reg = await FakeRegistry.start();
    closers.push(() => reg.close());
    seen = [];
    clock = new ManualClock(Date.parse("2026-01-01T00:00:00Z"));
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    await fs.rm(root, { recursive: true, force: true });
  });

  const open = (o: Partial<RegistryImagesOptions> = {}): Promise<RegistryImages> =>
    openRegistryImages({ root, content, images, guard: loopbackOnly(seen), retryDelayMs: 1, clock, ...o });
  const partials = () => fs.readdir(path.join(root, "registry", "partial"));

  it("pulls an image by tag: blobs verified, record committed with the tag, the media type reported", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    const r = await open();
    const events: RegistryProgress[] = [];
    const res = await r.pull(`${reg.host}/test/app:1`, { onProgress: (p) => events.push(p) });
    expect(res).toMatchObject({ reference: `${reg.host}/test/app:1`, digest: img.manifestDigest, mediaType: MediaType.ociManifest, endpoint: reg.host });
    expect(res.image.references).toEqual([`${reg.host}/test/app:1`]);
    expect(res.image.diffIds).toEqual(img.diffIds);
    expect((await images.get(`${reg.host}/test/app:1`)).digest).toBe(img.manifestDigest);
    expect(res.blobs.map((b) => b.outcome)).toEqual(["downloaded", "downloaded", "downloaded"]);
    const done = events.filter((e) => e.kind === "blob" && e.status === "done").map((e) => (e as { digest: string }).digest);
    expect(done.sort()).toEqual([img.configDigest, ...img.layerBlobs.map((b) => `sha256:${require("node:crypto").createHash("sha256").update(b).digest("hex")}`)].sort());
    expect(seen.every((u) => u.hostname === "127.0.0.1")).toBe(true);

    // Again: nothing is downloaded.
    const before = reg.requestsTo("/blobs/", "GET").length;
    const again = await r.pull(`${reg.host}/test/app:1`);
    expect(again.blobs.map((b) => b.outcome)).toEqual(["exists", "exists", "exists"]);
    expect(reg.requestsTo("/blobs/", "GET").length).toBe(before);
  });

  it("pulls by digest (the digest wins over a tag) and refuses a manifest whose bytes do not match it", async () => {
    const img = await fixture();
    const d = publish(reg, "test/app", "1", img);
    const r = await open();
    const res = await r.pull(`${reg.host}/test/app:other@${d}`);
    expect(res.digest).toBe(d);
    expect(reg.requestsTo(`/manifests/${d}`, "GET")).toHaveLength(1);
    expect(reg.requestsTo("/manifests/other")).toHaveLength(0);
    const wrong = `sha256:${"0".repeat(64)}`;
    reg.addManifest("test/app", undefined, img.manifestBytes, MediaType.ociManifest);
    reg.manifests.get("test/app")!.set(wrong, { bytes: img.manifestBytes, type: MediaType.ociManifest });
    await expect(r.pull(`${reg.host}/test/app@${wrong}`)).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("refused") });
  });

  it("follows an index to the host platform, and lists the platforms when none fits", async () => {
    const mine = await fixture();
    const other = await fixture("s390x-other");
    const dm = publish(reg, "test/multi", undefined, mine);
    const dother = publish(reg, "test/multi", undefined, other);
    const entry = (d: string, b: Buffer, architecture: string) => ({ mediaType: MediaType.ociManifest, digest: d, size: b.length, platform: { os: "linux", architecture } });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry(dother, other.manifestBytes, "s390x-other"), entry(dm, mine.manifestBytes, ociArchitecture())] }));
    const di = reg.addManifest("test/multi", "latest", index, MediaType.ociIndex);
    const r = await open();
    const res = await r.pull(`${reg.host}/test/multi`);
    expect(res).toMatchObject({ digest: dm, indexDigest: di, indexMediaType: MediaType.ociIndex });
    expect(reg.requestsTo(`/blobs/${other.configDigest}`)).toHaveLength(0);

    const only = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry(dother, other.manifestBytes, "s390x-other"), { ...entry(dother, other.manifestBytes, "arm"), platform: { os: "linux", architecture: "arm", variant: "v7" } }] }));
    reg.addManifest("test/multi", "foreign", only, MediaType.ociIndex);
    await expect(r.pull(`${reg.host}/test/multi:foreign`)).rejects.toMatchObject({
      kind: "FailedPrecondition",
      message: `pull image ${reg.host}/test/multi:foreign: no manifest for linux/${ociArchitecture()}; the index has linux/s390x-other, linux/arm/v7`,
    });
  });

  it("refuses a document that is both an index and a manifest, and a mediaType that contradicts the Content-Type", async () => {
    const img = await fixture();
    publish(reg, "test/app", undefined, img);
    const doc = JSON.parse(img.manifestBytes.toString());
    const confused = Buffer.from(JSON.stringify({ ...doc, manifests: [] }));
    reg.addManifest("test/app", "confused", confused, MediaType.ociManifest);
    const lying = Buffer.from(JSON.stringify({ ...doc, mediaType: MediaType.ociManifest }));
    reg.addManifest("test/app", "lying", lying, MediaType.dockerManifest);
    const r = await open();
    await expect(r.pull(`${reg.host}/test/app:confused`)).rejects.toThrow(/both manifests and layers .*CVE-2021-41190/);
    await expect(r.pull(`${reg.host}/test/app:lying`)).rejects.toThrow(/mediaType "application\/vnd.oci.image.manifest.v1\+json" does not match the Content-Type "application\/vnd.docker.distribution.manifest.v2\+json"/);
    expect(await images.list()).toEqual([]);
  });

  it("refuses a tampered blob: nothing of it is committed, no record is written", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    const tampered = `sha256:${require("node:crypto").createHash("sha256").update(img.layerBlobs[1]!).digest("hex")}`;
    reg.tamper.add(tampered);
    const r = await open();
    await expect(r.pull(`${reg.host}/test/app:1`)).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining(`pull blob ${tampered}: the content has digest`) });
    expect(await content.has(tampered)).toBe(false);
    expect(await images.list()).toEqual([]);
    expect(await partials()).toEqual([]);
    expect(await fs.readdir(path.join(root, "ingest"))).toEqual([]);
  });

  it("resumes a download cut half-way with a Range request; finished layers are not downloaded again", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    const hex = (b: Buffer) => `sha256:${require("node:crypto").createHash("sha256").update(b).digest("hex")}`;
    const [small, large] = img.layerBlobs.map(hex) as [string, string];
    const size = img.layerBlobs[1]!.length;
    reg.cutAfter.set(large, Math.floor(size / 2));
    const r = await open({ retries: 0 });
    await expect(r.pull(`${reg.host}/test/app:1`)).rejects.toMatchObject({ kind: "Unavailable" });
    expect(await images.list()).toEqual([]);
    expect(await partials()).toEqual([`${large.slice(7)}.partial`]);
    expect(await content.has(small)).toBe(true); // verified layers stay for the next pull

    const events: RegistryProgress[] = [];
    const res = await r.pull(`${reg.host}/test/app:1`, { onProgress: (p) => events.push(p) });
    expect(res.blobs).toEqual([
      { digest: img.configDigest, outcome: "exists" },
      { digest: small, outcome: "exists" },
      { digest: large, outcome: "resumed" },
    ]);
    const ranged = reg.requestsTo(`/blobs/${large}`, "GET").map((q) => q.headers.range);
    expect(ranged).toEqual([undefined, `bytes=${Math.floor(size / 2)}-`]);
    expect(reg.served.get(large)).toBe(size); // half, then the other half
    expect(reg.served.get(small)).toBe(img.layerBlobs[0]!.length);
    expect(events).toContainEqual(expect.objectContaining({ kind: "blob", digest: large, status: "resuming", done: Math.floor(size / 2), total: size }));
    expect(await partials()).toEqual([]);
  });

  it("resumes within one pull when retries are allowed, and starts over when the registry ignores Range", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    const large = `sha256:${require("node:crypto").createHash("sha256").update(img.layerBlobs[1]!).digest("hex")}`;
    const size = img.layerBlobs[1]!.length;
    reg.cutAfter.set(large, 1000);
    reg.ignoreRange = true;
    const sleeps: number[] = [];
    const instant = { now: () => clock.now(), setTimer: clock.setTimer.bind(clock), sleep: async (ms: number) => void sleeps.push(ms) };
    const r = await open({ retries: 1, retryDelayMs: 250, clock: instant });
    const res = await r.pull(`${reg.host}/test/app:1`);
    expect(sleeps).toEqual([250]);
    expect(res.blobs[2]).toEqual({ digest: large, outcome: "downloaded" });
    expect(reg.served.get(large)).toBe(1000 + size);
  });

  it("anonymous, then basic auth from the Docker config; a wrong password is access denied", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    reg.auth = { kind: "basic", username: "bob", password: "pw" };
    const dockerConfigFile = path.join(root, "docker-config.json");
    await fs.writeFile(dockerConfigFile, JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from("bob:pw").toString("base64") } } }));
    const r = await open({ dockerConfigFile });
    await r.pull(`${reg.host}/test/app:1`);
    const blobGets = reg.requestsTo("/blobs/", "GET");
    expect(blobGets.every((q) => q.headers.authorization === `Basic ${Buffer.from("bob:pw").toString("base64")}`)).toBe(true);

    await fs.writeFile(dockerConfigFile, JSON.stringify({ auths: { [reg.host]: { username: "bob", password: "wrong" } } }));
    const r2 = await open({ dockerConfigFile });
    await expect(r2.pull(`${reg.host}/test/app:1`)).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("access denied: 401 (UNAUTHORIZED: authentication required)") });
  });

  it("bearer: token for the repository scope, sent with the credentials, cached until it expires", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    reg.auth = { kind: "bearer", service: "fake-registry", username: "alice", password: "s3cret", expiresIn: 120 };
    const credentialsFile = path.join(root, "creds", "credentials.json");
    const r = await open({ credentialsFile });
    await expect(r.pull(`${reg.host}/test/app:1`)).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("the token service refused anonymous access") });

    await r.login(reg.host, { username: "alice", password: "s3cret" });
    expect((await fs.stat(credentialsFile)).mode & 0o777).toBe(0o600);
    await expect(r.login(reg.host, { username: "alice", password: "nope" })).rejects.toMatchObject({ kind: "FailedPrecondition" });

    const tokenBefore = reg.requestsTo("/token").length;
    await r.pull(`${reg.host}/test/app:1`);
    const tokenReqs = reg.requestsTo("/token").slice(tokenBefore);
    expect(tokenReqs).toHaveLength(1);
    const q = new URL(tokenReqs[0]!.url, reg.origin).searchParams;
    expect(q.get("service")).toBe("fake-registry");
    expect(q.getAll("scope")).toEqual(["repository:test/app:pull"]);
    expect(tokenReqs[0]!.headers.authorization).toBe(`Basic ${Buffer.from("alice:s3cret").toString("base64")}`);

    await r.pull(`${reg.host}/test/app:1`);
    expect(reg.requestsTo("/token").length - tokenBefore).toBe(1); // cached
    clock.advance(121_000);
    await r.pull(`${reg.host}/test/app:1`);
    expect(reg.requestsTo("/token").length - tokenBefore).toBe(2); // expired, fetched again
    expect(await r.logout(reg.host)).toBe(true);
  });

  it("refuses a token realm on another registrable domain without contacting it", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    reg.auth = { kind: "bearer", service: "x", realm: "https://auth.evil.example/token" };
    const dockerConfigFile = path.join(root, "docker-config.json");
    await fs.writeFile(dockerConfigFile, JSON.stringify({ auths: { [reg.host]: { username: "bob", password: "pw" } } }));
    const r = await open({ dockerConfigFile });
    await expect(r.pull(`${reg.host}/test/app:1`)).rejects.toMatchObject({
      kind: "FailedPrecondition",
      message: expect.stringContaining("refused token realm https://auth.evil.example/token: the realm host auth.evil.example is not 127.0.0.1"),
    });
    expect(seen.some((u) => u.hostname.includes("evil"))).toBe(false);
  });

  it("drops Authorization on a redirect to another host (blob storage)", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    reg.auth = { kind: "basic", username: "bob", password: "pw" };
    const storage = await startStorage(reg);
    closers.push(() => storage.close());
    reg.redirectBlobsTo = storage.origin;
    const dockerConfigFile = path.join(root, "docker-config.json");
    await fs.writeFile(dockerConfigFile, JSON.stringify({ auths: { [reg.host]: { username: "bob", password: "pw" } } }));
    const r = await open({ dockerConfigFile });
    await r.pull(`${reg.host}/test/app:1`);
    expect(storage.requests.length).toBe(3);
    expect(storage.requests.every((q) => q.headers.authorization === undefined)).toBe(true);
    expect(reg.requestsTo("/blobs/", "GET").every((q) => q.headers.authorization !== undefined)).toBe(true);
  });

  it("tries mirrors first, in order, and the registry when they fail; a working mirror spares the registry", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img);
    const broken = await FakeRegistry.start();
    closers.push(() => broken.close());
    broken.failManifests = true;
    const mirror = await FakeRegistry.start();
    closers.push(() => mirror.close());
    publish(mirror, "test/app", "1", img);
    const settings = { registryMirrors: [], insecureRegistries: [], mirrors: { [reg.host]: [broken.origin, mirror.origin] } };
    const r = await open({ settings });
    const events: RegistryProgress[] = [];
    const res = await r.pull(`${reg.host}/test/app:1`, { onProgress: (p) => events.push(p) });
    expect(res.endpoint).toBe(mirror.origin);
    expect(events[0]).toMatchObject({ kind: "endpoint-failed", endpoint: broken.origin });
    expect(reg.requests).toEqual([]);
    expect(broken.requestsTo("/manifests/1")).toHaveLength(1);

    const r2 = await open({ settings: { ...settings, mirrors: { [reg.host]: [broken.origin] } } });
    await images.remove(`${reg.host}/test/app:1`);
    const res2 = await r2.pull(`${reg.host}/test/app:1`);
    expect(res2.endpoint).toBe(reg.host);
    expect(broken.requestsTo("/manifests/1")).toHaveLength(2);
  });

  it("refuses zstd layers with NotImplemented before fetching them, and does not follow foreign layers' urls", async () => {
    const img = await fixture();
    publish(reg, "test/app", undefined, img);
    const doc = JSON.parse(img.manifestBytes.toString());
    const zstd = { ...doc, layers: doc.layers.map((l: object) => ({ ...l, mediaType: MediaType.ociLayerZstd })) };
    reg.addManifest("test/app", "zstd", Buffer.from(JSON.stringify(zstd)), MediaType.ociManifest);
    const foreignLayer = gzip(await tarBuffer([{ name: "f", data: "x" }]));
    const fd = `sha256:${require("node:crypto").createHash("sha256").update(foreignLayer).digest("hex")}`;
    const foreign = { ...doc, layers: [{ mediaType: MediaType.ociLayerNondistributableGzip, digest: fd, size: foreignLayer.length, urls: ["https://foreign.example/layer"] }, doc.layers[1]] };
    reg.addManifest("test/app", "foreign", Buffer.from(JSON.stringify(foreign)), MediaType.ociManifest);
    const r = await open();
    await expect(r.pull(`${reg.host}/test/app:zstd`)).rejects.toMatchObject({ kind: "NotImplemented", message: expect.stringContaining("zstd-compressed layers") });
    expect(reg.requestsTo("/blobs/")).toHaveLength(0);
    await expect(r.pull(`${reg.host}/test/app:foreign`)).rejects.toMatchObject({ kind: "NotFound", message: expect.stringContaining("is non-distributable") });
    expect(seen.some((u) => u.hostname.includes("foreign"))).toBe(false);
  });

  it("lists tags across Link pages and pulls every tag", async () => {
    const img = await fixture();
    for (const t of ["a", "b", "c", "d", "e"]) publish(reg, "test/app", t, img);
    const r = await open();
    expect(await r.listTags(`${reg.host}/test/app`)).toEqual(["a", "b", "c", "d", "e"]);
    expect(reg.requestsTo("/tags/list")).toHaveLength(3);
    const all = await r.pullAllTags(`${reg.host}/test/app`);
    expect(all.map((x) => x.reference)).toEqual(["a", "b", "c", "d", "e"].map((t) => `${reg.host}/test/app:${t}`));
    expect((await images.get(`${reg.host}/test/app:e`)).references).toHaveLength(5);
    await expect(r.pullAllTags(`${reg.host}/test/app:a`)).rejects.toMatchObject({ kind: "InvalidArgument" });
  });

  it("pushes only missing blobs, mounts from another repository of the same registry, puts the manifest with its type", async () => {
    const img = await fixture();
    publish(reg, "test/app", "1", img, MediaType.dockerManifest);
    const r = await open();
    const pulled = await r.pull(`${reg.host}/test/app:1`);
    await images.tag(pulled.digest, `${reg.host}/other/copy:2`);

    const pushed = await r.push(`${reg.host}/other/copy:2`);
    expect(pushed).toMatchObject({ digest: pulled.digest, mediaType: MediaType.dockerManifest });
    expect(pushed.blobs.map((b) => b.outcome)).toEqual(["mounted", "mounted", "mounted"]);
    const put = reg.requestsTo("/v2/other/copy/manifests/2", "PUT")[0]!;
    expect(put.headers["content-type"]).toBe(MediaType.dockerManifest);
    expect(reg.manifests.get("other/copy")!.get("2")!.bytes.equals(await content.readBytes(pulled.digest))).toBe(true);

    // A fresh repository with no source to mount from: POST + PUT ?digest=.
    reg.repoBlobs.get("test/app")!.clear();
    reg.repoBlobs.get("other/copy")!.clear();
    await fs.rm(path.join(root, "registry", "blob-sources.json"));
    await images.tag(pulled.digest, `${reg.host}/third/img:3`);
    const up = await r.push(`${reg.host}/third/img:3`);
    expect(up.blobs.map((b) => b.outcome)).toEqual(["uploaded", "uploaded", "uploaded"]);
    expect(reg.requestsTo("/v2/third/img/blobs/uploads/", "PUT").every((q) => q.url.includes("digest=sha256%3A") && q.url.includes("_state=x"))).toBe(true);
    // Again: every blob is there (HEAD), only the manifest is put.
    const again = await r.push(`${reg.host}/third/img:3`);
    expect(again.blobs.map((b) => b.outcome)).toEqual(["exists", "exists", "exists"]);
  });
});
