import type { Logger } from "pino";
import { failedPrecondition, invalidArgument, isBerthError } from "../../lib/errors.js";
import { sha256Digest } from "../content/digest.js";
import { ociLayerMediaType, detectFileCompression } from "../snapshots/decompress.js";
import type { Descriptor } from "../types.js";
import { resolveArchiveFile, type ArchiveTable } from "./archive-reader.js";
import { manifestKind, parseIndex, parseJson, parseManifest, type IndexEntry, type ParsedManifest } from "./image-json.js";
import { checkManifest, type ManifestCheckContext } from "./manifest-check.js";
import { MediaType } from "./media-types.js";
import { platformMatches } from "./platform.js";
import { normalizeTaggedReference, TAG_RE } from "../../lib/reference.js";
import type { ImageCandidate } from "./types.js";

export interface LoadContext extends ManifestCheckContext {
  maxManifestBytes: number;
  logger: Logger;
  /** Pins a digest the load created itself (synthesized manifests). */
  onIngest: (digest: string) => void;
}

const MAX_NESTING = 4;

/**
 * Turns an archive table into image candidates. OCI `index.json` first (with
 * `io.containerd.image.name` / `org.opencontainers.image.ref.name` annotations for names,
 * nested indexes resolved to the host platform); then every `manifest.json` entry (docker
 * save) whose config is not already covered — its `RepoTags` also name OCI images with the
 * same config. Docker-archive images get a synthesized OCI manifest.
 */
export async function resolveArchiveImages(table: ArchiveTable, ctx: LoadContext): Promise<ImageCandidate[]> {
  const hasIndex = table.metadata.has("index.json");
  const hasManifest = table.metadata.has("manifest.json");
  if (!hasIndex && !hasManifest) {
    throw invalidArgument("load images: archive has neither index.json (OCI layout) nor manifest.json (docker save)");
  }
  if (hasIndex && !hasManifest) checkOciLayout(table);
  const out: ImageCandidate[] = [];
  if (hasIndex) {
    const index = parseIndex(parseJson(table.metadata.get("index.json")!, "index.json"), "index.json");
    for (const [i, entry] of index.manifests.entries()) {
      const c = await resolveDescriptor(ctx, entry, namesOf(entry, ctx), 0, `load images: index.json manifests[${i}]`, true);
      if (c) out.push(c);
    }
  }
  if (hasManifest) {
    await resolveDockerManifest(table, ctx, out);
  }
  if (out.length === 0) throw invalidArgument("load images: archive contains no image for this platform");
  return out;
}

function checkOciLayout(table: ArchiveTable): void {
  const raw = table.metadata.get("oci-layout");
  if (!raw) throw invalidArgument("load images: OCI layout has no oci-layout file");
  const doc = parseJson(raw, "oci-layout") as { imageLayoutVersion?: unknown };
  if (typeof doc !== "object" || doc === null || typeof doc.imageLayoutVersion !== "string" || !doc.imageLayoutVersion.startsWith("1.")) {
    throw invalidArgument("load images: oci-layout has an unsupported imageLayoutVersion");
  }
}

function namesOf(d: Descriptor, ctx: LoadContext): string[] {
  const a = d.annotations ?? {};
  const candidates: string[] = [];
  if (a["io.containerd.image.name"]) candidates.push(a["io.containerd.image.name"]);
  const refName = a["org.opencontainers.image.ref.name"];
  // A bare tag ("latest") names no repository: the OCI spec allows it, but we cannot use it.
  if (refName && !(TAG_RE.test(refName) && !refName.includes(":"))) candidates.push(refName);
  const out: string[] = [];
  for (const c of candidates) {
    try {
      const n = normalizeTaggedReference(c);
      if (!out.includes(n)) out.push(n);
    } catch (err) {
      ctx.logger.warn({ name: c, err: (err as Error).message }, "ignoring unusable image name annotation");
    }
  }
  return out;
}

async function readManifestBlob(ctx: LoadContext, d: Descriptor, what: string): Promise<unknown> {
  let size: number;
  try {
    size = await ctx.content.size(d.digest);
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw invalidArgument(`${what}: blob ${d.digest} is missing from the archive`, { cause: err });
    throw err;
  }
  if (size !== d.size) throw invalidArgument(`${what}: blob ${d.digest} has ${size} bytes, descriptor says ${d.size}`);
  return parseJson(await ctx.content.readBytes(d.digest, ctx.maxManifestBytes), what);
}

