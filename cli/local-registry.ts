import * as path from "node:path";
import { defaultRegistryFiles } from "../runtime/registry/default-files.js";
import type { RegistryService } from "../runtime/registry/types.js";
import { withImages, type GlobalOptions } from "./local.js";

/**
 * Runs `fn` with a registry service on the store opened directly (no daemon serves the
 * root), under the root lock: the same files as the daemon's (runtime/registry/default-files.ts;
 * BERTH_CONFIG names the settings file), so a pull, push or login without a daemon behaves
 * as through one.
 */
export function withRegistry<T>(g: GlobalOptions, fn: (registry: RegistryService) => Promise<T>): Promise<T> {
  return withImages(g, async (rt) => {
    const { openRegistryImages } = await import("../runtime/registry/registry-images.js");
    const root = path.resolve(g.root);
    const registry = await openRegistryImages({ ...defaultRegistryFiles(root), root, content: rt.content, images: rt.images, snapshots: rt.snapshots });
    return fn(registry);
  });
}
