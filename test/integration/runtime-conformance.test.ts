import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { systemClock } from "../../lib/clock.js";
import { containerRuntimeSuite } from "../../runtime/conformance/container-runtime-suite.js";
import { imageStoreSuite } from "../../runtime/conformance/image-store-suite.js";
import type { SuiteHarness } from "../../runtime/conformance/types.js";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import { hostLacks } from "../helpers/host.js";
import { buildBusyboxRootfs, importBusybox } from "../helpers/image-fixtures.js";
import { cgroupDirsOf, mountsUnder, removeCgroupTree, runcIds, unmountUnder } from "../helpers/rootfs.js";

/**
 * The conformance suites against the embedded runtime: conmon + runc over the real image
 * and snapshot stores (a busybox image imported from the host's static busybox), and the
 * FsImageStore with real container layers. The fake passes the same suites in
 * runtime/testing/fake-container-runtime.test.ts and runtime/conformance/image-store-suite.test.ts.
 */

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function runc(runcRoot: string, args: string[]): Promise<void> {
  return new Promise((resolve) => execFile("runc", ["--root", runcRoot, ...args], () => resolve()));
}

describe.skipIf(lacks)("conformance of the embedded runtime", () => {
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const image = "localhost/conformance-busybox:1";
  let base: string;
  let root: string;
  let runRoot: string;
  let rt: Runtime | undefined;
  const openIt = () => openRuntime({ root, runRoot, cgroupParent, owner: "conformance test" });

  beforeAll(async () => {
    base = await fs.mkdtemp("/tmp/berth-conf-");
    root = path.join(base, "root");
    runRoot = path.join(base, "run");
    rt = await openIt();
    await importBusybox(rt.images, image);
  });

  afterAll(async () => {
    if (rt) {
      for (const c of await rt.containers.list()) await rt.containers.remove(c.id, { force: true }).catch(() => {});
      await rt.close();
    }
    expect(await runcIds(runRoot)).toEqual([]);
    await unmountUnder(base);
    for (const d of await cgroupDirsOf(cgroupParent)) await removeCgroupTree(d);
    expect(await cgroupDirsOf(cgroupParent)).toEqual([]);
    await fs.rm(base, { recursive: true, force: true });
  });

  containerRuntimeSuite("ConmonRuncRuntime", async (): Promise<SuiteHarness> => {
    const current = () => {
      if (!rt) throw new Error("runtime not open");
      return rt;
    };
    return {
      get runtime() {
        return current().containers;
      },
      get volumes() {
        return current().volumes;
      },
      clock: systemClock,
      image,
      pass: sleep,
      async reopen(whileClosed) {
        await current().close();
        rt = undefined;
        await whileClosed?.();
        rt = await openIt();
      },
      async reboot() {
        // What a reboot leaves: no processes, no mounts, an empty tmpfs run-root.
        await current().close();
        rt = undefined;
        const runcRoot = path.join(runRoot, "runc");
        for (const id of await runcIds(runRoot)) await runc(runcRoot, ["delete", "--force", id]);
        await sleep(300); // conmon exits once its container is gone
        await unmountUnder(root);
        await fs.rm(runRoot, { recursive: true, force: true });
        // a new boot has another kernel boot id (adoption.ts tells a reboot from a wiped run-root by it)
        await fs.writeFile(path.join(root, "containers", "boot-id"), "00000000-0000-4000-8000-000000000000\n");
        rt = await openIt();
      },
      async cleanup() {
        rt ??= await openIt();
        expect(await mountsUnder(path.join(root, "snapshots", "containers"))).toEqual([]);
      },
    };
  });
});

describe.skipIf(lacks)("image store conformance with container layers", () => {
  let base: string;
  let irt: ImageRuntime;
  let held: string[] = [];

  beforeAll(async () => {
    base = await fs.mkdtemp("/tmp/berth-conf-img-");
  });

  afterAll(async () => {
    await unmountUnder(base);
    await fs.rm(base, { recursive: true, force: true });
  });

  imageStoreSuite("FsImageStore with snapshots", async () => {
    const dir = await fs.mkdtemp(path.join(base, "t-"));
    irt = await openImageRuntime({ root: path.join(dir, "root") });
    held = [];
    return {
      images: irt.images,
      dir,
      rootfsTarball: (variant) => buildVariantRootfs(variant),
      async holdImage(img) {
        const id = randomBytes(32).toString("hex");
        await irt.ensureUnpacked(img);
        await irt.snapshots.prepare(id, img.chainIds);
        held.push(id);
      },
      async cleanup() {
        for (const id of held) await irt.snapshots.removeContainerLayer(id);
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  });
});

/** The busybox rootfs, with a marker file making each variant's content differ. */
async function buildVariantRootfs(variant = "base"): Promise<Buffer> {
  if (variant === "base") return buildBusyboxRootfs({ gzip: true });
  const { gzip, tarBuffer, busyboxRootfsEntries } = await import("../helpers/image-fixtures.js");
  return gzip(await tarBuffer([...busyboxRootfsEntries(), { name: "etc/variant", data: `${variant}\n` }]));
}
