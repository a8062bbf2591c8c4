/**
 * Builders of image fixtures made in-test (no Docker engine, no registry): tar buffers with
 * arbitrary (also hostile) entries, a busybox rootfs from the host's static busybox,
 * `docker save` archives in the legacy and the Docker 25+ layout, and OCI image layouts as a
 * tar or a directory.
 */
import { normalizeReference } from "../../lib/reference.js";
import { createHash } from "node:crypto";
import { promises as fs, readFileSync } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import type { ImageRecord, ImageRuntimeConfig, ImageStore } from "../../runtime/types.js";
import { ociArchitecture } from "../../runtime/images/platform.js";
import { which } from "./host.js";

export interface FixtureEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "fifo" | "character-device" | "block-device";
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export const FIXED_MTIME = new Date("2024-01-02T03:04:05Z");

/** A tar archive of the entries, in order, exactly as given (names are not sanitized). */
export async function tarBuffer(entries: FixtureEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name,
        type,
        mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: e.mtime ?? FIXED_MTIME,
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
      };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") pack.entry({ ...header, size: data.length }, data, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function gzip(buf: Buffer): Buffer {
  return gzipSync(buf, { level: 1 });
}

export function sha256(buf: Buffer | string): string {
  return `sha256:${createHash("sha256").update(buf).digest("hex")}`;
}

export const BUSYBOX_APPLETS = [
  "sh", "echo", "cat", "sleep", "ls", "httpd", "wget", "id", "env", "true", "false", "mkdir", "rm",
  "touch", "head", "dd", "yes", "kill", "ps", "hostname", "mount", "grep", "wc",
];

/** Applets stored as hardlinks to /bin/busybox; the rest are symlinks (both kinds exercised). */
const HARDLINKED = new Set(["ls", "cat", "echo"]);

/** Rootfs entries of a minimal busybox system built from the host's static busybox. */
export function busyboxRootfsEntries(): FixtureEntry[] {
  const bin = which("busybox");
  if (!bin) throw new Error("busybox is not installed (apt-get install busybox-static)");
  const entries: FixtureEntry[] = [
    { name: "bin/", type: "directory" },
    { name: "bin/busybox", data: readFileSync(bin), mode: 0o755 },
    // A hardlink header carries its target's mode, as tar writers emit it: Docker applies
    // it to the target on unpack (0644 here would make /bin/busybox non-executable there).
    ...BUSYBOX_APPLETS.map<FixtureEntry>((a) =>
      HARDLINKED.has(a)
        ? { name: `bin/${a}`, type: "link", linkname: "bin/busybox", mode: 0o755 }
        : { name: `bin/${a}`, type: "symlink", linkname: "busybox" },
    ),
    { name: "etc/", type: "directory" },
    {
      name: "etc/passwd",
      data: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    },
    { name: "etc/group", data: "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n" },
    { name: "etc/hostname", data: "busybox\n" },
    { name: "root/", type: "directory", mode: 0o700 },
    { name: "home/", type: "directory" },
    { name: "home/app/", type: "directory", uid: 1000, gid: 1000 },
    { name: "tmp/", type: "directory", mode: 0o1777 },
    { name: "var/", type: "directory" },
    { name: "var/www/", type: "directory" },
    { name: "var/www/index.html", data: "hello from berth\n" },
    { name: "proc/", type: "directory", mode: 0o555 },
    { name: "sys/", type: "directory", mode: 0o555 },
    { name: "dev/", type: "directory" },
    { name: "usr/", type: "directory" },
    { name: "usr/bin/", type: "directory" },
  ];
  return entries;
}

export async function buildBusyboxRootfs(options: { gzip?: boolean } = {}): Promise<Buffer> {
  const t = await tarBuffer(busyboxRootfsEntries());
  return options.gzip ? gzip(t) : t;
}

export const BUSYBOX_CONFIG: ImageRuntimeConfig = {
  Cmd: ["sh"],
  Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
};

