import { invalidArgument, isBerthError, notFound } from "../../lib/errors.js";
import { DIGEST_RE } from "../../lib/names.js";
import { parseReference } from "../../lib/reference.js";
import { digestHex } from "../content/digest.js";

const HEX_PREFIX_RE = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/** What name resolution reads: images by manifest digest, all images, and the tag index. */
export interface ImageNameIndex<S extends { digest: string; configDigest: string }> {
  read(digest: string): Promise<S | undefined> | S | undefined;
  readAll(): Promise<S[]> | S[];
}

/**
 * The stored image a user's text names, tried in Docker's order: a full digest (manifest, then
 * config digest), a reference (a tag, or `name@sha256:...` matching the manifest digest), then
 * a unique hex prefix of either digest. NotFound when nothing matches; InvalidArgument for a
 * bad reference, a config digest shared by several images or an ambiguous prefix. The one
 * rule for every ImageStore (FsImageStore and runtime/testing's fake).
 */
export async function resolveStoredImage<S extends { digest: string; configDigest: string }>(
  input: string,
  refs: Record<string, string> | ReadonlyMap<string, string>,
  records: ImageNameIndex<S>,
): Promise<S> {
  const missing = () => notFound(`get image ${input}: not found`, { object: { kind: "image", name: input } });
  if (DIGEST_RE.test(input)) {
    const byManifest = await records.read(input);
    if (byManifest) return byManifest;
    const byConfig = (await records.readAll()).filter((s) => s.configDigest === input);
    if (byConfig.length === 1) return byConfig[0]!;
    if (byConfig.length > 1) throw invalidArgument(`get image ${input}: config digest is shared by ${byConfig.length} images; use a manifest digest`);
    throw missing();
  }
  let parseError: unknown;
  try {
    const ref = parseReference(input);
    if (ref.digest !== undefined) {
      const s = await records.read(ref.digest);
      if (s) return s;
      throw missing();
    }
    const key = `${ref.domain}/${ref.path}:${ref.tag}`;
    const digest = refs instanceof Map ? refs.get(key) : (refs as Record<string, string>)[key];
    if (digest) {
      const s = await records.read(digest);
      if (s) return s;
    }
  } catch (err) {
    if (isBerthError(err, "NotFound")) throw err;
    parseError = err;
  }
  const m = HEX_PREFIX_RE.exec(input);
  if (m) {
    const prefix = m[1]!;
    const hits = (await records.readAll()).filter(
      (s) => digestHex(s.digest).startsWith(prefix) || digestHex(s.configDigest).startsWith(prefix),
    );
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw invalidArgument(`get image ${input}: ambiguous prefix matches ${hits.length} images`);
  }
  if (parseError && !m) throw parseError;
  throw missing();
}

/**
 * The reference-index key of `input` when it is a tagged reference (`busybox` →
 * `docker.io/library/busybox:latest`); undefined for a digest reference or text that is not
 * a reference (a digest, an ID prefix).
 */
export function tagKeyOf(input: string): string | undefined {
  try {
    const r = parseReference(input);
    return r.digest === undefined ? `${r.domain}/${r.path}:${r.tag}` : undefined;
  } catch {
    return undefined;
  }
}
