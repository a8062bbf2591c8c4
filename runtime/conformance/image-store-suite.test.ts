import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../lib/clock.js";
import { gzip, tarBuffer } from "../../test/helpers/image-fixtures.js";
import { openContentStore } from "../content/content-store.js";
import { openImageStore } from "../images/image-store.js";
import { FakeImageStore } from "../testing/fake-image-store.js";
import { imageStoreSuite } from "./image-store-suite.js";
import type { ImageSuiteHarness } from "./types.js";

// The image store suite against FsImageStore (no snapshot store: unprivileged) and the fake;
// test/integration/runtime-conformance.test.ts runs it with real container layers too.

const tarball = async (variant = "base") =>
  gzip(await tarBuffer([{ name: "etc/", type: "directory" }, { name: "etc/os-release", data: `ID=conformance-${variant}\n` }]));

async function withDir(make: (dir: string) => Promise<Omit<ImageSuiteHarness, "dir" | "rootfsTarball" | "cleanup">>): Promise<ImageSuiteHarness> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-image-suite-"));
  return { ...(await make(dir)), dir, rootfsTarball: tarball, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

imageStoreSuite("FsImageStore", () =>
  withDir(async (dir) => {
    const root = path.join(dir, "root");
    const content = await openContentStore({ root });
    return { images: await openImageStore({ root, content, clock: new ManualClock() }) };
  }),
);

imageStoreSuite("FakeImageStore", () =>
  withDir(async () => {
    const held = new Set<string>();
    const images = new FakeImageStore({ clock: new ManualClock(), inUse: (img) => held.has(img.digest) });
    return {
      images,
      async holdImage(img) {
        held.add(img.digest);
      },
    };
  }),
);
