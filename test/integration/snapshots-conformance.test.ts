import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, describe } from "vitest";
import { snapshotStoreSuite, type SnapshotSuiteHarness } from "../../runtime/conformance/snapshot-store-suite.js";
import { openContentStore } from "../../runtime/content/content-store.js";
import { openSnapshotStore, type FsSnapshotStore } from "../../runtime/snapshots/snapshot-store.js";
import { hostLacks } from "../helpers/host.js";
import { gzip, sha256, tarBuffer, type FixtureEntry } from "../helpers/image-fixtures.js";
import { busyboxFixture, OverlaySnapshotStore, unmountUnder } from "../helpers/rootfs.js";

/**
 * The SnapshotStore conformance suite against the real FsSnapshotStore (its base layer a small
 * gzip layer tarball built here, ingested and unpacked) and the test double
 * OverlaySnapshotStore of test/helpers/rootfs.ts (its one prebuilt busybox layer). Only the
 * real store has the `layers` and `gc` capabilities.
 */

const lacks = hostLacks("root", "overlay");
const lacksBusybox = lacks ?? hostLacks("busybox");
const because = (reason: string | undefined) => (reason ? ` (skipped: ${reason})` : "");

/** Every temp dir a harness made, so afterAll can clean up after a harness that failed to open. */
const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(`/tmp/${prefix}`));
  dirs.push(dir);
  return dir;
}
async function removeDir(dir: string): Promise<void> {
  await unmountUnder(dir);
  await fs.rm(dir, { recursive: true, force: true });
}

afterAll(async () => {
  for (const d of dirs.splice(0)) await removeDir(d);
});

/** A tar entry for each file, after an entry for each of its parent directories. */
function entriesOf(files: Record<string, string>): FixtureEntry[] {
  const out: FixtureEntry[] = [];
  const seen = new Set<string>();
  for (const [name, data] of Object.entries(files)) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = `${parts.slice(0, i).join("/")}/`;
      if (!seen.has(d)) out.push({ name: d, type: "directory" });
      seen.add(d);
    }
    out.push({ name, data });
  }
  return out;
}

const REAL_BASE_FILES = { "etc/os-release": "ID=conformance\n", "srv/base/greeting.txt": "hello from the base layer\n" };

describe.skipIf(!!lacks)(`snapshot store conformance${because(lacks)}`, () => {
  snapshotStoreSuite(
    "FsSnapshotStore",
    async (): Promise<SnapshotSuiteHarness> => {
      const dir = await tempDir("berth-snapconf-");
      const content = await openContentStore({ root: dir });
      let snapshots: FsSnapshotStore = await openSnapshotStore({ root: dir, content });
      const layerBlob = async (files: Record<string, string>) => {
        const raw = await tarBuffer(entriesOf(files));
        const { digest, size } = await content.ingest([gzip(raw)]);
        return { layer: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size }, diffId: sha256(raw) };
      };
      const b = await layerBlob(REAL_BASE_FILES);
      const chainId = await snapshots.unpack(undefined, b.layer, b.diffId);
      return {
        get snapshots() {
          return snapshots;
        },
        dir,
        base: { chainId, files: REAL_BASE_FILES },
        layerBlob,
        async reboot() {
          await unmountUnder(dir);
          snapshots = await openSnapshotStore({ root: dir, content });
        },
        cleanup: () => removeDir(dir),
      };
    },
    { layers: true, gc: true },
  );
});

describe.skipIf(!!lacksBusybox)(`snapshot store conformance of the test double${because(lacksBusybox)}`, () => {
  snapshotStoreSuite("OverlaySnapshotStore (test double)", async (): Promise<SnapshotSuiteHarness> => {
    const dir = await tempDir("berth-snapconf-double-");
    const fixture = await busyboxFixture(dir);
    let snapshots = fixture.snapshots;
    const files: Record<string, string> = {};
    for (const rel of ["etc/passwd", "etc/group"]) files[rel] = await fs.readFile(path.join(snapshots.lowerDir, rel), "utf8");
    return {
      get snapshots() {
        return snapshots;
      },
      dir,
      base: { chainId: snapshots.chainId, files },
      async reboot() {
        await unmountUnder(dir);
        snapshots = new OverlaySnapshotStore(snapshots.dir, snapshots.lowerDir, snapshots.chainId);
      },
      cleanup: () => removeDir(dir),
    };
  });
});
