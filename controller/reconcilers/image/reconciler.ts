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
 * - `build`: a Dockerfile build (runtime/build) tagged with the reference, when the image is
 *   absent or the object's generation was not built yet (the build cache makes an unchanged
 *   rebuild cheap); `pull`: a registry pull, tagged with the reference when it differs.
 *   A build or pull refused for its input (a Dockerfile error, a failing RUN, a missing
 *   context, an unknown image) is terminal until the object changes; a registry or network
 *   failure is retried with backoff. A runtime without a builder or puller: NotImplemented.
 * Deleting an Image object keeps the image (as Compose and Kubernetes keep them).
 */
import * as path from "node:path";
import { promises as fs } from "node:fs";
import { errorMessage, isBerthError, notImplemented, TerminalError, unavailable } from "../../../lib/errors.js";
import { normalizeReference } from "../../../lib/reference.js";
import type { ImageRecord } from "../../../runtime/types.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../loop/types.js";
import type { ImageObject, ImageSource } from "../../manifests/model.js";
import type { StoredObject } from "../../store/types.js";
import { markReady } from "../condition.js";
import type { ReconcilerDeps } from "../context.js";
import { findImage } from "../container/observe.js";

function normalizeOrSame(ref: string): string {
  try {
    return normalizeReference(ref);
  } catch {
    return ref;
  }
}

/** Input errors wait for the object to change; the registry's or the host's are retried. */
function terminalUnlessTransient(err: unknown, what: string): unknown {
  if (!isBerthError(err)) return err;
  if (["InvalidArgument", "NotFound", "FailedPrecondition", "NotImplemented", "PermissionDenied"].includes(err.kind)) {
    return new TerminalError(err.kind, err.message.startsWith(what) ? err.message : `${what}: ${err.message}`);
  }
  return err;
}

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
    if (source.type === "build") {
      // built once per generation (the cache makes an unchanged rebuild cheap); never: only what is there
      if (present && (fresh || pullPolicy === "never")) return this.ready(stored, present, st.importedGeneration);
      if (pullPolicy === "never") throw new TerminalError("FailedPrecondition", `image ${reference} is not present and pullPolicy is never`);
      return this.build(stored, obj, source, log);
    }
    if (present && (pullPolicy !== "always" || fresh)) return this.ready(stored, present, st.importedGeneration);
    if (pullPolicy === "never") throw new TerminalError("FailedPrecondition", `image ${reference} is not present and pullPolicy is never`);
    if (source.type === "pull") return this.pull(stored, obj, source.reference, log);
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

  private async build(stored: StoredObject, obj: ImageObject, source: Extract<ImageSource, { type: "build" }>, log: ReconcileContext["log"]): Promise<ReconcileResult> {
    const d = this.deps;
    const { reference } = obj.spec;
    if (!d.runtime.builder) throw notImplemented(`build image ${reference}: this runtime cannot build Dockerfiles`);
    log.info({ context: source.context, reference }, "building image");
    let steps = 0;
    let cached = 0;
    const rec = await d.runtime.builder
      .build({
        context: source.context,
        ...(source.dockerfile ? { dockerfile: source.dockerfile } : {}),
        ...(source.dockerfileInline ? { dockerfileText: source.dockerfileInline } : {}),
        tags: [reference],
        buildArgs: source.args,
        // a base another Image object makes: wait for it (retried), never pull it
        onMissingImage: (ref) => {
          const provider = d.indexes.imageProviding(normalizeOrSame(ref));
          if (provider && provider.key !== stored.key) throw unavailable(`build image ${reference}: waiting for ${ref}, which ${provider.key} provides`);
        },
        ...(source.target ? { target: source.target } : {}),
        onEvent: (e) => {
          if (e.type === "step") steps++;
          else if (e.type === "cached") cached++;
          else if (e.type === "output") log.debug({ stream: e.stream }, e.line);
          else if (e.type === "warning") d.events.record("Warning", "BuildWarning", stored.key, e.message);
        },
      })
      .catch((err: unknown) => {
        throw terminalUnlessTransient(err, `build image ${reference}`);
      });
    d.events.record("Normal", "Built", stored.key, `built ${reference} (${rec.digest.slice(7, 19)}): ${steps} steps, ${cached} cached`);
    return this.ready(stored, rec, stored.generation);
  }

  private async pull(stored: StoredObject, obj: ImageObject, from: string, log: ReconcileContext["log"]): Promise<ReconcileResult> {
    const d = this.deps;
    const { reference } = obj.spec;
    if (!d.runtime.registry) throw notImplemented(`pull image ${from}: this runtime cannot pull from registries`);
    log.info({ from, reference }, "pulling image");
    const pulled = await d.runtime.registry.pull(from).catch((err: unknown) => {
      throw terminalUnlessTransient(err, `pull image ${from}`);
    });
    const rec = pulled.image.references.includes(reference) ? pulled.image : await d.runtime.images.tag(pulled.image.digest, reference);
    d.events.record("Normal", "Pulled", stored.key, `pulled ${from} (${pulled.digest.slice(7, 19)})`);
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
