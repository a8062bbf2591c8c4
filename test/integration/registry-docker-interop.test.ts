/**
 * Registry interop with a real Docker engine (a private dockerd, test/helpers/dockerd.ts) and
 * a real registry (docker-registry 2.8 on 127.0.0.1, test/helpers/registry.ts): an image
 * `docker push`ed (Docker schema 2 manifest) pulls into berth and runs; an image berth pushed
 * (OCI manifest) `docker pull`s and runs in Docker. Docker talks plain http to 127.0.0.0/8 by
 * default, as berth does.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType } from "../../runtime/images/media-types.js";
import { openRegistryImages, type RegistryImages } from "../../runtime/registry/registry-images.js";
import { loopbackOnly } from "../../runtime/registry/testing.js";
import { startPrivateDockerd, type PrivateDockerd } from "../helpers/dockerd.js";
import { hostLacks } from "../helpers/host.js";
import { buildBusyboxRootfs, importBusybox } from "../helpers/image-fixtures.js";
import { imageRuntimeEnv, type ImageRuntimeEnv } from "../helpers/image-runtime-env.js";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.js";

const lacks = hostLacks("root", "docker", "runc", "conmon", "overlay", "busybox", "docker-registry");

describe.skipIf(lacks)("registry: interop with Docker through docker-registry 2.8", () => {
  let env: ImageRuntimeEnv | undefined;
  let dockerd: PrivateDockerd | undefined;
  let registry: TestRegistry | undefined;
  let reg: RegistryImages;
  const seen: URL[] = [];

  beforeAll(async () => {
    env = await imageRuntimeEnv("berth-reg-docker");
    registry = await startTestRegistry();
    dockerd = await startPrivateDockerd();
    const { images } = env;
    reg = await openRegistryImages({ root: env.root, content: images.content, images: images.images, snapshots: images.snapshots, guard: loopbackOnly(seen) });
  });

  afterAll(async () => {
    await dockerd?.stop();
    await registry?.stop();
    await env?.close();
    expect(seen.filter((u) => !u.hostname.startsWith("127."))).toEqual([]);
  });

  it("an image pushed by docker push pulls into berth and runs", async () => {
    const rootfs = path.join(env!.base, "rootfs.tar");
    await fs.writeFile(rootfs, await buildBusyboxRootfs());
    const ref = `${registry!.host}/interop/from-docker:1`;
    await dockerd!.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", "ENV PATH=/bin", rootfs, ref]);
    await dockerd!.mustDocker(["push", ref], { timeoutMs: 120_000 });
    const dockerId = (await dockerd!.mustDocker(["image", "inspect", "--format", "{{.Id}}", ref])).trim();

    const res = await reg.pull(ref);
    expect(res.mediaType).toBe(MediaType.dockerManifest);
    expect(res.image.configDigest).toBe(dockerId);
    expect(res.image.config.Cmd).toEqual(["sh"]);
    const ran = await env!.runToExit("from-docker", { image: ref, args: ["sh", "-c", "echo pushed by docker, run by berth"] });
    expect(ran).toMatchObject({ status: "exited", exitCode: 0 });
    expect(ran.logs.map((l) => l.text)).toEqual(["pushed by docker, run by berth"]);
  });

  it("an image pushed by berth pulls into Docker and runs there", async () => {
    const ref = `${registry!.host}/interop/from-berth:1`;
    const local = await importBusybox(env!.images.images, ref);
    const pushed = await reg.push(ref);
    expect(pushed.digest).toBe(local.digest);
    const pulled = await dockerd!.mustDocker(["pull", ref], { timeoutMs: 120_000 });
    expect(pulled).toContain(`Digest: ${local.digest}`);
    const out = await dockerd!.mustDocker(["run", "--rm", "--network", "none", ref, "echo", "pushed by berth, run by docker"], { timeoutMs: 60_000 });
    expect(out).toBe("pushed by berth, run by docker\n");
  });
});
