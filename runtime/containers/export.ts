/**
 * `berth export` (issue 10): a tar of a container's whole filesystem, as `docker export`
 * makes it, which `berth image import` takes back as a one-layer image.
 *
 * The tar is of the merged view of the container's rootfs — the overlay of its image's layers
 * under its writable layer, what the container sees — mounted with the snapshot store's
 * `mount` (idempotent: a running container's is mounted already), walked with scanUpper and
 * packed with packUpper (snapshots/layer-diff.ts). No whiteout or opaque directory can turn
 * up in that walk: overlayfs resolves them in the merged view (a deleted path is absent; a
 * 0/0 character device made in the container is stored as a whiteout, so it is absent too)
 * and hides its own `trusted.overlay.*` attributes there, so getfattr finds no opaque marker.
 * Such entries are dropped all the same, should a store ever hand out a plain bind of a layer.
 *
 * What runc mounts inside the container (/proc, /dev, volumes, /etc/hosts) is in the
 * container's mount namespace, not in the host's view of its rootfs: only the mount points
 * are in the tar, and no volume's contents, as with Docker.
 *
 * Contract: the lookup, the mount and the scan come before anything is written to `out`, so
 * their errors (NotFound, FailedPrecondition) leave it untouched; after that a failure
 * destroys a stream `out` (a consumer sees a cut tar, never a short one that looks whole) and
 * leaves no file (a path `out` is written to a temp file beside it, then renamed). Runs under
 * the container's lock: start, remove and the exit clean-up wait, so the layer is neither
 * unmounted nor removed while it is read. A running container's files may change meanwhile;
 * one that does fails the export (packUpper), as with commit — export a stopped container for
 * an exact copy. A layer this mounted (the container was not running) is unmounted after.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, promises as fs } from "node:fs";
import * as path from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { failedPrecondition } from "../../lib/errors.js";
import { packUpper, scanUpper } from "../snapshots/layer-diff.js";
import type { RuntimeContext } from "./context.js";
import type { ContainerRecord } from "./records.js";

/** Packs `rec`'s merged rootfs into `out`; the caller holds the container's lock (see the header). */
export async function exportContainerLocked(ctx: RuntimeContext, rec: ContainerRecord, out: Writable | string, signal?: AbortSignal): Promise<void> {
  const snapshots = ctx.opts.snapshots;
  if (!snapshots) throw failedPrecondition(`export container ${rec.name}: the runtime has no snapshot store`);
  const mounted = rec.status === "running";
  const { rootfs } = await snapshots.mount(rec.id);
  try {
    const entries = (await scanUpper(rootfs)).filter((e) => e.type !== "whiteout").map(({ opaque: _opaque, ...e }) => e);
    signal?.throwIfAborted();
    const tar = (await import("tar-stream")).default;
    const pack = tar.pack();
    const packing = packUpper(rootfs, entries, pack).then(
      () => pack.finalize(),
      (err: unknown) => pack.destroy(err as Error),
    );
    const write = async (sink: Writable) => {
      await Promise.all([signal ? pipeline(pack, sink, { signal }) : pipeline(pack, sink), packing]);
    };
    if (typeof out !== "string") return await write(out);
    const file = path.resolve(out);
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await write(createWriteStream(tmp, { flags: "wx", mode: 0o644 }));
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  } finally {
    if (!mounted) await snapshots.unmount(rec.id).catch(() => {});
  }
}
