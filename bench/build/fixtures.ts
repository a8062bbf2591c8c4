/**
 * The build benchmark's inputs, made on this host: a busybox rootfs tarball with every applet
 * linked (the base both berth and the private dockerd import), the multi-layer image that is
 * pushed once and pulled every round (incompressible files, a few per layer, over busybox), and
 * the example app's build context (a multi-stage Dockerfile, ~200 small files, a few larger).
 */
import { randomBytes } from "node:crypto";
import { promises as fs, readFileSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { which } from "../../test/helpers/host.js";
import { buildOciLayoutTar, tarBuffer, type FixtureEntry } from "../../test/helpers/image-fixtures.js";
import { must } from "../runtime/helpers.js";
import type { BuildBenchOptions } from "./options.js";

export const BASE_IMAGE = "localhost/berth-bench/busybox:1";
export const APP_IMAGE = "localhost/berth-bench/app:1";
export const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A busybox rootfs at `dir` with every applet `busybox --list` names linked in /bin, and its gzip tarball `tgz`. */
export async function makeBusyboxRootfs(dir: string, tgz: string, timeoutMs: number): Promise<void> {
  const busybox = which("busybox");
  if (!busybox) throw new Error("busybox is not installed (apt-get install busybox-static)");
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "usr/bin", "var"]) await fs.mkdir(path.join(dir, d), { recursive: true });
  await fs.chmod(path.join(dir, "tmp"), 0o1777);
  await fs.copyFile(busybox, path.join(dir, "bin/busybox"));
  await fs.chmod(path.join(dir, "bin/busybox"), 0o755);
  const applets = (await must(busybox, ["--list"], timeoutMs)).split("\n").filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== "busybox");
  for (const a of applets) await fs.symlink("busybox", path.join(dir, "bin", a));
  await fs.writeFile(path.join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await fs.writeFile(path.join(dir, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await must("tar", ["--numeric-owner", "-C", dir, "-czf", tgz, "."], timeoutMs);
}

/**
 * An OCI layout tar of busybox plus `o.pullLayers` gzip layers of random bytes (8 files each,
 * `o.pullBytes` in all), named `reference`; what it holds, for the report.
 */
export async function makeLayeredImage(rootfsTgz: string, reference: string, out: string, o: BuildBenchOptions): Promise<{ layers: number; bytes: number }> {
  const perLayer = Math.round(o.pullBytes / o.pullLayers);
  const filesPerLayer = 8;
  const layers: Buffer[] = [gunzipSync(readFileSync(rootfsTgz))];
  for (let l = 0; l < o.pullLayers; l++) {
    const entries: FixtureEntry[] = [{ name: "data/", type: "directory" }, { name: `data/layer-${l}/`, type: "directory" }];
    for (let f = 0; f < filesPerLayer; f++) entries.push({ name: `data/layer-${l}/blob-${f}.bin`, data: randomBytes(Math.round(perLayer / filesPerLayer)) });
    layers.push(await tarBuffer(entries));
  }
  await fs.writeFile(out, await buildOciLayoutTar({ layers, gzipLayers: true, config: { Cmd: ["sh"], Env: [PATH_ENV] } }, { refName: reference }));
  return { layers: layers.length, bytes: layers.reduce((a, b) => a + b.length, 0) };
}

/** The example app's Dockerfile: a build stage that does some work, a final stage that takes its results. */
export function appDockerfile(o: BuildBenchOptions): string {
  const chunks = 8;
  const kib = Math.max(1, Math.round(o.runBytes / chunks / 1024));
  return [
    `FROM ${BASE_IMAGE} AS build`,
    "WORKDIR /work",
    `RUN mkdir -p out && i=0 && while [ $i -lt ${chunks} ]; do dd if=/dev/urandom of=out/gen-$i.bin bs=1024 count=${kib} 2>/dev/null; i=$((i+1)); done && ls out | wc -l > out/count`,
    "COPY src/ /work/src/",
    "COPY assets/ /work/assets/",
    "RUN find /work/src -type f | sort | xargs cat | md5sum > /work/out/src.md5 && tar -cf /work/out/assets.tar -C /work assets",
    "",
    `FROM ${BASE_IMAGE}`,
    "ENV APP_ENV=production APP_PORT=8080",
    'LABEL org.opencontainers.image.title="berth bench app" org.opencontainers.image.version="1"',
    "WORKDIR /app",
    "COPY --from=build /work/out/ /app/data/",
    "COPY --from=build /work/src/ /app/src/",
    "EXPOSE 8080",
    "HEALTHCHECK --interval=30s --timeout=3s CMD test -f /app/data/count || exit 1",
    'CMD ["sh", "-c", "cat /app/data/count"]',
    "",
  ].join("\n");
}

/** Writes the build context at `dir`: Dockerfile, src/ (small text files in a few dirs), assets/ (larger, incompressible). */
export async function makeAppContext(dir: string, o: BuildBenchOptions): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, "Dockerfile"), appDockerfile(o));
  await fs.writeFile(path.join(dir, ".dockerignore"), "*.tmp\n");
  for (let i = 0; i < o.contextSmallFiles; i++) {
    const sub = path.join(dir, "src", `mod-${String(i % 10).padStart(2, "0")}`);
    await fs.mkdir(sub, { recursive: true });
    const text = `// file ${i}\n${randomBytes(200 + ((i * 37) % 3800)).toString("base64")}\n`;
    bytes += text.length;
    await fs.writeFile(path.join(sub, `file-${String(i).padStart(3, "0")}.js`), text);
  }
  await fs.mkdir(path.join(dir, "assets"));
  for (let i = 0; i < o.contextLargeFiles; i++) {
    bytes += o.contextLargeBytes;
    await fs.writeFile(path.join(dir, "assets", `asset-${i}.bin`), randomBytes(o.contextLargeBytes));
  }
  return { files: o.contextSmallFiles + o.contextLargeFiles + 2, bytes };
}
