import { invalidArgument, notImplemented } from "../../lib/errors.js";
import { DIGEST_RE } from "../../lib/names.js";
import type { Descriptor, ImageRuntimeConfig } from "../types.js";
import { isConfigType, isIndexType, isLayerType, isManifestType, isSchema1Type, MediaType } from "./media-types.js";
import type { Platform } from "./platform.js";

/**
 * Strict readers of untrusted image JSON: OCI/Docker manifests, indexes and configs. Each
 * returns only the validated fields berth uses and throws InvalidArgument ("parse <what>:
 * <why>") on anything malformed. Callers cap the byte size before parsing.
 */

export interface IndexEntry extends Descriptor {
  platform?: Platform;
}

export interface ParsedIndex {
  mediaType: string;
  manifests: IndexEntry[];
}

export interface ParsedManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ParsedConfig {
  os: string;
  architecture: string;
  variant?: string;
  created?: string;
  diffIds: string[];
  config: ImageRuntimeConfig;
}

const MAX_ITEMS = 1000;

function fail(what: string, why: string): Error {
  return invalidArgument(`parse ${what}: ${why}`);
}

export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw invalidArgument(`parse ${what}: not valid JSON`, { cause: err });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, what: string, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw fail(what, `${field} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw fail(what, `${field}.${k} must be a string`);
    out[k] = x;
  }
  return out;
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw fail(what, "descriptor must be an object");
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== "string" || mediaType.length > 255) throw fail(what, "descriptor mediaType must be a string");
  if (typeof digest !== "string") throw fail(what, "descriptor digest must be a string");
  if (!DIGEST_RE.test(digest)) {
    if (/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:/.test(digest) && !digest.startsWith("sha256:")) {
      throw notImplemented(`parse ${what}: digest algorithm of ${JSON.stringify(digest)} is not supported (sha256 only)`);
    }
    throw fail(what, `invalid digest ${JSON.stringify(digest)}`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw fail(what, "descriptor size must be a non-negative integer");
  const d: Descriptor = { mediaType, digest, size };
  const annotations = stringMap(v.annotations, what, "annotations");
  if (annotations) d.annotations = annotations;
  return d;
}

function parsePlatform(v: unknown, what: string): Platform | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || typeof v.os !== "string" || typeof v.architecture !== "string") {
    throw fail(what, "platform must have string os and architecture");
  }
  const p: Platform = { os: v.os, architecture: v.architecture };
  if (typeof v.variant === "string") p.variant = v.variant;
  return p;
}

/** Which kind of document a manifest blob is, from its mediaType (or shape, when absent). */
export function manifestKind(doc: unknown, descriptorType: string | undefined, what: string): "index" | "manifest" {
  if (!isObject(doc)) throw fail(what, "not a JSON object");
  const t = typeof doc.mediaType === "string" ? doc.mediaType : descriptorType;
  if (isSchema1Type(t) || doc.schemaVersion === 1) {
    throw notImplemented(`parse ${what}: Docker schema 1 manifests are not supported`);
  }
  if (isIndexType(t)) return "index";
  if (isManifestType(t)) return "manifest";
  if (t === undefined || t === "") {
    if (Array.isArray(doc.manifests)) return "index";
    if (isObject(doc.config) && Array.isArray(doc.layers)) return "manifest";
  }
  throw fail(what, `unsupported media type ${JSON.stringify(t)}`);
}

export function parseIndex(doc: unknown, what: string): ParsedIndex {
  if (!isObject(doc)) throw fail(what, "not a JSON object");
  if (doc.schemaVersion !== 2) throw fail(what, "schemaVersion must be 2");
  if (!Array.isArray(doc.manifests)) throw fail(what, "manifests must be an array");
  if (doc.manifests.length > MAX_ITEMS) throw fail(what, `more than ${MAX_ITEMS} manifests`);
  const manifests = doc.manifests.map((m, i) => {
    const d: IndexEntry = parseDescriptor(m, `${what} manifests[${i}]`);
    const p = parsePlatform((m as Record<string, unknown>).platform, `${what} manifests[${i}]`);
    if (p) d.platform = p;
    return d;
  });
  return { mediaType: typeof doc.mediaType === "string" ? doc.mediaType : MediaType.ociIndex, manifests };
}

export function parseManifest(doc: unknown, what: string): ParsedManifest {
  if (!isObject(doc)) throw fail(what, "not a JSON object");
  if (doc.schemaVersion !== 2) throw fail(what, "schemaVersion must be 2");
  const config = parseDescriptor(doc.config, `${what} config`);
  if (!isConfigType(config.mediaType)) throw fail(what, `config media type ${JSON.stringify(config.mediaType)} is not a container image config`);
  if (!Array.isArray(doc.layers)) throw fail(what, "layers must be an array");
  if (doc.layers.length > MAX_ITEMS) throw fail(what, `more than ${MAX_ITEMS} layers`);
  const layers = doc.layers.map((l, i) => {
    const d = parseDescriptor(l, `${what} layers[${i}]`);
    if (!isLayerType(d.mediaType)) throw fail(what, `layers[${i}] has unsupported media type ${JSON.stringify(d.mediaType)}`);
    return d;
  });
  return { mediaType: typeof doc.mediaType === "string" ? doc.mediaType : MediaType.ociManifest, config, layers };
}

function stringArray(v: unknown, what: string, field: string, nullable: boolean): string[] | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return nullable ? null : undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw fail(what, `${field} must be an array of strings`);
  return v as string[];
}

function objectMap(v: unknown, what: string, field: string): Record<string, object> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw fail(what, `${field} must be an object`);
  const out: Record<string, object> = {};
  for (const k of Object.keys(v)) out[k] = {};
  return out;
}

/** The runtime-relevant part of a config's `config` member (also used for import changes). */
export function parseRuntimeConfig(v: unknown, what: string): ImageRuntimeConfig {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw fail(what, "config must be an object");
  const c: ImageRuntimeConfig = {};
  for (const f of ["User", "WorkingDir", "StopSignal"] as const) {
    const x = v[f];
    if (x === undefined || x === null || x === "") continue;
    if (typeof x !== "string") throw fail(what, `${f} must be a string`);
    c[f] = x;
  }
  const env = stringArray(v.Env, what, "Env", false);
  if (env) c.Env = env;
  for (const f of ["Entrypoint", "Cmd"] as const) {
    const x = stringArray(v[f], what, f, true);
    if (x !== undefined) c[f] = x;
  }
  const labels = stringMap(v.Labels, what, "Labels");
  if (labels) c.Labels = labels;
  const ports = objectMap(v.ExposedPorts, what, "ExposedPorts");
  if (ports) c.ExposedPorts = ports;
  const vols = objectMap(v.Volumes, what, "Volumes");
  if (vols) c.Volumes = vols;
  const onBuild = stringArray(v.OnBuild, what, "OnBuild", true);
  if (onBuild !== undefined) c.OnBuild = onBuild;
  const shell = stringArray(v.Shell, what, "Shell", false);
  if (shell) {
    if (shell.length === 0) throw fail(what, "Shell must not be empty");
    c.Shell = shell;
  }
  const hc = healthcheckOf(v.Healthcheck, what);
  if (hc) c.Healthcheck = hc;
  return c;
}

const MAX_DURATION_NS = 2 ** 53 - 1;

/** Docker's HEALTHCHECK in an image config: Test forms NONE, CMD, CMD-SHELL; durations in ns. */
function healthcheckOf(v: unknown, what: string): ImageRuntimeConfig["Healthcheck"] {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw fail(what, "Healthcheck must be an object");
  const out: NonNullable<ImageRuntimeConfig["Healthcheck"]> = {};
  const test = stringArray(v.Test, what, "Healthcheck.Test", true);
  if (test) {
    const kind = test[0];
    const ok = (kind === "NONE" && test.length === 1) || (kind === "CMD" && test.length > 1) || (kind === "CMD-SHELL" && test.length === 2);
    if (!ok && test.length > 0) throw fail(what, `Healthcheck.Test must be ["NONE"], ["CMD", ...] or ["CMD-SHELL", command], got ${JSON.stringify(test).slice(0, 200)}`);
    if (test.length > 0) out.Test = test;
  }
  for (const f of ["Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"] as const) {
    const x = v[f];
    if (x === undefined || x === null || x === 0) continue;
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > MAX_DURATION_NS) throw fail(what, `Healthcheck.${f} must be a non-negative integer`);
    out[f] = x;
  }
  return Object.keys(out).length ? out : undefined;
}

export function parseImageConfig(doc: unknown, what: string): ParsedConfig {
  if (!isObject(doc)) throw fail(what, "not a JSON object");
  if (typeof doc.os !== "string" || doc.os === "") throw fail(what, "os must be a string");
  if (typeof doc.architecture !== "string" || doc.architecture === "") throw fail(what, "architecture must be a string");
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids)) {
    throw fail(what, 'rootfs must be {"type":"layers","diff_ids":[...]}');
  }
  if (rootfs.diff_ids.length > MAX_ITEMS) throw fail(what, `more than ${MAX_ITEMS} diff_ids`);
  const diffIds = rootfs.diff_ids.map((d, i) => {
    if (typeof d !== "string" || !DIGEST_RE.test(d)) throw fail(what, `rootfs.diff_ids[${i}] is not a sha256 digest`);
    return d;
  });
  const out: ParsedConfig = {
    os: doc.os,
    architecture: doc.architecture,
    diffIds,
    config: parseRuntimeConfig(doc.config, what),
  };
  if (typeof doc.variant === "string") out.variant = doc.variant;
  if (typeof doc.created === "string") out.created = doc.created;
  return out;
}
