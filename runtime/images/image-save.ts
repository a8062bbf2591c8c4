import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { fsyncDir } from "../../lib/atomic-file.js";
import type { FsContentStore } from "../content/content-store.js";
import { digestHex } from "../content/digest.js";
import { MediaType } from "./media-types.js";
import { familiarReference, parseReference } from "../../lib/reference.js";
import type { StoredImage } from "./types.js";

export interface SaveItem {
  image: StoredImage;
  /** Normalized tagged references to write for it (may be empty). */
  references: string[];
}

/**
 * Writes one archive that both worlds read:
 *   blobs/sha256/<hex>   manifests, configs and layers (each once)
 *   oci-layout, index.json   an OCI image layout; one index entry per reference, annotated
 *                        with `io.containerd.image.name` and `org.opencontainers.image.ref.name`
 *   manifest.json        the docker-archive manifest (`Config`, `RepoTags`, `Layers` pointing
 *                        at blobs/sha256 paths), as Docker 25+ writes it
 * The file appears atomically at `outFile` (temp file + fsync + rename) or not at all.
 */
export async function writeImageArchive(content: FsContentStore, items: SaveItem[], outFile: string): Promise<void> {
  const dir = path.dirname(path.resolve(outFile));
  const tmp = path.join(dir, `.${path.basename(outFile)}.${randomBytes(6).toString("hex")}.tmp`);
  const pack = tar.pack();
  const out = createWriteStream(tmp, { flags: "wx", mode: 0o644 });
  const writing = pipeline(pack, out);
  const mtime = new Date(0);
  const addBuffer = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      pack.entry({ name, size: data.length, mode: 0o444, mtime }, data, (err) => (err ? reject(err) : resolve()));
    });
  const addBlob = async (digest: string) => {
    const file = await content.pathOf(digest);
    const size = await content.size(digest);
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name: `blobs/sha256/${digestHex(digest)}`, size, mode: 0o444, mtime }, (err) =>
        err ? reject(err) : resolve(),
      );
      copyInto(file, entry).catch((err: unknown) => {
        entry.destroy(err as Error);
        reject(err);
      });
    });
  };
  try {
    for (const name of ["blobs/", "blobs/sha256/"]) {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name, type: "directory", mode: 0o755, mtime }, (err) => (err ? reject(err) : resolve())),
      );
    }
    const written = new Set<string>();
    for (const { image } of items) {
      for (const d of [...image.layers.map((l) => l.digest), image.configDigest, image.digest]) {
        if (written.has(d)) continue;
        written.add(d);
        await addBlob(d);
      }
    }
    const indexEntries: object[] = [];
    const dockerManifest: object[] = [];
    for (const { image, references } of items) {
      const size = await content.size(image.digest);
      const base = { mediaType: image.manifestMediaType, digest: image.digest, size };
      if (references.length === 0) indexEntries.push(base);
      for (const ref of references) {
        const tag = parseReference(ref).tag ?? "latest";
        indexEntries.push({
          ...base,
          annotations: { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tag },
        });
      }
      dockerManifest.push({
        Config: `blobs/sha256/${digestHex(image.configDigest)}`,
        RepoTags: references.map(familiarReference),
        Layers: image.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
      });
    }
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries };
    await addBuffer("index.json", Buffer.from(JSON.stringify(index)));
    await addBuffer("manifest.json", Buffer.from(JSON.stringify(dockerManifest)));
    await addBuffer("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    pack.finalize();
    await writing;
    const fh = await fs.open(tmp, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, outFile);
    await fsyncDir(dir);
  } catch (err) {
    pack.destroy();
    await writing.catch(() => {});
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

async function copyInto(file: string, sink: { write(chunk: Buffer): boolean; end(data: undefined): unknown; once(ev: "drain", fn: () => void): unknown }): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once("drain", resolve));
  }
  sink.end(undefined);
}
