/** Media types berth reads and writes (OCI image-spec v1.1 and Docker image manifest v2.2). */
export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociLayerNondistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestV1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerManifestV1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerForeignGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export function isIndexType(t: string | undefined): boolean {
  return t === MediaType.ociIndex || t === MediaType.dockerManifestList;
}

export function isManifestType(t: string | undefined): boolean {
  return t === MediaType.ociManifest || t === MediaType.dockerManifest;
}

export function isSchema1Type(t: string | undefined): boolean {
  return t === MediaType.dockerManifestV1 || t === MediaType.dockerManifestV1Signed;
}

export function isConfigType(t: string | undefined): boolean {
  return t === MediaType.ociConfig || t === MediaType.dockerConfig;
}

const LAYER_TYPES = new Set<string>([
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  MediaType.ociLayerNondistributable,
  MediaType.ociLayerNondistributableGzip,
  MediaType.ociLayerNondistributableZstd,
  MediaType.dockerLayer,
  MediaType.dockerLayerGzip,
  MediaType.dockerLayerForeignGzip,
]);

export function isLayerType(t: string | undefined): boolean {
  return t !== undefined && LAYER_TYPES.has(t);
}
