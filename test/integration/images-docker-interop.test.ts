/**
 * Image interop with a real Docker engine (a private dockerd, see test/helpers/dockerd.ts):
 * `berth image save` output loads into Docker and runs there; a `docker save` archive made by
 * Docker itself loads into berth, and a container started from it logs what it printed.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateDockerd, type PrivateDockerd } from "../helpers/dockerd.js";
import { hostLacks } from "../helpers/host.js";
import { buildBusyboxRootfs, importBusybox } from "../helpers/image-fixtures.js";
import { imageRuntimeEnv, type ImageRuntimeEnv } from "../helpers/image-runtime-env.js";

const lacks = hostLacks("root", "docker", "runc", "conmon", "overlay", "busybox");

describe.skipIf(lacks)("images: interop with a Docker engine", () => {
  let env: ImageRuntimeEnv | undefined;
  let dockerd: PrivateDockerd | undefined;

  beforeAll(async () => {
    env = await imageRuntimeEnv("berth-interop");
    dockerd = await startPrivateDockerd();
  });

  afterAll(async () => {
    await dockerd?.stop();
    await env?.close();
  });

  it("berth's image save output loads into Docker and runs there", async () => {
    const ref = "docker.io/berth-interop/busybox:saved";
    const image = await importBusybox(env!.images.images, ref);
    const archive = path.join(env!.base, "saved.tar");
    await env!.images.images.save([ref], archive);

    const loaded = await dockerd!.mustDocker(["load", "-i", archive]);
    expect(loaded).toContain("Loaded image: berth-interop/busybox:saved");
    // Docker's image ID is the config digest.
    const id = (await dockerd!.mustDocker(["image", "inspect", "--format", "{{.Id}}", ref])).trim();
    expect(id).toBe(image.configDigest);
    const out = await dockerd!.mustDocker(["run", "--rm", "--network", "none", ref, "echo", "ok"], { timeoutMs: 60_000 });
    expect(out).toBe("ok\n");
  });

  it("a docker save archive made by Docker loads into berth and runs", async () => {
    const rootfs = path.join(env!.base, "rootfs.tar");
    await fs.writeFile(rootfs, await buildBusyboxRootfs());
    const ref = "berth-interop/imported:1";
    await dockerd!.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", "ENV PATH=/bin", rootfs, ref]);
    const archive = path.join(env!.base, "docker-saved.tar");
    await dockerd!.mustDocker(["save", "-o", archive, ref]);
    const dockerId = (await dockerd!.mustDocker(["image", "inspect", "--format", "{{.Id}}", ref])).trim();

    const [record, ...more] = await env!.images.images.load(archive);
    expect(more).toEqual([]);
    expect(record!.references).toEqual(["docker.io/berth-interop/imported:1"]);
    expect(record!.configDigest).toBe(dockerId);
    expect(record!.config.Cmd).toEqual(["sh"]);

    const ran = await env!.runToExit("from-docker", { image: ref, args: ["sh", "-c", "echo hello from a docker-made image; id -u"] }, 15_000);
    expect(ran).toMatchObject({ status: "exited", exitCode: 0 });
    expect(ran.logs.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "hello from a docker-made image"],
      ["stdout", "0"],
    ]);
  });
});
