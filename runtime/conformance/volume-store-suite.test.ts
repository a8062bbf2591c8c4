import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../lib/clock.js";
import { FakeVolumeStore } from "../testing/fake-volume-store.js";
import { openVolumeStore } from "../volumes/volume-store.js";
import { volumeStoreSuite } from "./volume-store-suite.js";

volumeStoreSuite("local", async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-volume-suite-"));
  return { volumes: await openVolumeStore({ root }), cleanup: () => fs.rm(root, { recursive: true, force: true }) };
});

volumeStoreSuite("FakeVolumeStore", async () => ({ volumes: new FakeVolumeStore({ clock: new ManualClock() }), cleanup: async () => {} }));
