/**
 * Layer unpack throughput: the snapshot store's unpack of a gzip layer (files picked from
 * /usr/lib and /usr/share) vs `tar -xzf` of the same file, with and without `sync -f`.
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { openContentStore } from "../../runtime/content/content-store.js";
import { openSnapshotStore } from "../../runtime/snapshots/snapshot-store.js";
import { median, now, round } from "../stats.js";
import { must, withTimeout } from "./helpers.js";
import type { RuntimeBenchOptions } from "./options.js";
import type { BenchEnv, UnpackResult } from "./types.js";

/**
 * Regular files under each root (depth first, sorted), each at most `maxFile` bytes, until
 * the root's share of the byte budget or the file budget is spent.
 */
async function pickFiles(
  roots: { dir: string; share: number }[],
  budgetBytes: number,
  maxFiles: number,
  maxFile = 8e6,
): Promise<{ files: string[]; dirs: string[]; bytes: number }> {
  const files: string[] = [];
  const dirs = new Set<string>();
  let bytes = 0;
  for (const { dir: root, share } of roots) {
    const perRoot = budgetBytes * share;
    let rootBytes = 0;
    const walk = async (dir: string): Promise<void> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (rootBytes >= perRoot || files.length >= maxFiles) return;
        const p = path.join(dir, e.name);
        if (/[\n\\]/.test(p)) continue;
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) {
          const st = await fs.stat(p).catch(() => undefined);
          if (!st || st.size > maxFile) continue;
          files.push(p);
          rootBytes += st.size;
          bytes += st.size;
          for (let d = path.dirname(p); d !== "/" && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
        }
      }
    };
    await walk(root);
  }
  return { files, dirs: [...dirs].sort(), bytes };
}

/** A gzip layer of host files ready to unpack: the blob in a content store, its descriptor and diff ID. */
export interface UnpackLayer {
  layer: string;
  diffId: string;
  content: Awaited<ReturnType<typeof openContentStore>>;
  desc: { mediaType: string; digest: string; size: number };
  files: number;
  dirs: number;
  uncompressedBytes: number;
  compressedBytes: number;
}

export type UnpackOptions = Pick<RuntimeBenchOptions, "unpackBytes" | "unpackMaxFiles" | "unpackReps" | "stepTimeoutMs">;

/** Makes the layer under `dir` (which must exist): files picked from /usr/lib and /usr/share, tarred with gzip. */
export async function prepareUnpackLayer(dir: string, o: UnpackOptions): Promise<UnpackLayer> {
  // Shared libraries and binaries (larger files) plus docs and data (many small ones).
  const pick = await pickFiles([{ dir: "/usr/lib", share: 0.7 }, { dir: "/usr/share", share: 0.3 }], o.unpackBytes, o.unpackMaxFiles);
  const list = path.join(dir, "files.list");
  // Relative names, directories first, NUL-separated: no shell, no surprises in names.
  await fs.writeFile(list, [...pick.dirs, ...pick.files].map((p) => p.slice(1)).join("\0") + "\0");
  const layer = path.join(dir, "layer.tar.gz");
  await must("tar", ["--numeric-owner", "--no-recursion", "-C", "/", "--null", "-T", list, "-czf", layer], 300_000);
  const compressedBytes = (await fs.stat(layer)).size;
  const hash = createHash("sha256");
  let uncompressedBytes = 0;
  await pipeline(createReadStream(layer), createGunzip(), async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      hash.update(chunk);
      uncompressedBytes += chunk.length;
    }
  });
  const diffId = `sha256:${hash.digest("hex")}`;
  const content = await openContentStore({ root: path.join(dir, "content") });
  const ingested = await content.ingest(createReadStream(layer));
  const desc = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: ingested.digest, size: ingested.size };
  return { layer, diffId, content, desc, files: pick.files.length, dirs: pick.dirs.length, uncompressedBytes, compressedBytes };
}

/**
 * The unpack rows (median of `o.unpackReps`). `after`, when given, runs on the same layer
 * before its directory is removed (bench/build profiles berth's unpack with it).
 */
export async function benchUnpack(env: Pick<BenchEnv, "base">, o: UnpackOptions, after?: (l: UnpackLayer, dir: string) => Promise<void>): Promise<UnpackResult> {
  const dir = path.join(env.base, "unpack");
  await fs.mkdir(dir);
  const { layer, diffId, content, desc, files, dirs, uncompressedBytes, compressedBytes } = await prepareUnpackLayer(dir, o);

  const samples: Record<string, number[]> = { tar: [], tarSync: [], berth: [] };
  for (let i = 0; i < o.unpackReps; i++) {
    const out = path.join(dir, `tar-${i}`);
    await fs.mkdir(out);
    await must("sync", ["-f", dir], o.stepTimeoutMs);
    let t0 = now();
    await must("tar", ["-xzf", layer, "-C", out], 300_000);
    const tarMs = now() - t0;
    await must("sync", ["-f", out], 300_000);
    samples.tar!.push(tarMs);
    samples.tarSync!.push(now() - t0);
    await fs.rm(out, { recursive: true, force: true });

    const snapRoot = path.join(dir, `snap-${i}`);
    const snapshots = await openSnapshotStore({ root: snapRoot, content });
    // The unpack thread started untimed, as a daemon has it after its first unpack (its
    // start is once per process, like the module loading the untimed rounds leave out).
    await snapshots.warmUnpacker();
    await must("sync", ["-f", dir], o.stepTimeoutMs);
    t0 = now();
    await withTimeout(snapshots.unpack(undefined, desc, diffId), 600_000, "unpack layer");
    samples.berth!.push(now() - t0);
    await snapshots.close();
    await fs.rm(snapRoot, { recursive: true, force: true });
  }
  if (after) await after({ layer, diffId, content, desc, files, dirs, uncompressedBytes, compressedBytes }, dir);
  await fs.rm(dir, { recursive: true, force: true });
  const floor = median(samples.tar!);
  const row = (name: string, xs: number[]) => ({
    name,
    medianMs: round(median(xs))!,
    mbPerS: round(uncompressedBytes / 1e6 / (median(xs) / 1000))!,
    timeRatio: round(median(xs) / floor, 2)!,
    samplesMs: xs.map((x) => round(x)!),
  });
  return {
    files,
    dirs,
    uncompressedBytes,
    compressedBytes,
    reps: o.unpackReps,
    rows: [
      row("tar -xzf (floor)", samples.tar!),
      row("tar -xzf + sync -f", samples.tarSync!),
      row("berth snapshots.unpack", samples.berth!),
    ],
  };
}
