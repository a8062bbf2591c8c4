/**
 * Image interop with a real Docker engine (a private dockerd, see test/helpers/dockerd.ts):
 * `berth image save` output loads into Docker and runs there; a `docker save` archive made by
 * Docker itself loads into berth, and a container started from it logs what it printed.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContainerRuntime, type ConmonRuncRuntime } from "../../runtime/containers/runtime.js";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import type { LogLine } from "../../runtime/types.js";
import { openVolumeStore } from "../../runtime/volumes/volume-store.js";
import { removeCgroupTrees, runProcess, startPrivateDockerd, unmountAllUnder, type PrivateDockerd } from "../helpers/dockerd.js";
import { hostLacks } from "../helpers/host.js";
import { buildBusyboxRootfs, importBusybox } from "../helpers/image-fixtures.js";
import { testSpec } from "../helpers/rootfs.js";

const lacks = hostLacks("root", "docker", "runc", "conmon", "overlay", "busybox");

async function collect(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

describe.skipIf(lacks)("images: interop with a Docker engine", () => {
  let base: string;
  let dockerd: PrivateDockerd | undefined;
  let images: ImageRuntime;
  let containers: ConmonRuncRuntime | undefined;
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    base = await fs.mkdtemp("/tmp/berth-interop-");
    dockerd = await startPrivateDockerd();
    const root = path.join(base, "root");
    images = await openImageRuntime({ root });
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
    if (!base) return;
    const runcRoot = path.join(base, "run", "runc");
    const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
    for (const id of ids) await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: 30_000 });
    await unmountAllUnder(base);
    await removeCgroupTrees(cgroupParent);
    await fs.rm(base, { recursive: true, force: true });
  });

  it("berth's image save output loads into Docker and runs there", async () => {
    const ref = "docker.io/berth-interop/busybox:saved";
    const image = await importBusybox(images.images, ref);
    const archive = path.join(base, "saved.tar");
    await images.images.save([ref], archive);

    const loaded = await dockerd!.mustDocker(["load", "-i", archive]);
    expect(loaded).toContain("Loaded image: berth-interop/busybox:saved");
    // Docker's image ID is the config digest.
    const id = (await dockerd!.mustDocker(["image", "inspect", "--format", "{{.Id}}", ref])).trim();
    expect(id).toBe(image.configDigest);
    const out = await dockerd!.mustDocker(["run", "--rm", "--network", "none", ref, "echo", "ok"], { timeoutMs: 60_000 });
    expect(out).toBe("ok\n");
  });

  it("a docker save archive made by Docker loads into berth and runs", async () => {
    const rootfs = path.join(base, "rootfs.tar");
    await fs.writeFile(rootfs, await buildBusyboxRootfs());
    const ref = "berth-interop/imported:1";
    await dockerd!.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", "ENV PATH=/bin", rootfs, ref]);
    const archive = path.join(base, "docker-saved.tar");
    await dockerd!.mustDocker(["save", "-o", archive, ref]);
    const dockerId = (await dockerd!.mustDocker(["image", "inspect", "--format", "{{.Id}}", ref])).trim();

    const [record, ...more] = await images.images.load(archive);
    expect(more).toEqual([]);
    expect(record!.references).toEqual(["docker.io/berth-interop/imported:1"]);
    expect(record!.configDigest).toBe(dockerId);
    expect(record!.config.Cmd).toEqual(["sh"]);

    const rt = containers!;
    await rt.create(testSpec("from-docker", { image: ref, args: ["sh", "-c", "echo hello from a docker-made image; id -u"] }));
    await rt.start("from-docker");
    const deadline = Date.now() + 15_000;
    let state = await rt.inspect("from-docker");
    while (state.status !== "exited" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = await rt.inspect("from-docker");
    }
    expect(state).toMatchObject({ status: "exited", exitCode: 0 });
    const lines = await collect(rt.logs("from-docker"));
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "hello from a docker-made image"],
      ["stdout", "0"],
    ]);
    await rt.remove("from-docker");
  });
});
