import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildDockerSaveArchive, buildOciLayoutTar, tarBuffer } from "../../../test/helpers/image-fixtures.js";
import { detectArchiveFormat, toImageConfig } from "./image-source.js";

describe("detectArchiveFormat", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "berth-detect-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, data: Buffer) => {
    const f = path.join(dir, name);
    writeFileSync(f, data);
    return f;
  };

  it("tells docker save archives (both layouts), OCI layouts and rootfs tarballs apart", async () => {
    const layer = await tarBuffer([{ name: "hello.txt", data: "hi" }]);
    expect(await detectArchiveFormat(write("legacy.tar", await buildDockerSaveArchive([{ layers: [layer] }], "legacy")))).toBe("docker-archive");
    expect(await detectArchiveFormat(write("modern.tar", await buildDockerSaveArchive([{ layers: [layer] }], "modern")))).toBe("docker-archive");
    expect(await detectArchiveFormat(write("oci.tar", await buildOciLayoutTar({ layers: [layer] })))).toBe("oci-archive");
    expect(await detectArchiveFormat(write("rootfs.tar", layer))).toBe("rootfs");
    expect(await detectArchiveFormat(write("rootfs.tgz", gzipSync(layer)))).toBe("rootfs");
    expect(await detectArchiveFormat(write("save.tar.gz", gzipSync(await buildDockerSaveArchive([{ layers: [layer] }], "legacy"))))).toBe("docker-archive");
    mkdirSync(path.join(dir, "layout"));
    expect(await detectArchiveFormat(path.join(dir, "layout"))).toBe("oci-dir");
  });

  it("rejects what is not a tar", async () => {
    await expect(detectArchiveFormat(write("junk.tar", Buffer.from("not a tar archive at all".repeat(40))))).rejects.toThrow();
  });
});

describe("toImageConfig", () => {
  it("maps import.config to the image config", () => {
    expect(toImageConfig({ cmd: ["sh"], entrypoint: ["/init"], env: { A: "1" }, workingDir: "/w", user: "app", labels: { l: "v" }, stopSignal: "SIGINT", exposedPorts: ["80", "53/udp"] })).toEqual({
      Cmd: ["sh"],
      Entrypoint: ["/init"],
      Env: ["A=1"],
      WorkingDir: "/w",
      User: "app",
      Labels: { l: "v" },
      StopSignal: "SIGINT",
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
    });
  });
});
