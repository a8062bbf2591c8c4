import { ManualClock, type Clock } from "../../lib/clock.js";
import type { ImageRuntimeConfig } from "../types.js";
import { FakeContainerRuntime, type FakeContainerRuntimeOptions } from "./fake-container-runtime.js";
import { FakeImageStore } from "./fake-image-store.js";
import { FakeVolumeStore } from "./fake-volume-store.js";

/**
 * The three fakes wired as the embedded runtime wires the real ones: containers resolve
 * images in `images` and acquire volumes in `volumes`; an image a container was created from
 * is in use (remove without force is Conflict, prune keeps it); a volume a container mounts
 * is in use. Shaped like runtime/index.ts `Runtime`'s stores, so a controller under test
 * takes it as its runtime. `containers` is replaced after `reopen()`/`wipeHost()`: keep
 * the returned instance, or call `fake.reopen()` here, which updates `containers`.
 */
export interface FakeRuntime {
  clock: Clock;
  containers: FakeContainerRuntime;
  images: FakeImageStore;
  volumes: FakeVolumeStore;
  /** `containers.reopen()`, keeping `containers` current. */
  reopen(): Promise<FakeContainerRuntime>;
  /** `containers.wipeHost()`, keeping `containers` current. */
  wipeHost(): Promise<FakeContainerRuntime>;
}

export interface FakeRuntimeOptions extends Omit<FakeContainerRuntimeOptions, "images" | "volumes"> {
  /** Images to add at once: reference → config (default `{Cmd: ["sh"]}`). */
  images?: Record<string, ImageRuntimeConfig | undefined>;
}

/** A fake runtime on a ManualClock (or the given clock). */
export function createFakeRuntime(options: FakeRuntimeOptions = {}): FakeRuntime {
  const clock = options.clock ?? new ManualClock();
  const fake: FakeRuntime = {
    clock,
    images: new FakeImageStore({ clock, inUse: (img) => fake.containers.usesImage(img.digest) }),
    volumes: new FakeVolumeStore({ clock }),
    containers: undefined as unknown as FakeContainerRuntime,
    async reopen() {
      fake.containers = await fake.containers.reopen();
      return fake.containers;
    },
    async wipeHost() {
      fake.containers = await fake.containers.wipeHost();
      return fake.containers;
    },
  };
  const { images: initial, ...rest } = options;
  fake.containers = new FakeContainerRuntime({ ...rest, clock, images: fake.images, volumes: fake.volumes });
  for (const [ref, config] of Object.entries(initial ?? {})) fake.images.addImage(ref, config);
  return fake;
}
