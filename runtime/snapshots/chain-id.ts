import { assertValidDigest } from "../../lib/names.js";
import { sha256Digest } from "../content/digest.js";

/**
 * Chain ID of a layer on top of `parent` (OCI image-spec config.md):
 * chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
 */
export function childChainId(parent: string | undefined, diffId: string): string {
  assertValidDigest(diffId);
  if (parent === undefined) return diffId;
  assertValidDigest(parent);
  return sha256Digest(`${parent} ${diffId}`);
}

/** Chain IDs of a whole rootfs, base first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(childChainId(out[out.length - 1], d));
  return out;
}
