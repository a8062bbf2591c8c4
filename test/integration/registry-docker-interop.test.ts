/**
 * Registry interop with a real Docker engine (a private dockerd, test/helpers/dockerd.ts) and
 * a real registry (docker-registry 2.8 on 127.0.0.1, test/helpers/registry.ts): an image
 * `docker push`ed (Docker schema 2 manifest) pulls into berth and runs; an image berth pushed
 * (OCI manifest) `docker pull`s and runs in Docker. Docker talks plain http to 127.0.0.0/8 by
 * default, as berth does.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContainerRuntime, type ConmonRuncRuntime } from "../../runtime/containers/runtime.js";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import { MediaType } from "../../runtime/images/media-types.js";
import { openRegistryImages, type RegistryImages } from "../../runtime/registry/registry-images.js";
import { loopbackOnly } from "../../runtime/registry/testing.js";
import type { LogLine } from "../../runtime/types.js";
import { openVolumeStore } from "../../runtime/volumes/volume-store.js";
import { removeCgroupTrees, runProcess, startPrivateDockerd, unmountAllUnder, type PrivateDockerd } from "../helpers/dockerd.js";
import { hostLacks } from "../helpers/host.js";
import { buildBusyboxRootfs, importBusybox } from "../helpers/image-fixtures.js";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.js";
import { testSpec } from "../helpers/rootfs.js";

const lacks = hostLacks("root", "docker", "runc", "conmon", "overlay", "busybox", "docker-registry");

describe.skipIf(lacks)("registry: interop with Docker through docker-registry 2.8", () => {
  let base: string;
  let dockerd: PrivateDockerd | undefined;
  let registry: TestRegistry | undefined;
  let images: ImageRuntime;
  let reg: RegistryImages;
  let containers: ConmonRuncRuntime | undefined;
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const seen: URL[] = [];

  beforeAll(async () => {
    base = await fs.mkdtemp("/tmp/berth-reg-docker-");
    registry = await startTestRegistry();
    dockerd = await startPrivateDockerd();
    const root = path.join(base, "root");
    images = await openImageRuntime({ root });
    reg = await openRegistryImages({ root, content: images.content, images: images.images, snapshots: images.snapshots, guard: loopbackOnly(seen) });
    containers = await openContainerRuntime({
      root,
      runRoot: path.join(base, "run"),
      images: images.images,
      snapshots: images.snapshots,
      volumes: await openVolumeStore({ root }),
      cgroupParent,
      pollIntervalMs: 200,
    });
  });

  afterAll(async () => {
    await containers?.close();
    await dockerd?.stop();
    await registry?.stop();
    if (!base) return;
    const runcRoot = path.join(base, "run", "runc");
    const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
    for (const id of ids) await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: 30_000 });
    await unmountAllUnder(base);
    await removeCgroupTrees(cgroupParent);
    await fs.rm(base, { recursive: true, force: true });
    expect(seen.filter((u) => !u.hostname.startsWith("127."))).toEqual([]);
  });

  it("an image pushed by docker push pulls into berth and runs", async () => {
    const rootfs = path.join(base, "rootfs.tar");
    await fs.writeFile(rootfs, await buildBusyboxRootfs());
    const ref = `${registry!.host}/interop/from-docker:1`;
    await dockerd!.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", "ENV PATH=/bin", rootfs, ref]);
    await dockerd!.mustDocker(["push", ref], { timeoutMs: 120_000 });
    const dockerId = (await dockerd!.mustDocker(["image", "inspect", "--format", "{{.Id}}", ref])).trim();

    const res = await reg.pull(ref);
    expect(res.mediaType).toBe(MediaType.dockerManifest);
    expect(res.image.configDigest).toBe(dockerId);
    expect(res.image.config.Cmd).toEqual(["sh"]);
    const rt = containers!;
    await rt.create(testSpec("from-docker", { image: ref, args: ["sh", "-c", "echo pushed by docker, run by berth"] }));
    await rt.start("from-docker");
    const deadline = Date.now() + 20_000;
    let state = await rt.inspect("from-docker");
    while (state.status !== "exited" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = await rt.inspect("from-docker");
    }
    expect(state).toMatchObject({ status: "exited", exitCode: 0 });
    const lines: string[] = [];
    for await (const l of rt.logs("from-docker") as AsyncIterable<LogLine>) lines.push(l.text);
    expect(lines).toEqual(["pushed by docker, run by berth"]);
    await rt.remove("from-docker");
  });

  it("an image pushed by berth pulls into Docker and runs there", async () => {
    const ref = `${registry!.host}/interop/from-berth:1`;
    const local = await importBusybox(images.images, ref);
    const pushed = await reg.push(ref);
    expect(pushed.digest).toBe(local.digest);
    const pulled = await dockerd!.mustDocker(["pull", ref], { timeoutMs: 120_000 });
    expect(pulled).toContain(`Digest: ${local.digest}`);
    const out = await dockerd!.mustDocker(["run", "--rm", "--network", "none", ref, "echo", "pushed by berth, run by docker"], { timeoutMs: 60_000 });
    expect(out).toBe("pushed by berth, run by docker\n");
  });
});
