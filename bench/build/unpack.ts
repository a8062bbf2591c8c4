/**
 * Layer unpack (issue 10's goal: berth at most 1.3× `tar -xzf`): the rows of
 * bench/runtime/unpack.ts on the same kind of layer, then a profile of where berth's unpack
 * spends its time, as cumulative stages over the same blob (median of the reps each):
 *
 *   gzip -dc > /dev/null         C decompression alone (the floor's first half)
 *   tar -xf of the plain tar     C file creation alone (the floor's second half)
 *   node: read + gunzip          decompress.ts's stream, drained
 *   + sha256                     the diff ID hash
 *   + tar parse                  readTar (tar-reader.ts), bodies handed over and dropped
 *   + LayerWriter (unpackLayer)  every entry written (layer-unpack.ts), no sync
 *   snapshots.unpack             all of it: + `sync -f`, link, meta, rename into layers/
 *
 * and the cost of whiteouts (hard links of one mknod(1)'d device per layer) from a synthetic layer of them.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import pino from "pino";
import { openDecompressed } from "../../runtime/snapshots/decompress.js";
import { unpackLayer } from "../../runtime/snapshots/layer-unpack.js";
import { openSnapshotStore } from "../../runtime/snapshots/snapshot-store.js";
import { SMALL_FILE_BYTES } from "../../runtime/snapshots/layer-writer.js";
import { readTar } from "../../runtime/snapshots/tar-reader.js";
import { runProcess } from "../../test/helpers/dockerd.js";
import { gzip, tarBuffer, type FixtureEntry } from "../../test/helpers/image-fixtures.js";
import { must } from "../runtime/helpers.js";
import type { UnpackResult } from "../runtime/types.js";
import { benchUnpack, type UnpackLayer } from "../runtime/unpack.js";
import { median, now, range, round } from "../stats.js";
import type { BuildBenchEnv, UnpackProfile, UnpackStage } from "./types.js";

const silent = pino({ level: "silent" });
const CAPS = { maxBytes: 8 * 1024 ** 3, maxEntries: 1_000_000 };

async function drain(src: AsyncIterable<Buffer>, hash?: ReturnType<typeof createHash>): Promise<number> {
  let n = 0;
  for await (const c of src) {
    n += c.byteLength;
    hash?.update(c);
  }
  return n;
}

async function profile(l: UnpackLayer, dir: string, reps: number, timeoutMs: number): Promise<{ entries: number; stages: UnpackStage[] }> {
  const plain = path.join(dir, "layer.tar");
  await pipeline(createReadStream(l.layer), createGunzip(), createWriteStream(plain));
  const samples = new Map<string, number[]>();
  const time = async (name: string, fn: () => Promise<unknown>) => {
    const t0 = now();
    await fn();
    samples.set(name, [...(samples.get(name) ?? []), now() - t0]);
  };
  let entries = 0;
  let n = 0;
  const target = async () => {
    const t = path.join(dir, `profile-${n++}`);
    await fs.mkdir(t);
    return t;
  };
  // One untimed round first (JIT, page cache), then the timed ones.
  for (const rep of range(reps + 1)) {
    if (rep === 1) samples.clear();
    await time("gzip -dc > /dev/null", async () => {
      const r = await runProcess("gzip", ["-dc", l.layer], { timeoutMs, stdio: "ignore" });
      if (r.code !== 0) throw new Error(`gzip -dc exited ${r.code}`);
    });
    let t = await target();
    await time("tar -xf (plain tar)", () => must("tar", ["-xf", plain, "-C", t], timeoutMs));
    await fs.rm(t, { recursive: true, force: true });
    await time("node: read + gunzip", async () => drain(await openDecompressed(l.layer, l.desc.mediaType, "profile")));
    await time("+ sha256", async () => drain(await openDecompressed(l.layer, l.desc.mediaType, "profile"), createHash("sha256")));
    await time("+ tar parse", async () => {
      const hash = createHash("sha256");
      const src = await openDecompressed(l.layer, l.desc.mediaType, "profile");
      entries = 0;
      const tapped = (async function* () {
        for await (const c of src) {
          hash.update(c);
          yield c;
        }
      })();
      // The parse unpackLayer does (tar-reader.ts), bodies handed over and dropped.
      await readTar(tapped, { entry: () => void entries++, large: () => (entries++, { write() {}, end() {} }) }, { wholeBodyMax: SMALL_FILE_BYTES });
    });
    t = await target();
    await time("+ LayerWriter (unpackLayer)", () =>
      unpackLayer({ blobPath: l.layer, mediaType: l.desc.mediaType, target: t, diffId: l.diffId, ...CAPS, chown: process.getuid?.() === 0, logger: silent, what: "profile" }),
    );
    await fs.rm(t, { recursive: true, force: true });
    const snapRoot = await target();
    const snapshots = await openSnapshotStore({ root: snapRoot, content: l.content });
    await snapshots.warmUnpacker(); // untimed, as in the rows (bench/runtime/unpack.ts)
    await must("sync", ["-f", dir], timeoutMs);
    await time("snapshots.unpack (+ sync -f, commit)", () => snapshots.unpack(undefined, l.desc, l.diffId));
    await snapshots.close();
    await fs.rm(snapRoot, { recursive: true, force: true });
  }
  await fs.rm(plain, { force: true });
  const m = (k: string) => median(samples.get(k) ?? []);
  const notes: Record<string, string> = {
    "gzip -dc > /dev/null": "C gunzip, output discarded",
    "tar -xf (plain tar)": "C file creation, no decompression",
    "node: read + gunzip": "zlib stream (1 MiB output chunks), drained",
    "+ sha256": `hash: +${(m("+ sha256") - m("node: read + gunzip")).toFixed(0)} ms`,
    "+ tar parse": `parse: +${(m("+ tar parse") - m("+ sha256")).toFixed(0)} ms`,
    "+ LayerWriter (unpackLayer)": `writes: +${(m("+ LayerWriter (unpackLayer)") - m("+ tar parse")).toFixed(0)} ms, ${(((m("+ LayerWriter (unpackLayer)") - m("+ tar parse")) / Math.max(1, entries)) * 1000).toFixed(0)} µs/entry`,
    "snapshots.unpack (+ sync -f, commit)": `sync + commit: +${(m("snapshots.unpack (+ sync -f, commit)") - m("+ LayerWriter (unpackLayer)")).toFixed(0)} ms`,
  };
  return { entries, stages: [...samples.keys()].map((name) => ({ name, medianMs: round(m(name)), note: notes[name] ?? "" })) };
}

/** A layer of `count` whiteouts (plus as many small files beside them): berth's unpack vs tar -xzf of it. */
async function whiteouts(dir: string, count: number, timeoutMs: number): Promise<UnpackProfile["whiteouts"]> {
  const entries: FixtureEntry[] = [];
  for (let d = 0; d < 10; d++) {
    entries.push({ name: `etc/d${d}/`, type: "directory" });
    for (let i = d; i < count; i += 10) entries.push({ name: `etc/d${d}/.wh.gone-${i}` }, { name: `etc/d${d}/kept-${i}`, data: `${i}\n` });
  }
  const tarBytes = await tarBuffer([{ name: "etc/", type: "directory" }, ...entries]);
  const file = path.join(dir, "whiteouts.tar.gz");
  await fs.writeFile(file, gzip(tarBytes));
  const diffId = `sha256:${createHash("sha256").update(tarBytes).digest("hex")}`;
  const withWh = path.join(dir, "wh-berth");
  await fs.mkdir(withWh);
  let t0 = now();
  const scratch = path.join(dir, "wh-scratch");
  await fs.mkdir(scratch);
  // With a scratch dir, as the snapshot store unpacks: whiteouts are hard links of one device.
  await unpackLayer({ blobPath: file, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", target: withWh, scratch, diffId, ...CAPS, chown: process.getuid?.() === 0, logger: silent, what: "whiteouts" });
  const berthMs = now() - t0;
  // The same files without the whiteouts: what the whiteouts themselves cost.
  const plainTar = await tarBuffer([{ name: "etc/", type: "directory" }, ...entries.filter((e) => !e.name.includes(".wh."))]);
  const plainFile = path.join(dir, "plain.tar.gz");
  await fs.writeFile(plainFile, gzip(plainTar));
  const plainDir = path.join(dir, "wh-plain");
  await fs.mkdir(plainDir);
  t0 = now();
  await unpackLayer({ blobPath: plainFile, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", target: plainDir, diffId: `sha256:${createHash("sha256").update(plainTar).digest("hex")}`, ...CAPS, chown: process.getuid?.() === 0, logger: silent, what: "plain" });
  const plainMs = now() - t0;
  const tarDir = path.join(dir, "wh-tar");
  await fs.mkdir(tarDir);
  t0 = now();
  await must("tar", ["-xzf", file, "-C", tarDir], timeoutMs);
  const tarMs = now() - t0;
  for (const d of [withWh, scratch, plainDir, tarDir]) await fs.rm(d, { recursive: true, force: true });
  return { count, berthMs: round(berthMs), perWhiteoutMs: round((berthMs - plainMs) / count, 2), tarMs: round(tarMs) };
}

export async function benchLayerUnpack(env: BuildBenchEnv): Promise<{ rows: UnpackResult; profile: UnpackProfile }> {
  const o = env.options;
  let prof: UnpackProfile | undefined;
  const rows = await benchUnpack({ base: env.base }, o, async (l, dir) => {
    const p = await profile(l, dir, Math.max(3, o.unpackReps), 300_000);
    prof = { entries: p.entries, uncompressedBytes: l.uncompressedBytes, stages: p.stages, whiteouts: await whiteouts(dir, o.whiteouts, o.stepTimeoutMs) };
  });
  return { rows, profile: prof! };
}
