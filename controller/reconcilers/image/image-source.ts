import { createReadStream, promises as fs } from "node:fs";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import type { ImageRuntimeConfig } from "../../../runtime/types.js";
import type { ImageConfigChanges } from "../../manifests/model.js";

export type ArchiveFormat = "docker-archive" | "oci-archive" | "oci-dir" | "rootfs";

/**
 * What an import path holds: a directory is an OCI layout; a tar (gzip or not) with a
 * top-level `manifest.json` is a `docker save` archive, with `oci-layout` an OCI layout,
 * anything else a rootfs. Reads at most the first `maxEntries` entry headers.
 */
export async function detectArchiveFormat(file: string, maxEntries = 10_000): Promise<ArchiveFormat> {
  const st = await fs.stat(file);
  if (st.isDirectory()) return "oci-dir";
  const head = Buffer.alloc(2);
  const fh = await fs.open(file, "r");
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  return new Promise<ArchiveFormat>((resolve, reject) => {
    const extract = tar.extract();
    const input = createReadStream(file);
    let settled = false;
    let ociLayout = false;
    let seen = 0;
    const done = (err: Error | undefined, format?: ArchiveFormat) => {
      if (settled) return;
      settled = true;
      input.destroy();
      extract.destroy();
      if (err) reject(err);
      else resolve(format!);
    };
    extract.on("entry", (header, stream, next) => {
      const name = header.name.replace(/^\.\//, "");
      stream.on("end", next);
      stream.resume();
      // manifest.json decides: Docker 25+ archives carry an OCI layout too.
      if (name === "manifest.json") return done(undefined, "docker-archive");
      if (name === "oci-layout") ociLayout = true;
      if (++seen >= maxEntries) done(undefined, ociLayout ? "oci-archive" : "rootfs");
    });
    extract.on("finish", () => done(undefined, ociLayout ? "oci-archive" : "rootfs"));
    extract.on("error", (err) => done(err));
    input.on("error", (err) => done(err));
    (gz ? input.pipe(createGunzip()).on("error", (err) => done(err)) : input).pipe(extract);
  });
}

/** An Image object's `import.config` as the runtime's image config. */
export function toImageConfig(c: ImageConfigChanges | undefined): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = {};
  if (!c) return out;
  if (c.entrypoint) out.Entrypoint = c.entrypoint;
  if (c.cmd) out.Cmd = c.cmd;
  if (c.env && Object.keys(c.env).length) out.Env = Object.entries(c.env).map(([k, v]) => `${k}=${v}`);
  if (c.workingDir) out.WorkingDir = c.workingDir;
  if (c.user) out.User = c.user;
  if (c.labels) out.Labels = c.labels;
  if (c.stopSignal) out.StopSignal = c.stopSignal;
  if (c.exposedPorts) out.ExposedPorts = Object.fromEntries(c.exposedPorts.map((p) => [p.includes("/") ? p : `${p}/tcp`, {}]));
  return out;
}
