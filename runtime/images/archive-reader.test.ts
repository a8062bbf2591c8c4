import { describe, expect, it } from "vitest";
import { archiveEntryName, resolveArchiveFile, type ArchiveTable } from "./archive-reader.js";

describe("archiveEntryName", () => {
  it.each([
    ["manifest.json", "manifest.json"],
    ["./blobs/sha256/ab", "blobs/sha256/ab"],
    ["a//b/./c/", "a/b/c"],
  ])("%j → %j", (raw, want) => expect(archiveEntryName(raw)).toBe(want));

  it.each([
    ["/etc/passwd", /absolute/],
    ["../x", /".."/],
    ["a/../../x", /".."/],
    ["a\0b", /NUL/],
    ["x".repeat(1025), /longer than 1024/],
    [Array.from({ length: 20 }, () => "d").join("/"), /deeper/],
  ])("rejects %j", (raw, err) => expect(() => archiveEntryName(raw)).toThrow(err));
});

describe("resolveArchiveFile", () => {
  const f = { digest: `sha256:${"a".repeat(64)}`, size: 1 };
  const table: ArchiveTable = {
    files: new Map([["a/layer.tar", f]]),
    aliases: new Map([
      ["b/layer.tar", { kind: "symlink", target: "../a/layer.tar" }],
      ["c/layer.tar", { kind: "symlink", target: "../b/layer.tar" }],
      ["h/layer.tar", { kind: "hardlink", target: "a/layer.tar" }],
      ["up/layer.tar", { kind: "symlink", target: "../../a/layer.tar" }],
      ["abs/layer.tar", { kind: "symlink", target: "/a/layer.tar" }],
      ["loop1", { kind: "symlink", target: "loop2" }],
      ["loop2", { kind: "symlink", target: "loop1" }],
    ]),
    metadata: new Map(),
    ingested: new Set(),
  };

  it("follows aliases inside the archive", () => {
    expect(resolveArchiveFile(table, "a/layer.tar")).toBe(f);
    expect(resolveArchiveFile(table, "b/layer.tar")).toBe(f);
    expect(resolveArchiveFile(table, "c/layer.tar")).toBe(f);
    expect(resolveArchiveFile(table, "h/layer.tar")).toBe(f);
  });

  it("never leaves the archive root and stops on loops", () => {
    expect(resolveArchiveFile(table, "up/layer.tar")).toBeUndefined();
    expect(resolveArchiveFile(table, "abs/layer.tar")).toBeUndefined();
    expect(resolveArchiveFile(table, "loop1")).toBeUndefined();
    expect(() => resolveArchiveFile(table, "../a/layer.tar")).toThrow(/".."/);
  });
});
