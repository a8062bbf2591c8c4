import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { detectCompression } from "./decompress.js";

describe("detectCompression", () => {
  it("reads magic bytes", () => {
    expect(detectCompression(gzipSync("x"))).toBe("gzip");
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe("zstd");
    expect(detectCompression(Buffer.from("BZh91AY"))).toBe("bzip2");
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe("xz");
    expect(detectCompression(Buffer.from("etc/passwd\0\0\0"))).toBe("none");
    expect(detectCompression(Buffer.alloc(0))).toBe("none");
  });
});
