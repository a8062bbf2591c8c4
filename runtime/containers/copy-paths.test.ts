import { describe, expect, it } from "vitest";
import {
  archiveBaseName,
  assertsDirectory,
  containerAbsPath,
  parseCpArgs,
  prepareArchiveCopy,
  preserveTrailingDotOrSeparator,
  rebaseAfterLink,
  rebaseEntryName,
  splitPathDirEntry,
  type CopyInfo,
} from "./copy-paths.js";

describe("Docker's path helpers", () => {
  it.each([
    ["/a/b", "/a/b", "/a/b"],
    ["/a/b", "/a/b/", "/a/b/"],
    ["/a/b", "/a/b/.", "/a/b/."],
    ["/a/b", "/a/b/./", "/a/b/./"],
    ["/", "/", "/"],
    ["/", "/.", "/."],
    [".", ".", "."],
    ["a", "a//", "a/"],
  ])("preserveTrailingDotOrSeparator(%j, %j) = %j", (cleaned, original, want) => {
    expect(preserveTrailingDotOrSeparator(cleaned, original)).toBe(want);
  });

  it.each([
    ["/a/b", "/a", "b"],
    ["/a/b/", "/a", "b"],
    ["/a/b/.", "/a/b", "."],
    ["/a/b/./", "/a/b", "."],
    ["/", "/", "/"],
    ["/.", "/", "."],
    ["b", ".", "b"],
  ])("splitPathDirEntry(%j) = %j, %j", (p, dir, base) => {
    expect(splitPathDirEntry(p)).toEqual({ dir, base });
  });

  it.each([
    ["etc/passwd", "/etc/passwd"],
    ["/etc/../etc//passwd", "/etc/passwd"],
    ["etc/", "/etc/"],
    ["etc/.", "/etc/."],
    ["../../etc", "/etc"],
    ["", "/."],
    ["/", "/"],
    ["/.", "/."],
  ])("containerAbsPath(%j) = %j", (p, want) => {
    expect(containerAbsPath(p)).toBe(want);
  });

  it.each([
    ["/etc/passwd", "passwd"],
    ["/etc/", "etc"],
    ["/etc/.", "."],
    ["/", "."],
    ["/.", "."],
  ])("archiveBaseName(%j) = %j", (p, want) => expect(archiveBaseName(p)).toBe(want));

  it.each([
    ["/a/", true],
    ["/a/.", true],
    [".", true],
    ["/a", false],
    ["/a.", false],
  ])("assertsDirectory(%j) = %j", (p, want) => expect(assertsDirectory(p)).toBe(want));

  it.each([
    // -L: a link /l -> /data keeps the user's name and trailing / or /.
    ["/l", "/data", { path: "/data", rebaseName: "l" }],
    ["/l/", "/data", { path: "/data/", rebaseName: "l" }],
    ["/l/.", "/data", { path: "/data/.", rebaseName: undefined }],
    ["/data", "/data", { path: "/data" }],
  ])("rebaseAfterLink(%j, %j)", (original, resolved, want) => {
    const got = rebaseAfterLink(original, resolved);
    expect(got.path).toBe(want.path);
    expect((got as { rebaseName?: string }).rebaseName).toBe((want as { rebaseName?: string }).rebaseName);
  });
});

