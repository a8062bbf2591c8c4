/**
 * Registry mirrors for real (issue 10): an origin registry and a second one that mirrors it
 * as a pull-through cache (distribution's `proxy.remoteurl`), both Debian's docker-registry
 * on 127.0.0.1. With the settings file naming the mirror for the origin's host, berth pulls
 * through the mirror first; with the mirror gone, from the origin. The settings file is read
 * as the daemon reads it.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import { openRegistryImages, type RegistryImages } from "../../runtime/registry/registry-images.js";
import { loopbackOnly } from "../../runtime/registry/testing.js";
import type { RegistryProgress } from "../../runtime/registry/types.js";
import { unmountAllUnder } from "../helpers/dockerd.js";
import { hostLacks } from "../helpers/host.js";
import { importBusybox } from "../helpers/image-fixtures.js";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.js";

const lacks = hostLacks("root", "overlay", "busybox", "docker-registry");

describe.skipIf(lacks)("registry: a mirror first, the origin when it fails", () => {
  let base: string;
  let origin: TestRegistry;
  let mirror: TestRegistry;
  let settingsFile: string;
  const seen: URL[] = [];
  const opened: ImageRuntime[] = [];

  async function open(name: string): Promise<{ images: ImageRuntime; registry: RegistryImages }> {
    const root = path.join(base, name);
    const images = await openImageRuntime({ root });
    opened.push(images);
    const registry = await openRegistryImages({ root, content: images.content, images: images.images, snapshots: images.snapshots, settingsFile, guard: loopbackOnly(seen), retryDelayMs: 10 });
    return { images, registry };
  }

  beforeAll(async () => {
    base = await fs.mkdtemp("/tmp/berth-mirror-it-");
    origin = await startTestRegistry({ parent: base });
    mirror = await startTestRegistry({ parent: base, proxyOf: `http://${origin.host}` });
    settingsFile = path.join(base, "daemon.json");
    await fs.writeFile(settingsFile, JSON.stringify({ mirrors: { [origin.host]: [`http://${mirror.host}`] } }));
    // the image, pushed to the origin only
    const src = await open("source");
    await importBusybox(src.images.images, `${origin.host}/mirrored/busybox:1`);
    await src.registry.push(`${origin.host}/mirrored/busybox:1`);
  }, 120_000);

  afterAll(async () => {
    await mirror?.stop();
    await origin?.stop();
    if (base) {
      await unmountAllUnder(base);
      await fs.rm(base, { recursive: true, force: true });
    }
    expect(seen.every((u) => u.hostname === "127.0.0.1")).toBe(true);
  });

  it("pulls through the mirror while it answers", async () => {
    const { registry } = await open("through-mirror");
    const events: RegistryProgress[] = [];
    const r = await registry.pull(`${origin.host}/mirrored/busybox:1`, { onProgress: (e) => events.push(e) });
    expect(r.endpoint).toContain(mirror.host);
    expect(r.image.references).toEqual([`${origin.host}/mirrored/busybox:1`]);
    // the mirror fetched it from the origin and now holds it
    const stored = await fs.readdir(path.join(mirror.dir, "data", "docker", "registry", "v2", "repositories", "mirrored"));
    expect(stored).toEqual(["busybox"]);
    expect(events.some((e) => e.kind === "endpoint-failed")).toBe(false);
  });

  it("falls back to the origin when the mirror is gone, and says so", async () => {
    await mirror.stop();
    const { registry } = await open("after-mirror");
    const events: RegistryProgress[] = [];
    const r = await registry.pull(`${origin.host}/mirrored/busybox:1`, { onProgress: (e) => events.push(e) });
    expect(r.endpoint).toContain(origin.host);
    expect(events.find((e) => e.kind === "endpoint-failed")).toMatchObject({ endpoint: expect.stringContaining(mirror.host) });
  });
});
