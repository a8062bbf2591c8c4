import { describe, expect, it } from "vitest";
import { manifestKind, parseImageConfig, parseIndex, parseManifest, parseRuntimeConfig } from "./image-json.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.docker.distribution.manifest.v2+json",
  config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: D("a"), size: 10 },
  layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: D("b"), size: 20 }],
};

describe("image JSON", () => {
  it("reads Docker schema 2 and OCI manifests", () => {
    expect(manifestKind(manifest, undefined, "m")).toBe("manifest");
    const m = parseManifest(manifest, "m");
    expect(m.layers[0]!.digest).toBe(D("b"));
    const { mediaType: _, ...noType } = manifest;
    expect(manifestKind({ ...noType }, undefined, "m")).toBe("manifest");
    expect(manifestKind({ schemaVersion: 2, manifests: [] }, undefined, "i")).toBe("index");
    expect(manifestKind({ schemaVersion: 2, manifests: [] }, "application/vnd.docker.distribution.manifest.list.v2+json", "i")).toBe("index");
  });

  it.each([
    [{ ...manifest, schemaVersion: 3 }, /schemaVersion/],
    [{ ...manifest, config: { ...manifest.config, mediaType: "application/vnd.in-toto+json" } }, /not a container image config/],
    [{ ...manifest, layers: [{ mediaType: "text/plain", digest: D("b"), size: 1 }] }, /unsupported media type/],
    [{ ...manifest, layers: [{ ...manifest.layers[0], digest: "sha256:../../x" }] }, /invalid digest/],
    [{ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] }, /non-negative/],
    [{ ...manifest, layers: "x" }, /array/],
  ])("rejects bad manifests %#", (doc, err) => expect(() => parseManifest(doc, "m")).toThrow(err));

  it("refuses other digest algorithms with NotImplemented", () => {
    expect(() => parseManifest({ ...manifest, config: { ...manifest.config, digest: `sha512:${"a".repeat(128)}` } }, "m")).toThrow(
      expect.objectContaining({ kind: "NotImplemented" }),
    );
  });

  it("reads index platforms", () => {
    const idx = parseIndex(
      { schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: D("c"), size: 1, platform: { os: "linux", architecture: "arm64", variant: "v8" } }] },
      "i",
    );
    expect(idx.manifests[0]!.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
  });

  it("reads configs strictly", () => {
    const cfg = parseImageConfig(
      {
        os: "linux",
        architecture: "amd64",
        config: { Cmd: ["sh"], Entrypoint: null, Env: ["A=1"], Labels: { a: "b" }, ExposedPorts: { "80/tcp": {} }, User: "" },
        rootfs: { type: "layers", diff_ids: [D("d")] },
      },
      "c",
    );
    expect(cfg.config).toEqual({ Cmd: ["sh"], Entrypoint: null, Env: ["A=1"], Labels: { a: "b" }, ExposedPorts: { "80/tcp": {} } });
    expect(() => parseImageConfig({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: ["x"] } }, "c")).toThrow(/diff_ids\[0\]/);
    expect(() => parseImageConfig({ os: "linux", architecture: "amd64" }, "c")).toThrow(/rootfs/);
    expect(() => parseRuntimeConfig({ Cmd: "sh" }, "c")).toThrow(/Cmd must be an array/);
    expect(() => parseRuntimeConfig({ Env: [1] }, "c")).toThrow(/Env must be an array/);
  });

  it("refuses schema 1", () => {
    expect(() => manifestKind({ schemaVersion: 1 }, undefined, "m")).toThrow(expect.objectContaining({ kind: "NotImplemented" }));
  });
});
