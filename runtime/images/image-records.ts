import { promises as fs } from "node:fs";
import * as path from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../../lib/atomic-file.js";
import { digestHex } from "../content/digest.js";
import type { ImageRecord } from "../types.js";
import type { StoredImage } from "./types.js";

interface RefsFile {
  version: 1;
  /** Normalized tagged reference → manifest digest. */
  refs: Record<string, string>;
}

const RECORD_RE = /^([a-f0-9]{64})\.json$/;

/**
 * The files of the image store under `<root>/images/`: one record per image,
 * `<manifest-hex>.json` (a StoredImage), and the reference index `refs.json` (reference →
 * manifest digest), each written atomically. Nothing here locks or orders writes: FsImageStore
 * decides in which order records and references change (see its header).
 */
export class ImageRecordFiles {
  readonly dir: string;
  private readonly refsFile: string;

  constructor(root: string) {
    this.dir = path.join(root, "images");
    this.refsFile = path.join(this.dir, "refs.json");
  }

  /** A copy of the reference index; empty when there is none yet. */
  async readRefs(): Promise<Record<string, string>> {
    const f = await readJsonIfExists<RefsFile>(this.refsFile);
    return { ...(f?.refs ?? {}) };
  }

  /** Replaces the reference index, sorted by reference. */
  async writeRefs(refs: Record<string, string>): Promise<void> {
    const sorted = Object.fromEntries(Object.entries(refs).sort(([a], [b]) => a.localeCompare(b)));
    await writeJsonAtomic(this.refsFile, { version: 1, refs: sorted } satisfies RefsFile);
  }

  private recordPath(digest: string): string {
    return path.join(this.dir, `${digestHex(digest)}.json`);
  }

  /** The record of a manifest digest; undefined when there is none. */
  async read(digest: string): Promise<StoredImage | undefined> {
    return readJsonIfExists<StoredImage>(this.recordPath(digest));
  }

  /** Every record, in directory order. */
  async readAll(): Promise<StoredImage[]> {
    const out: StoredImage[] = [];
    for (const name of await fs.readdir(this.dir)) {
      const m = RECORD_RE.exec(name);
      if (!m) continue;
      const s = await this.read(`sha256:${m[1]}`);
      if (s) out.push(s);
    }
    return out;
  }

  async write(image: StoredImage): Promise<void> {
    await writeJsonAtomic(this.recordPath(image.digest), image);
  }

  /** Deletes a record; idempotent. */
  async remove(digest: string): Promise<void> {
    await fs.rm(this.recordPath(digest), { force: true });
  }
}

/** The references in `refs` that point at `digest`, sorted. */
export function referencesTo(refs: Record<string, string>, digest: string | undefined): string[] {
  return Object.keys(refs).filter((r) => refs[r] === digest).sort();
}

/** A stored record with its references, as the ImageStore interface returns it. */
export function toImageRecord(s: StoredImage, refs: Record<string, string>): ImageRecord {
  const rec: ImageRecord = {
    references: referencesTo(refs, s.digest),
    digest: s.digest,
    configDigest: s.configDigest,
    layers: s.layers,
    diffIds: s.diffIds,
    chainIds: s.chainIds,
    config: s.config,
    os: s.os,
    architecture: s.architecture,
    size: s.size,
  };
  if (s.created) rec.created = s.created;
  return rec;
}

/** Every blob (manifest, config, layers) the given records reference. */
export function referencedBlobs(images: StoredImage[]): Set<string> {
  const out = new Set<string>();
  for (const s of images) {
    out.add(s.digest);
    out.add(s.configDigest);
    for (const l of s.layers) out.add(l.digest);
  }
  return out;
}