/** Imports the busybox rootfs as `reference` (default `busybox:latest`). */
export async function importBusybox(images: ImageStore, reference = "busybox:latest"): Promise<ImageRecord> {
  const buf = await buildBusyboxRootfs({ gzip: true });
  return images.importRootfs((async function* () { yield buf; })(), reference, { config: BUSYBOX_CONFIG });
}

// ------------------------------------------------------------------ image archives

export interface FixtureImage {
  /** Uncompressed layer tars, base first. */
  layers: Buffer[];
  /** Store layers gzip-compressed (the diff IDs stay those of the uncompressed tars). */
  gzipLayers?: boolean;
  repoTags?: string[];
  config?: ImageRuntimeConfig;
  architecture?: string;
}

export interface BuiltImage {
  configBytes: Buffer;
  configDigest: string;
  diffIds: string[];
  layerBlobs: Buffer[];
  manifestBytes: Buffer;
  manifestDigest: string;
}

export function buildImage(img: FixtureImage): BuiltImage {
  const diffIds = img.layers.map((l) => sha256(l));
  const layerBlobs = img.layers.map((l) => (img.gzipLayers ? gzip(l) : l));
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: img.architecture ?? ociArchitecture(),
      os: "linux",
      created: FIXED_MTIME.toISOString(),
      config: img.config ?? { Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: img.layers.map(() => ({ created: FIXED_MTIME.toISOString(), created_by: "fixture" })),
    }),
  );
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(configBytes), size: configBytes.length },
      layers: layerBlobs.map((b) => ({
        mediaType: img.gzipLayers ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
        digest: sha256(b),
        size: b.length,
      })),
    }),
  );
  return { configBytes, configDigest: sha256(configBytes), diffIds, layerBlobs, manifestBytes, manifestDigest: sha256(manifestBytes) };
}

const hex = (d: string) => d.slice("sha256:".length);

/**
 * A `docker save` archive. `legacy`: `<id>/layer.tar` + `<config-hex>.json` + manifest.json +
 * repositories (Docker < 25; a layer shared by two images is a symlink, as Docker writes it).
 * `modern`: Docker 25+: blobs/sha256 + manifest.json + index.json + oci-layout.
 */
export async function buildDockerSaveArchive(images: FixtureImage[], format: "legacy" | "modern"): Promise<Buffer> {
  const entries: FixtureEntry[] = [];
  const manifest: object[] = [];
  const index: object[] = [];
  const seen = new Map<string, string>();
  if (format === "modern") entries.push({ name: "blobs/", type: "directory" }, { name: "blobs/sha256/", type: "directory" });
  for (const img of images) {
    const b = buildImage(img);
    if (format === "legacy") {
      const layerPaths: string[] = [];
      let chain = "";
      for (const [i, blob] of b.layerBlobs.entries()) {
        chain = createHash("sha256").update(chain + b.diffIds[i]).digest("hex");
        const p = `${chain}/layer.tar`;
        layerPaths.push(p);
        if (seen.has(p)) continue;
        const prev = [...seen.entries()].find(([, d]) => d === sha256(blob));
        entries.push({ name: `${chain}/`, type: "directory" }, { name: `${chain}/VERSION`, data: "1.0" }, { name: `${chain}/json`, data: "{}" });
        if (prev) entries.push({ name: p, type: "symlink", linkname: `../${prev[0]}` });
        else entries.push({ name: p, data: blob });
        seen.set(p, sha256(blob));
      }
      entries.push({ name: `${hex(b.configDigest)}.json`, data: b.configBytes });
      manifest.push({ Config: `${hex(b.configDigest)}.json`, RepoTags: img.repoTags ?? [], Layers: layerPaths });
    } else {
      for (const blob of [...b.layerBlobs, b.configBytes, b.manifestBytes]) {
        const name = `blobs/sha256/${hex(sha256(blob))}`;
        if (seen.has(name)) continue;
        seen.set(name, "");
        entries.push({ name, data: blob });
      }
      manifest.push({
        Config: `blobs/sha256/${hex(b.configDigest)}`,
        RepoTags: img.repoTags ?? [],
        Layers: b.layerBlobs.map((l) => `blobs/sha256/${hex(sha256(l))}`),
      });
      for (const t of img.repoTags ?? [undefined]) {
        const d: Record<string, unknown> = {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: b.manifestDigest,
          size: b.manifestBytes.length,
        };
        // Docker writes the normalized name (busybox → docker.io/library/busybox:latest; localhost/x stays).
        if (t) d.annotations = { "io.containerd.image.name": normalizeReference(t)!, "org.opencontainers.image.ref.name": t.split(":").pop() ?? "latest" };
        index.push(d);
      }
    }
  }
  entries.push({ name: "manifest.json", data: JSON.stringify(manifest) });
  if (format === "modern") {
    entries.push({ name: "index.json", data: JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: index }) });
    entries.push({ name: "oci-layout", data: JSON.stringify({ imageLayoutVersion: "1.0.0" }) });
  } else {
    entries.push({ name: "repositories", data: "{}" });
  }
  return tarBuffer(entries);
}

