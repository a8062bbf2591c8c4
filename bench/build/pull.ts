/**
 * Pull of a multi-layer image from a local registry: berth's `registry.pull` into a fresh
 * root each round (download, verify, unpack every layer, commit) vs `skopeo copy
 * docker://… dir:…` (download and verify only), and — for the same work as berth's — skopeo's
 * copy followed by `tar -xzf` of each layer into one directory. Rounds alternate which
 * contender goes first; one untimed warm-up each (the registry's files in the page cache).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { which } from "../../test/helpers/host.js";
import type { TestRegistry } from "../../test/helpers/registry.js";
import { errText } from "../proc.js";
import { must, withTimeout } from "../runtime/helpers.js";
import { median, now, range, round, summarize } from "../stats.js";
import { openBerthRoot } from "./berth-root.js";
import { makeLayeredImage } from "./fixtures.js";
import type { BuildBenchEnv, PullResult } from "./types.js";

export async function benchPull(env: BuildBenchEnv, registry: TestRegistry): Promise<PullResult> {
  const o = env.options;
  const dir = path.join(env.base, "pull");
  await fs.mkdir(dir);
  const reference = `${registry.host}/berth-bench/layers:1`;
  const layout = path.join(dir, "layout.tar");
  const made = await makeLayeredImage(env.rootfsTgz, reference, layout, o);
  let round_ = 0;
  const fresh = (name: string) => openBerthRoot({ root: path.join(env.base, `${name}-root-${round_}`), runRoot: path.join(env.run, `${name}-${round_++}`), cgroupParent: env.cgroupParent, seen: env.seen });

  // Pushed once, by berth, from a seed root that goes away.
  const seed = await fresh("seed");
  let pushed;
  try {
    await seed.rt.images.load(layout);
    pushed = await withTimeout(seed.rt.registry.push(reference), o.stepTimeoutMs, "push");
  } finally {
    await seed.dispose();
  }
  await fs.rm(layout, { force: true });

  const berthPull = async () => {
    const b = await fresh("pull");
    try {
      let lastBlob = 0;
      const t0 = now();
      const r = await withTimeout(
        b.rt.registry.pull(reference, { onProgress: (p) => { if (p.kind === "blob" && p.status === "done") lastBlob = now(); } }),
        o.stepTimeoutMs,
        "berth pull",
      );
      const total = now() - t0;
      return { total, download: lastBlob ? lastBlob - t0 : NaN, layers: r.image.layers.length, bytes: r.image.layers.reduce((a, l) => a + l.size, 0) };
    } finally {
      await b.dispose();
    }
  };

  const skopeo = which("skopeo");
  let skopeoVersion: string | undefined;
  if (skopeo) skopeoVersion = (await must(skopeo, ["--version"], 10_000)).trim();
  const skopeoEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir };
  const skopeoCopy = async (i: number | string) => {
    const out = path.join(dir, `skopeo-${i}`);
    const t0 = now();
    await must(skopeo!, ["copy", "--insecure-policy", "--src-tls-verify=false", "--src-no-creds", "--quiet", `docker://${reference}`, `dir:${out}`], o.stepTimeoutMs, skopeoEnv);
    const copyMs = now() - t0;
    // The same unpack work as berth's pull: each layer, base first, into one directory.
    const manifest = JSON.parse(await fs.readFile(path.join(out, "manifest.json"), "utf8")) as { layers: { digest: string }[] };
    const rootfs = path.join(dir, `skopeo-rootfs-${i}`);
    await fs.mkdir(rootfs);
    const t1 = now();
    for (const l of manifest.layers) await must("tar", ["-xzf", path.join(out, l.digest.replace(/^sha256:/, "")), "-C", rootfs], o.stepTimeoutMs);
    const untarMs = now() - t1;
    await fs.rm(out, { recursive: true, force: true });
    await fs.rm(rootfs, { recursive: true, force: true });
    return { copyMs, untarMs };
  };

  const berth: { total: number; download: number }[] = [];
  const sk: { copyMs: number; untarMs: number }[] = [];
  let skopeoError: string | undefined;
  const tryStep = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      skopeoError ??= errText(err);
    }
  };
  const first = await berthPull(); // warm-up
  if (skopeo) await tryStep(async () => void (await skopeoCopy("warm")));
  for (const i of range(o.pullRounds)) {
    const runBerth = async () => void berth.push(await berthPull());
    const runSkopeo = async () => (skopeo && !skopeoError ? tryStep(async () => void sk.push(await skopeoCopy(i))) : undefined);
    if (i % 2 === 0) await runBerth(), await runSkopeo();
    else await runSkopeo(), await runBerth();
  }
  await fs.rm(dir, { recursive: true, force: true });
  const berthMs = median(berth.map((x) => x.total));
  const skopeoMs = median(sk.map((x) => x.copyMs));
  return {
    reference,
    layers: first.layers,
    compressedBytes: first.bytes,
    uncompressedBytes: made.bytes,
    pushedDigest: pushed.digest,
    rounds: o.pullRounds,
    berth: { ...summarize(berth.map((x) => x.total)), downloadMedianMs: round(median(berth.map((x) => x.download))), unpackMedianMs: round(median(berth.map((x) => x.total - x.download))) },
    skopeo: skopeo
      ? skopeoError && sk.length === 0
        ? { available: false, reason: skopeoError }
        : { available: true, version: skopeoVersion!, copy: summarize(sk.map((x) => x.copyMs)), untarMedianMs: round(median(sk.map((x) => x.untarMs))), copyPlusUntar: summarize(sk.map((x) => x.copyMs + x.untarMs)) }
      : { available: false, reason: "skopeo is not installed (apt-get install -y skopeo): berth's pull measured alone" },
    ratioToSkopeo: Number.isFinite(skopeoMs) && skopeoMs > 0 ? round(berthMs / skopeoMs, 2) : null,
    ratioToSkopeoPlusUntar: sk.length ? round(berthMs / median(sk.map((x) => x.copyMs + x.untarMs)), 2) : null,
  };
}
