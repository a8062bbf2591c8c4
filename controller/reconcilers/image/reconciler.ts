/**
 * The Image reconciler: makes the reference an Image object names present in the image
 * store, from its source, and lets the containers using that reference re-plan.
 *
 * - Present and `pullPolicy` not `always` (or `always` and already imported for this
 *   generation): ready, nothing done.
 * - `pullPolicy: never` and absent: terminal FailedPrecondition.
 * - `import`: a `docker save` archive, an OCI layout or a rootfs tarball (detected, or the
 *   declared format), loaded through the image store; a missing file is terminal (retried
 *   at the next resync: the file may appear).
 * - `pull` and `build`: NotImplemented until registries and builds exist (issue 10); an
 *   image already present under the reference is used.
 * Deleting an Image object keeps the image (as Compose and Kubernetes keep them).
 */
import * as path from "node:path";
import { promises as fs } from "node:fs";
import { errorMessage, notImplemented, TerminalError } from "../../../lib/errors.js";
import type { ImageRecord } from "../../../runtime/types.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../loop/types.js";
import type { ImageObject } from "../../manifests/model.js";
import type { StoredObject } from "../../store/types.js";
import { markReady } from "../condition.js";
import type { ReconcilerDeps } from "../context.js";
import { findImage } from "../container/observe.js";

export class ImageReconciler implements Reconciler {
  readonly kind = "Image" as const;

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult> {
    const d = this.deps;
    const stored = d.desired.get(key);
    if (!stored) {
      d.status.delete(key);
      return {};
    }
    const obj = stored.object as ImageObject;
    const { reference, source, pullPolicy } = obj.spec;
    const present = await findImage(d.runtime.images, reference);
    const st = d.status.get(key, "Image");
    const fresh = st.importedGeneration === stored.generation;
    if (present && (pullPolicy !== "always" || fresh)) return this.ready(stored, present, st.importedGeneration);
    if (pullPolicy === "never") throw new TerminalError("FailedPrecondition", `image ${reference} is not present and pullPolicy is never`);
    if (source.type !== "import") {
      if (present) return this.ready(stored, present, undefined);
      const what = source.type === "pull" ? "registry pulls" : "Dockerfile builds";
      throw notImplemented(`${source.type} image ${reference}: ${what} are not supported yet; import the image (Image import, or berth image load)`);
    }
    try {
      await fs.stat(source.path);
    } catch (err) {
      throw new TerminalError("NotFound", `import image ${reference}: ${source.path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : errorMessage(err)}`);
    }
    // Loaded on the first import (it reads archives with tar-stream).
    const { detectArchiveFormat, toImageConfig } = await import("./image-source.js");
    const format =
      source.format === "auto"
        ? await detectArchiveFormat(source.path).catch((err) => {
            throw new TerminalError("InvalidArgument", `import image ${reference}: ${source.path}: ${errorMessage(err)}`);
          })
        : source.format;
    log.info({ path: source.path, format }, "importing image");
    let rec: ImageRecord;
    if (format === "rootfs") {
      rec = await d.runtime.images.importRootfs(source.path, reference, { config: toImageConfig(source.config) });
    } else {
      const loaded = await d.runtime.images.load(source.path);
      const match = loaded.find((i) => i.references.includes(reference)) ?? (loaded.length === 1 ? loaded[0] : undefined);
      if (!match) throw new TerminalError("InvalidArgument", `import image ${reference}: ${source.path} holds ${loaded.length} images and none is named ${reference}`);
      rec = match.references.includes(reference) ? match : await d.runtime.images.tag(match.digest, reference);
    }
    d.events.record("Normal", "Imported", key, `imported ${reference} from ${path.basename(source.path)} (${format})`);
    return this.ready(stored, rec, stored.generation);
  }

  private ready(stored: StoredObject, rec: ImageRecord, importedGeneration: number | undefined): ReconcileResult {
    const d = this.deps;
    markReady(d, stored.key, "Image", stored.generation, {
      digest: rec.digest,
      id: rec.configDigest,
      size: rec.size,
      ...(importedGeneration !== undefined ? { importedGeneration } : {}),
    });
    for (const k of d.indexes.containersUsingImage((stored.object as ImageObject).spec.reference)) d.enqueue(k);
    return {};
  }
}
