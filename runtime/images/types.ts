import type { ImageRecord } from "../types.js";

/**
 * What `<root>/images/<manifest-hex>.json` holds: an ImageRecord without its references (the
 * reference index `<root>/images/refs.json` is their single source of truth), plus the
 * manifest's media type so `save` can describe it.
 */
export interface StoredImage extends Omit<ImageRecord, "references"> {
  manifestMediaType: string;
  variant?: string;
  addedAt: string;
}

/** An image resolved from an archive or an import, before it is committed to the store. */
export interface ImageCandidate {
  image: StoredImage;
  /** Normalized tagged references to point at it. */
  references: string[];
}
