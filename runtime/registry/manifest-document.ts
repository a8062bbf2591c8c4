import * as zlib from "node:zlib";
import { failedPrecondition, invalidArgument, notImplemented } from "../../lib/errors.js";
import { manifestKind, parseIndex, parseJson, parseManifest, type IndexEntry, type ParsedIndex, type ParsedManifest } from "../images/image-json.js";
import { isIndexType, isManifestType, MediaType } from "../images/media-types.js";
import { hostPlatform, platformMatches, type Platform } from "../images/platform.js";

/** What a pull asks for, most wanted first. */
export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.dockerManifest, MediaType.ociIndex, MediaType.dockerManifestList];

const GENERIC_TYPES = new Set(["", "application/json", "application/octet-stream", "text/plain", "binary/octet-stream"]);

export type ManifestDocument = { kind: "index"; mediaType: string; index: ParsedIndex } | { kind: "manifest"; mediaType: string; manifest: ParsedManifest };

/** `application/vnd.oci.image.manifest.v1+json; charset=utf-8` → the bare type, lowercase. */
export function bareContentType(v: string | undefined): string {
  return (v ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Reads a manifest or index fetched from a registry. Refuses (InvalidArgument):
 * - a document with `manifests` and also `layers` or `config` (CVE-2021-41190,
 *   GHSA-mc8v-mgrf-8f4m: the same bytes must not read as an index to one client and as an
 *   image to another);
 * - a `mediaType` field that differs from the Content-Type (when that is a specific type,
 *   not a generic JSON one) or from the descriptor that led here (containers/image#1409);
 * - a type that is neither an image manifest nor an index. Schema 1 is NotImplemented.
 */
export function readManifestDocument(bytes: Buffer, contentType: string | undefined, descriptorType: string | undefined, what: string): ManifestDocument {
  const doc = parseJson(bytes, what);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw invalidArgument(`parse ${what}: not a JSON object`);
  const d = doc as Record<string, unknown>;
  if (d.manifests !== undefined && (d.layers !== undefined || d.config !== undefined)) {
    throw invalidArgument(`parse ${what}: the document has both manifests and ${d.layers !== undefined ? "layers" : "config"} (ambiguous manifest/index, CVE-2021-41190)`);
  }
  const field = typeof d.mediaType === "string" ? d.mediaType : undefined;
  const header = bareContentType(contentType);
  if (field !== undefined && !GENERIC_TYPES.has(header) && header !== field.toLowerCase()) {
    throw invalidArgument(`parse ${what}: mediaType ${JSON.stringify(field)} does not match the Content-Type ${JSON.stringify(header)}`);
  }
  if (field !== undefined && descriptorType !== undefined && field !== descriptorType) {
    throw invalidArgument(`parse ${what}: mediaType ${JSON.stringify(field)} does not match the descriptor's ${JSON.stringify(descriptorType)}`);
  }
  const type = field ?? descriptorType ?? (GENERIC_TYPES.has(header) ? undefined : header);
  if (d.mediaType !== undefined && field === undefined) throw invalidArgument(`parse ${what}: mediaType must be a string`);
  const kind = manifestKind(doc, type, what);
  if (kind === "index") {
    if (d.layers !== undefined || d.config !== undefined) throw invalidArgument(`parse ${what}: an index has no layers or config`);
    return { kind, mediaType: type && isIndexType(type) ? type : MediaType.ociIndex, index: parseIndex(doc, what) };
  }
  if (d.manifests !== undefined) throw invalidArgument(`parse ${what}: an image manifest has no manifests`);
  const manifest = parseManifest(doc, what);
  return { kind, mediaType: type && isManifestType(type) ? type : MediaType.ociManifest, manifest };
}

function platformText(p: Platform | undefined): string {
  if (!p) return "(no platform)";
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/**
 * The entry of an index for `want` (default: the host). Attestation manifests
 * (`vnd.docker.reference.type`) and `unknown/unknown` entries are not images. A variant in
 * `want` must match; otherwise an entry without variant is preferred over the first with
 * one. FailedPrecondition listing the platforms available when none fits.
 */
export function choosePlatform(index: ParsedIndex, what: string, want: Platform = hostPlatform()): IndexEntry {
  const images = index.manifests.filter((m) => !m.annotations?.["vnd.docker.reference.type"] && m.platform?.os !== "unknown");
  const fits = images.filter((m) => platformMatches(m.platform, want) && (want.variant === undefined || m.platform?.variant === want.variant));
  const pick = fits.find((m) => !m.platform?.variant) ?? fits[0];
  if (pick) return pick;
  if (images.length === 1 && !images[0]!.platform) return images[0]!;
  const available = [...new Set(images.map((m) => platformText(m.platform)))];
  throw failedPrecondition(`${what}: no manifest for ${platformText(want)}; the index has ${available.length ? available.join(", ") : "no images"}`);
}

/** NotImplemented for layer media types this Node cannot unpack (zstd on Node < 22.15). */
export function checkLayerSupported(mediaType: string, what: string): void {
  if (mediaType.endsWith("+zstd") && !hasZstd()) {
    throw notImplemented(`${what}: zstd-compressed layers (${mediaType}) need Node 22.15 or later (this is ${process.version})`);
  }
}

function hasZstd(): boolean {
  return typeof (zlib as Record<string, unknown>).createZstdDecompress === "function";
}