async function resolveDescriptor(
  ctx: LoadContext,
  d: IndexEntry,
  names: string[],
  depth: number,
  what: string,
  topLevel: boolean,
): Promise<ImageCandidate | undefined> {
  const known = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifest, MediaType.dockerManifestList] as string[];
  if (topLevel && !known.includes(d.mediaType)) {
    ctx.logger.info({ digest: d.digest, mediaType: d.mediaType }, "skipping non-image entry of index.json");
    return undefined;
  }
  const doc = await readManifestBlob(ctx, d, what);
  if (manifestKind(doc, d.mediaType, what) === "index") {
    if (depth >= MAX_NESTING) throw invalidArgument(`${what}: indexes nested deeper than ${MAX_NESTING}`);
    const index = parseIndex(doc, what);
    const runnable = index.manifests.filter(
      (m) => !m.annotations?.["vnd.docker.reference.type"] && m.platform?.os !== "unknown",
    );
    const pick = runnable.find((m) => platformMatches(m.platform)) ?? (runnable.length === 1 && !runnable[0]!.platform ? runnable[0] : undefined);
    if (!pick) {
      throw failedPrecondition(`${what}: the index has no manifest for linux/${process.arch} (${runnable.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(", ")})`);
    }
    return resolveDescriptor(ctx, pick, names, depth + 1, `${what} → ${pick.digest}`, false);
  }
  const manifest: ParsedManifest = parseManifest(doc, what);
  const image = await checkManifest(ctx, d.digest, manifest, what);
  return { image, references: names };
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function parseDockerManifest(raw: Buffer): DockerManifestEntry[] {
  const doc = parseJson(raw, "manifest.json");
  const bad = (why: string) => invalidArgument(`parse manifest.json: ${why}`);
  if (!Array.isArray(doc)) throw bad("must be an array");
  if (doc.length > 1000) throw bad("more than 1000 images");
  return doc.map((e, i) => {
    if (typeof e !== "object" || e === null) throw bad(`entry ${i} is not an object`);
    const { Config, RepoTags, Layers } = e as Record<string, unknown>;
    if (typeof Config !== "string") throw bad(`entry ${i} Config must be a string`);
    if (RepoTags !== undefined && RepoTags !== null && (!Array.isArray(RepoTags) || !RepoTags.every((t) => typeof t === "string"))) {
      throw bad(`entry ${i} RepoTags must be an array of strings`);
    }
    if (!Array.isArray(Layers) || !Layers.every((l) => typeof l === "string") || Layers.length > 1000) {
      throw bad(`entry ${i} Layers must be an array of strings`);
    }
    return { Config, RepoTags: (RepoTags as string[] | null | undefined) ?? [], Layers: Layers as string[] };
  });
}

/** Adds the images of manifest.json to `out`, merging names into candidates with the same config. */
async function resolveDockerManifest(table: ArchiveTable, ctx: LoadContext, out: ImageCandidate[]): Promise<void> {
  const entries = parseDockerManifest(table.metadata.get("manifest.json")!);
  for (const [i, e] of entries.entries()) {
    const what = `load images: manifest.json[${i}]`;
    const cfg = resolveArchiveFile(table, e.Config);
    if (!cfg) throw invalidArgument(`${what}: config ${JSON.stringify(e.Config)} is not in the archive`);
    const legacyHex = /^([a-f0-9]{64})\.json$/.exec(e.Config)?.[1];
    if (legacyHex && cfg.digest !== `sha256:${legacyHex}`) {
      throw invalidArgument(`${what}: config ${e.Config} has digest ${cfg.digest}`);
    }
    const references = repoTags(e, what);
    const same = out.find((o) => o.image.configDigest === cfg.digest);
    if (same) {
      for (const r of references) if (!same.references.includes(r)) same.references.push(r);
      continue;
    }
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const f = resolveArchiveFile(table, l);
      if (!f) throw invalidArgument(`${what}: layer ${JSON.stringify(l)} is not in the archive`);
      const compression = await detectFileCompression(await ctx.content.pathOf(f.digest));
      if (compression !== "none" && compression !== "gzip" && compression !== "zstd") {
        throw invalidArgument(`${what}: layer ${JSON.stringify(l)} is ${compression}-compressed`);
      }
      layers.push({ mediaType: ociLayerMediaType(compression), digest: f.digest, size: f.size });
    }
    const manifestDoc = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifestDoc));
    const digest = sha256Digest(bytes);
    ctx.onIngest(digest);
    await ctx.content.ingest([bytes], { expectedDigest: digest });
    const manifest: ParsedManifest = { mediaType: MediaType.ociManifest, config: manifestDoc.config, layers };
    const image = await checkManifest(ctx, digest, manifest, what);
    out.push({ image, references });
  }
}

function repoTags(e: DockerManifestEntry, what: string): string[] {
  const references: string[] = [];
  for (const t of e.RepoTags) {
    try {
      const n = normalizeTaggedReference(t);
      if (!references.includes(n)) references.push(n);
    } catch (err) {
      throw invalidArgument(`${what}: RepoTags entry ${JSON.stringify(t)}: ${(err as Error).message}`, { cause: err });
    }
  }
  return references;
}
