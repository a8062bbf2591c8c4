/**
 * berth's registry client against a real registry (Debian's docker-registry, distribution
 * 2.8, started per test file on 127.0.0.1 with its own config, see test/helpers/registry.ts):
 * push an imported busybox image, remove it, pull it back by tag and by digest and run it —
 * anonymous, behind htpasswd basic auth, and behind token auth (a JWT token server in the
 * test); a multi-platform index selects the host platform; an interrupted pull resumes with
 * a Range request. All traffic stays on 127.0.0.1 (the client's guard refuses anything else).
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageRuntime } from "../../runtime/images/index.js";
import { MediaType } from "../../runtime/images/media-types.js";
import { ociArchitecture } from "../../runtime/images/platform.js";
import { openRegistryImages, type RegistryImages } from "../../runtime/registry/registry-images.js";
import { loopbackOnly } from "../../runtime/registry/testing.js";
import { hostLacks } from "../helpers/host.js";
import { BUSYBOX_CONFIG, buildOciLayoutTar, busyboxRootfsEntries, gzip, importBusybox, tarBuffer } from "../helpers/image-fixtures.js";
import { imageRuntimeEnv, type ImageRuntimeEnv } from "../helpers/image-runtime-env.js";
import { startCuttingProxy, startTestRegistry, type TestRegistry } from "../helpers/registry.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox", "docker-registry");

describe.skipIf(lacks)("registry: pull and push against docker-registry 2.8", () => {
  let env: ImageRuntimeEnv | undefined;
  let base: string;
  let images: ImageRuntime;
  const registries: TestRegistry[] = [];
  const seen: URL[] = [];
  let n = 0;

  const open = (o: { credentialsFile?: string; retries?: number } = {}): Promise<RegistryImages> =>
    openRegistryImages({ root: path.join(base, "root"), content: images.content, images: images.images, snapshots: images.snapshots, guard: loopbackOnly(seen), retryDelayMs: 10, ...o });

  /** Runs the image and returns what it printed (exit code 0 expected). */
  async function run(image: string, args = ["sh", "-c", "echo hello from $(cat /etc/hostname-not-there 2>/dev/null || echo the registry)"]): Promise<string[]> {
    const ran = await env!.runToExit(`reg-${++n}`, { image, args });
    expect(ran).toMatchObject({ status: "exited", exitCode: 0 });
    return ran.logs.map((l) => l.text);
  }

  beforeAll(async () => {
    env = await imageRuntimeEnv("berth-reg-it");
    ({ base, images } = env);
  });

  afterAll(async () => {
    for (const r of registries) await r.stop();
    await env?.close();
    expect(seen.filter((u) => !u.hostname.startsWith("127."))).toEqual([]);
  });

  /** Push an imported busybox, remove it, pull by tag and by digest, run both. */
  async function roundTrip(reg: RegistryImages, host: string, repo: string): Promise<void> {
    const ref = `${host}/${repo}:1`;
    const local = await importBusybox(images.images, ref);
    const pushed = await reg.push(ref);
    expect(pushed).toMatchObject({ reference: ref, digest: local.digest, mediaType: MediaType.ociManifest });
    expect(pushed.blobs.map((b) => b.outcome)).toEqual(["uploaded", "uploaded"]);
    const again = await reg.push(ref);
    expect(again.blobs.map((b) => b.outcome)).toEqual(["exists", "exists"]);

    await images.images.remove(ref);
    await expect(images.images.get(ref)).rejects.toMatchObject({ kind: "NotFound" });
    const byTag = await reg.pull(ref);
    expect(byTag.digest).toBe(local.digest);
    expect(byTag.blobs.map((b) => b.outcome)).toEqual(["downloaded", "downloaded"]);
    expect(await run(ref)).toEqual(["hello from the registry"]);

    await images.images.remove(ref);
    const byDigest = await reg.pull(`${host}/${repo}@${local.digest}`);
    expect(byDigest.image.references).toEqual([]);
    expect(await run(`${host}/${repo}@${local.digest}`, ["echo", "by digest"])).toEqual(["by digest"]);
    await images.images.remove(local.digest, { force: true });
  }

  it("anonymous: push, remove, pull by tag and by digest, run", async () => {
    const r = await startTestRegistry();
    registries.push(r);
    await roundTrip(await open(), r.host, "anon/busybox");
    // Cross-repository mount on the same registry (201): the blobs came from anon/busybox.
    const reg = await open();
    await reg.pull(`${r.host}/anon/busybox:1`);
    await images.images.tag(`${r.host}/anon/busybox:1`, `${r.host}/anon/copy:1`);
    const copy = await reg.push(`${r.host}/anon/copy:1`);
    expect(copy.blobs.map((b) => b.outcome)).toEqual(["mounted", "mounted"]);
    expect(await reg.listTags(`${r.host}/anon/copy`)).toEqual(["1"]);
    await images.images.remove(copy.digest, { force: true });
  });

  it("basic auth (htpasswd, bcrypt): refused without credentials; login validates and stores them", async () => {
    const r = await startTestRegistry({ auth: { kind: "basic", username: "berth", password: "hunter2" } });
    registries.push(r);
    const credentialsFile = path.join(base, "basic-credentials.json");
    const reg = await open({ credentialsFile });
    await importBusybox(images.images, `${r.host}/basic/busybox:0`);
    await expect(reg.push(`${r.host}/basic/busybox:0`)).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("access denied") });
    await expect(reg.login(r.host, { username: "berth", password: "wrong" })).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await expect(fs.stat(credentialsFile)).rejects.toMatchObject({ code: "ENOENT" });
    await reg.login(r.host, { username: "berth", password: "hunter2" });
    expect((await fs.stat(credentialsFile)).mode & 0o777).toBe(0o600);
    await images.images.remove(`${r.host}/basic/busybox:0`);
    await roundTrip(reg, r.host, "basic/busybox");
  });

  it("token auth (RS256 JWT with x5c): scoped tokens from the realm, with the stored credentials", async () => {
    const r = await startTestRegistry({ auth: { kind: "token", username: "tok", password: "s3cret" } });
    registries.push(r);
    const credentialsFile = path.join(base, "token-credentials.json");
    const reg = await open({ credentialsFile });
    await expect(reg.pull(`${r.host}/tok/busybox:1`)).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("refused anonymous access") });
    await expect(reg.login(r.host, { username: "tok", password: "nope" })).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await reg.login(r.host, { username: "tok", password: "s3cret" });
    await roundTrip(reg, r.host, "tok/busybox");
    const scopes = r.tokenRequests.filter((t) => t.authorized).flatMap((t) => t.scopes);
    expect(scopes).toContain("repository:tok/busybox:pull,push");
    expect(scopes).toContain("repository:tok/busybox:pull");
    expect(r.tokenRequests.filter((t) => t.authorized).every((t) => t.account === "tok")).toBe(true);
  });

  it("a multi-platform index: the host's platform is pulled and runs", async () => {
    const r = await startTestRegistry();
    registries.push(r);
    const reg = await open();
    const host = r.host;
    const mine = await importBusybox(images.images, `${host}/multi/busybox:host`);
    const foreignTar = path.join(base, "foreign.tar");
    await fs.writeFile(foreignTar, await buildOciLayoutTar({ layers: [await tarBuffer([{ name: "etc/", type: "directory" }, { name: "etc/foreign", data: "s390x\n" }])], architecture: "s390x", repoTags: [] }, { refName: `${host}/multi/busybox:foreign` }));
    const [foreign] = await images.images.load(foreignTar);
    await reg.push(`${host}/multi/busybox:host`);
    await reg.push(`${host}/multi/busybox:foreign`);
    const size = async (d: string) => (await images.content.readBytes(d)).length;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { mediaType: MediaType.ociManifest, digest: foreign!.digest, size: await size(foreign!.digest), platform: { os: "linux", architecture: "s390x" } },
          { mediaType: MediaType.ociManifest, digest: mine.digest, size: await size(mine.digest), platform: { os: "linux", architecture: ociArchitecture() } },
        ],
      }),
    );
    const put = await fetch(`http://${host}/v2/multi/busybox/manifests/multi`, { method: "PUT", headers: { "content-type": MediaType.ociIndex }, body: index });
    expect(put.status).toBe(201);
    for (const ref of ["host", "foreign"]) await images.images.remove(`${host}/multi/busybox:${ref}`);
    const res = await reg.pull(`${host}/multi/busybox:multi`);
    expect(res).toMatchObject({ digest: mine.digest, indexMediaType: MediaType.ociIndex, mediaType: MediaType.ociManifest });
    expect(await images.content.has(foreign!.configDigest)).toBe(false);
    expect(await run(`${host}/multi/busybox:multi`, ["echo", ociArchitecture()])).toEqual([ociArchitecture()]);
  });

  it("an interrupted pull keeps its partial blob and resumes it with Range; finished blobs are not fetched again", async () => {
    const r = await startTestRegistry();
    registries.push(r);
    const reg = await open({ retries: 0 });
    const ref = `${r.host}/big/busybox:1`;
    const rootfs = gzip(await tarBuffer([...busyboxRootfsEntries(), { name: "data.bin", data: randomBytes(3 * 1024 * 1024) }]));
    const local = await images.images.importRootfs((async function* () { yield rootfs; })(), ref, { config: BUSYBOX_CONFIG });
    await reg.push(ref);
    await images.images.remove(ref);
    const layer = local.layers[0]!;
    expect(await images.content.has(layer.digest)).toBe(false);

    const proxy = await startCuttingProxy({ port: r.port });
    try {
      const viaProxy = `127.0.0.1:${proxy.port}/big/busybox:1`;
      proxy.arm(layer.digest, Math.floor(layer.size / 2));
      await expect(reg.pull(viaProxy)).rejects.toMatchObject({ kind: "Unavailable" });
      expect(await fs.readdir(path.join(base, "root", "registry", "partial"))).toEqual([`${layer.digest.slice(7)}.partial`]);
      expect(await images.content.has(local.configDigest)).toBe(true);

      const res = await reg.pull(viaProxy);
      expect(res.blobs).toEqual([
        { digest: local.configDigest, outcome: "exists" },
        { digest: layer.digest, outcome: "resumed" },
      ]);
      // Resumed from what the partial file holds: the cut's bytes, less any still in flight
      // when the connection broke (they are fetched again, never skipped).
      const cut = Math.floor(layer.size / 2);
      const ranges = proxy.ranges.filter((x) => x.digest === layer.digest).map((x) => x.range);
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBeUndefined();
      const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? "")?.[1]);
      expect(from).toBeGreaterThan(0);
      expect(from).toBeLessThanOrEqual(cut);
      expect(proxy.bodyBytes.get(layer.digest)).toBe(cut + layer.size - from);
      expect(proxy.ranges.filter((x) => x.digest === local.configDigest)).toHaveLength(1);
      expect(await run(viaProxy, ["sh", "-c", "wc -c < /data.bin"])).toEqual([String(3 * 1024 * 1024)]);
    } finally {
      await proxy.close();
    }
  });
});
