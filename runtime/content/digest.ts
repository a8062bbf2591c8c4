import { createHash } from "node:crypto";
import { assertValidDigest } from "../../lib/names.js";

/** `sha256:<hex>` of in-memory data. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The hex part of a digest, after strict validation: safe to use as a path segment. */
export function digestHex(digest: string): string {
  assertValidDigest(digest);
  return digest.slice("sha256:".length);
}