describe("prepareArchiveCopy: docker cp's table", () => {
  const file = (p: string, rebaseName?: string): CopyInfo => ({ path: p, exists: true, isDir: false, ...(rebaseName ? { rebaseName } : {}) });
  const dir = (p: string): CopyInfo => ({ path: p, exists: true, isDir: true });
  const absent = (p: string): CopyInfo => ({ path: p, exists: false, isDir: false });
  const existingFile = (p: string): CopyInfo => ({ path: p, exists: true, isDir: false });

  it.each([
    // SRC is a file
    ["file, DEST absent: saved to a file created at DEST", file("/src/a.txt"), absent("/dst/b.txt"), { dstDir: "/dst", rebase: { from: "a.txt", to: "b.txt" } }],
    ["file, DEST absent with the same name: no rename", file("/src/a.txt"), absent("/dst/a.txt"), { dstDir: "/dst" }],
    ["file, DEST exists as a file: overwritten", file("/src/a.txt"), existingFile("/dst/b.txt"), { dstDir: "/dst", rebase: { from: "a.txt", to: "b.txt" } }],
    ["file, DEST is a directory: copied into it by its base name", file("/src/a.txt"), dir("/dst"), { dstDir: "/dst" }],
    ["file, DEST is a directory named with a trailing /", file("/src/a.txt"), dir("/dst/"), { dstDir: "/dst/" }],
    ["file reached through -L keeps the link's name", file("/data/real.txt", "link.txt"), absent("/dst/x"), { dstDir: "/dst", rebase: { from: "link.txt", to: "x" } }],
    // SRC is a directory
    ["dir, DEST absent: DEST made with the source's contents", dir("/src/d"), absent("/dst/e"), { dstDir: "/dst", rebase: { from: "d", to: "e" } }],
    ["dir/., DEST absent: DEST made with the source's contents", dir("/src/d/."), absent("/dst/e"), { dstDir: "/dst", rebase: { from: ".", to: "e" } }],
    ["dir/, DEST absent: like dir", dir("/src/d/"), absent("/dst/e"), { dstDir: "/dst", rebase: { from: "d", to: "e" } }],
    ["dir, DEST absent with a trailing /: made", dir("/src/d"), absent("/dst/e/"), { dstDir: "/dst", rebase: { from: "d", to: "e" } }],
    ["dir, DEST is a directory: copied into it", dir("/src/d"), dir("/dst"), { dstDir: "/dst" }],
    ["dir/., DEST is a directory: its contents copied into it", dir("/src/d/."), dir("/dst"), { dstDir: "/dst" }],
    ["the root, DEST absent: DEST made with the root's contents", dir("/"), absent("/dst/root"), { dstDir: "/dst", rebase: { from: ".", to: "root" } }],
  ])("%s", (_name, src, dst, want) => {
    expect(prepareArchiveCopy(src, dst)).toEqual(want);
  });

  it.each([
    ["dir onto an existing file", dir("/src/d"), existingFile("/dst/f"), "InvalidArgument", "copy to /dst/f: cannot copy a directory to a file"],
    ["dir/. onto an existing file", dir("/src/d/."), existingFile("/dst/f"), "InvalidArgument", "copy to /dst/f: cannot copy a directory to a file"],
    ["file to an absent DEST/ (must be a directory)", file("/src/a"), absent("/dst/new/"), "NotFound", "copy to /dst/new/: the destination directory must exist"],
    ["file to an absent DEST/.", file("/src/a"), absent("/dst/new/."), "NotFound", "copy to /dst/new/.: the destination directory must exist"],
  ])("%s is an error", (_name, src, dst, kind, message) => {
    expect(() => prepareArchiveCopy(src, dst)).toThrow(expect.objectContaining({ kind, message }));
  });
});

describe("rebaseEntryName", () => {
  it.each([
    ["a.txt", "a.txt", "b.txt", "b.txt"],
    ["d/", "d", "e", "e/"],
    ["d/x/y", "d", "e", "e/x/y"],
    ["dd/x", "d", "e", "dd/x"],
    [".", ".", "e", "e"],
    ["./", ".", "e", "e/"],
    ["./x", ".", "e", "e/x"],
    ["x/y", ".", "e", "e/x/y"],
  ])("%j with %j -> %j is %j", (name, from, to, want) => expect(rebaseEntryName(name, from, to)).toBe(want));
});

describe("parseCpArgs (docker's splitCpArg)", () => {
  it.each([
    ["web:/etc/passwd", ".", { direction: "from", container: "web", src: "/etc/passwd", dst: "." }],
    ["web:etc", "-", { direction: "from", container: "web", src: "etc", dst: "-" }],
    ["./a:b", "web:/tmp", { direction: "to", container: "web", src: "./a:b", dst: "/tmp" }],
    ["/abs/a:b", "web:/tmp/", { direction: "to", container: "web", src: "/abs/a:b", dst: "/tmp/" }],
    ["-", "web:/tmp", { direction: "to", container: "web", src: "-", dst: "/tmp" }],
  ])("%j %j", (src, dst, want) => expect(parseCpArgs(src, dst)).toEqual(want));

  it.each([
    ["a:/x", "b:/y", "copy: copying between containers is not supported"],
    ["a", "b", "copy: one of the paths must name a container as NAME:PATH"],
    ["web:", ".", "copy from web: the container path is empty"],
    [":x", ".", 'copy: ":x" names no container before its ":"'],
  ])("%j %j is refused", (src, dst, message) => {
    expect(() => parseCpArgs(src, dst)).toThrow(expect.objectContaining({ kind: "InvalidArgument", message }));
  });
});
