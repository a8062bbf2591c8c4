/**
 * Bounds on what an image archive may hold. Apart from archive-reader.ts so that the image
 * store can name its defaults without loading the archive code (tar-stream and the rest
 * load on the first load, import or save).
 */
export interface ArchiveLimits {
  maxEntries: number;
  maxBlobBytes: number;
  maxMetadataBytes: number;
}

export function defaultArchiveLimits(): ArchiveLimits {
  return { maxEntries: 100_000, maxBlobBytes: 16 * 1024 ** 3, maxMetadataBytes: 4 * 1024 * 1024 };
}
