import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { archiveCompression, isTarHeader } from "./archive-detect.js";

/** A minimal ustar header for a file `name` of `size` bytes, with a correct checksum. */
function tarHeader(name: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, "latin1");
  b.write("0000644\0", 100, "latin1");
  b.write("0000000\0", 108, "latin1");
  b.write("0000000\0", 116, "latin1");
  b.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  b.write("00000000000\0", 136, "latin1");
  b.write("0", 156, "latin1");
  b.write("ustar\u000000", 257, "latin1");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return b;
}

function tarOf(name: string, body: string): Buffer {
  const data = Buffer.alloc(512);
  data.write(body);
  return Buffer.concat([tarHeader(name, body.length), data, Buffer.alloc(1024)]);
}

describe("archiveCompression", () => {
  it.each([
    ["a tar", tarOf("x.txt", "hi"), "none"],
    ["a gzipped tar", zlib.gzipSync(tarOf("x.txt", "hi")), "gzip"],
    ["gzipped text", zlib.gzipSync(Buffer.from("just text, not a tar\n".repeat(40))), undefined],
    ["plain text", Buffer.from("hello\n".repeat(100)), undefined],
    ["an empty file", Buffer.alloc(0), undefined],
    ["a short file", Buffer.from("short"), undefined],
    ["zero blocks", Buffer.alloc(1024), undefined],
    ["bzip2 magic", Buffer.concat([Buffer.from("BZh91AY&SY"), Buffer.alloc(600)]), "bzip2"],
    ["xz magic", Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(600)]), "xz"],
    ["a gzip cut before its first block", zlib.gzipSync(tarOf("x.txt", "hi")).subarray(0, 40), undefined],
  ])("%s", (_name, head, want) => expect(archiveCompression(head)).toBe(want));

  it("refuses a header whose checksum is wrong", () => {
    const h = tarHeader("x", 1);
    expect(isTarHeader(h)).toBe(true);
    h[0] = 0x79;
    expect(isTarHeader(h)).toBe(false);
  });
});