export interface OciLayoutOptions {
  /** Full reference for `org.opencontainers.image.ref.name` (and containerd's annotation). */
  refName?: string;
  /** Wrap the manifest in a nested multi-platform index (with a foreign-arch decoy). */
  nestedIndex?: boolean;
}

/** OCI image layout entries for one image. */
export function ociLayoutEntries(img: FixtureImage, options: OciLayoutOptions = {}): FixtureEntry[] {
  const b = buildImage(img);
  const blobs = [...b.layerBlobs, b.configBytes, b.manifestBytes];
  let top = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: b.manifestDigest, size: b.manifestBytes.length } as Record<string, unknown>;
  if (options.nestedIndex) {
    const decoy = { ...top, digest: sha256("missing decoy"), platform: { os: "linux", architecture: "s390x-decoy" } };
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [decoy, { ...top, platform: { os: "linux", architecture: ociArchitecture() } }],
      }),
    );
    blobs.push(nested);
    top = { mediaType: "application/vnd.oci.image.index.v1+json", digest: sha256(nested), size: nested.length };
  }
  if (options.refName) top.annotations = { "org.opencontainers.image.ref.name": options.refName };
  return [
    { name: "oci-layout", data: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
    { name: "index.json", data: JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [top] }) },
    { name: "blobs/", type: "directory" },
    { name: "blobs/sha256/", type: "directory" },
    ...blobs.map<FixtureEntry>((blob) => ({ name: `blobs/sha256/${hex(sha256(blob))}`, data: blob })),
  ];
}

export async function buildOciLayoutTar(img: FixtureImage, options: OciLayoutOptions = {}): Promise<Buffer> {
  return tarBuffer(ociLayoutEntries(img, options));
}

/** Writes an OCI image layout directory at `dir`. */
export async function writeOciLayoutDir(dir: string, img: FixtureImage, options: OciLayoutOptions = {}): Promise<void> {
  for (const e of ociLayoutEntries(img, options)) {
    const p = path.join(dir, e.name);
    if (e.type === "directory") await fs.mkdir(p, { recursive: true });
    else {
      await fs.mkdir(path.dirname(p), { recursive: true });
      await fs.writeFile(p, e.data ?? "");
    }
  }
}

/** One ustar header block with a right checksum (for archives tarBuffer cannot write: a directory with a size, a pax global header). */
export function rawTarHeader(o: { name: string; type: string; size?: number; sizeField?: Buffer }): Buffer {
  const h = Buffer.alloc(512);
  h.write(o.name, 0);
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  if (o.sizeField) o.sizeField.copy(h, 124);
  else h.write(`${(o.size ?? 0).toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write(o.type, 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}
