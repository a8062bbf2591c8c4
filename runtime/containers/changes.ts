/**
 * A container's own changes to its image (issue 10): `berth diff` (A/C/D lines as `docker
 * diff`) and `berth commit` (the writable layer as a new layer of a new image). Both read
 * the writable layer (the overlay upper directory) and compare with a read-only view of the
 * image's layers (snapshots/layer-diff.ts), leaving out what the runtime put there for its
 * mounts (/proc, /etc/hosts, volume mount points, ...; Docker keeps those in its init layer).
 *
 * A running container is read as it is (Docker pauses it by default; berth does not freeze
 * it: a file changing during the read fails the commit, so commit a stopped container for
 * an exact layer).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { failedPrecondition } from "../../lib/errors.js";
import { changesOf, dropPlaceholders, scanUpper, type Change, type LowerLookup, type UpperEntry } from "../snapshots/layer-diff.js";
import type { ContainerCommitOptions, ImageRecord } from "../types.js";
import type { RuntimeContext } from "./context.js";
import type { ContainerRecord } from "./records.js";

/** Where every container has a mount (spec-builder.ts) besides its own mounts. */
const RUNTIME_MOUNTS = ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];

/** What the image has at `rel`, resolved component by component under `root` without following links. */
export function lowerLookup(root: string): LowerLookup {
  return async (rel) => {
    const parts = rel.split("/");
    let cur = root;
    for (const [i, p] of parts.entries()) {
      cur = path.join(cur, p);
      const st = await fs.lstat(cur).catch(() => undefined);
      if (!st) return undefined;
      if (i === parts.length - 1) return st.isDirectory() ? "dir" : "other";
      if (!st.isDirectory()) return undefined; // a link or file where the container has a directory
    }
    return undefined;
  };
}

async function withLayer<T>(ctx: RuntimeContext, rec: ContainerRecord, what: string, fn: (upper: string, entries: UpperEntry[], lower: LowerLookup) => Promise<T>): Promise<T> {
  const snapshots = ctx.opts.snapshots;
  if (!snapshots?.upperDir || !snapshots.withImageView) throw failedPrecondition(`${what} ${rec.name}: the snapshot store cannot read layer changes`);
  const upper = await snapshots.upperDir(rec.id);
  return snapshots.withImageView(rec.chainIds, async (root) => {
    const lower = lowerLookup(root);
    const mounts = [...RUNTIME_MOUNTS, ...rec.spec.mounts.map((m) => m.target)];
    const entries = await dropPlaceholders(await scanUpper(upper), mounts, lower);
    return fn(upper, entries, lower);
  });
}

export function containerChanges(ctx: RuntimeContext, rec: ContainerRecord): Promise<Change[]> {
  return withLayer(ctx, rec, "diff container", (_upper, entries, lower) => changesOf(entries, lower));
}

export function commitContainer(ctx: RuntimeContext, rec: ContainerRecord, options: ContainerCommitOptions): Promise<ImageRecord> {
  const images = ctx.opts.images;
  if (!images?.commit) throw failedPrecondition(`commit container ${rec.name}: the image store cannot commit`);
  const commit = images.commit.bind(images);
  return withLayer(ctx, rec, "commit container", async (upper, entries) => {
    const command = rec.spec.command ? [...rec.spec.command, ...(rec.spec.args ?? [])] : [...(rec.imageConfig.Entrypoint ?? []), ...(rec.spec.args ?? rec.imageConfig.Cmd ?? [])];
    return commit(
      {
        base: rec.imageDigest,
        steps: [...(options.pendingHistory ?? []), { createdBy: options.createdBy ?? (command.join(" ") || "berth commit"), ...(options.comment ? { comment: options.comment } : {}), upper: { dir: upper, entries } }],
        config: options.config ?? rec.imageConfig,
        ...(options.author ? { author: options.author } : {}),
      },
      options.reference,
    );
  });
}
