import { Readable } from "node:stream";
import { existsSync, lstatSync, mkdirSync, promises as fs, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rawTarHeader, tarBuffer, type FixtureEntry } from "../../test/helpers/image-fixtures.js";
import { openSourceRoot, type SourceRoot } from "../build/context/walk.js";
import { extractTar, goFileMode, isGoDir, isGoSymlink, packTree, pathStatOf } from "./copy-archive.js";

let base: string;
let dest: string;
let outside: string;

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cp-"));
  dest = path.join(base, "dest");
  outside = path.join(base, "outside");
  mkdirSync(dest);
  mkdirSync(outside);
  writeFileSync(path.join(outside, "victim"), "untouched\n");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

async function extract(entries: FixtureEntry[], opts: { rename?: (n: string) => string } = {}): Promise<number> {
  const buf = await tarBuffer(entries);
  const dir = await fs.open(dest, "r");
  try {
    return await extractTar(dir.fd, Readable.from([buf]), { owner: "none", what: "copy to test", maxEntries: 100, ...opts });
  } finally {
    await dir.close();
  }
}

const outsideUntouched = () => {
  expect(readFileSync(path.join(outside, "victim"), "utf8")).toBe("untouched\n");
  expect(existsSync(path.join(outside, "x"))).toBe(false);
};

describe("extractTar: hostile entries never reach outside the destination", () => {
  it("writes files, directories, symlinks and hard links with their modes and times; '.' leaves the destination as it is", async () => {
    const n = await extract([
      { name: ".", type: "directory", mode: 0o700 },
      { name: "d/", type: "directory", mode: 0o750 },
      { name: "d/f", data: "f\n", mode: 0o4755 },
      { name: "d/l", type: "symlink", linkname: "/etc/passwd" },
      { name: "d/h", type: "link", linkname: "d/f" },
    ]);
    expect(n).toBe(5);
    expect(statSync(dest).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dest, "d")).mode & 0o7777).toBe(0o750);
    expect(statSync(path.join(dest, "d", "f")).mode & 0o7777).toBe(0o4755);
    expect(readlinkSync(path.join(dest, "d", "l"))).toBe("/etc/passwd");
    expect(statSync(path.join(dest, "d", "h")).ino).toBe(statSync(path.join(dest, "d", "f")).ino);
    expect(statSync(path.join(dest, "d")).mtime.toISOString()).toBe("2024-01-02T03:04:05.000Z");
  });

  it.each([
    ["a .. component", [{ name: "../outside/x", data: "x" }], 'check entry "../outside/x": ".." components are not allowed'],
    ["an absolute name", [{ name: "/etc/x", data: "x" }], 'copy to test: entry "/etc/x" has an absolute name'],
    [
      "a symlink planted by the archive, then written through",
      [
        { name: "l", type: "symlink" as const, linkname: "PLACEHOLDER" },
        { name: "l/x", data: "x" },
      ],
      'copy to test: parent "l" of "l/x" is a symlink, which berth does not follow',
    ],
    [
      "a hard link to a file outside",
      [{ name: "h", type: "link" as const, linkname: "../outside/victim" }],
      'check hardlink target "../outside/victim": ".." components are not allowed',
    ],
    ["a hard link to a name that is not there", [{ name: "h", type: "link" as const, linkname: "nope" }], 'copy to test: hardlink "h" targets "nope", which is not in the archive'],
    ["a Unicode twin of ..", [{ name: "\uff0e\uff0e/x", data: "x" }], "is a Unicode twin"],
  ])("refuses %s", async (_what, entries, message) => {
    const fixed = entries.map((e) => (e.linkname === "PLACEHOLDER" ? { ...e, linkname: outside } : e));
    await expect(extract(fixed)).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining(message) });
    outsideUntouched();
  });

  it("never follows a symlink already in the destination: as a parent it is refused, as a name it is replaced", async () => {
    symlinkSync(outside, path.join(dest, "link"));
    await expect(extract([{ name: "link/x", data: "x" }])).rejects.toMatchObject({ kind: "InvalidArgument" });
    symlinkSync(path.join(outside, "victim"), path.join(dest, "file"));
    await extract([{ name: "file", data: "replaced\n" }]);
    expect(lstatSync(path.join(dest, "file")).isFile()).toBe(true);
    expect(readFileSync(path.join(dest, "file"), "utf8")).toBe("replaced\n");
    outsideUntouched();
  });

  it("never replaces a directory with a non-directory or the reverse (docker cp's NoOverwriteDirNonDir); replaces a file", async () => {
    mkdirSync(path.join(dest, "dir"));
    writeFileSync(path.join(dest, "file"), "old\n");
    await expect(extract([{ name: "dir", data: "x" }])).rejects.toMatchObject({ kind: "InvalidArgument", message: 'copy to test: cannot overwrite directory "dir" with a non-directory' });
    await expect(extract([{ name: "file", type: "directory" }])).rejects.toMatchObject({ kind: "InvalidArgument", message: 'copy to test: cannot overwrite non-directory "file" with a directory' });
    await extract([{ name: "file", data: "new\n" }]);
    expect(readFileSync(path.join(dest, "file"), "utf8")).toBe("new\n");
  });

  it("renames entries before checking them (the rebase of the top entry), hard link targets too", async () => {
    await extract(
      [
        { name: "src/", type: "directory" },
        { name: "src/a", data: "a" },
        { name: "src/b", type: "link", linkname: "src/a" },
      ],
      { rename: (n) => n.replace(/^src/, "dst") },
    );
    expect(readFileSync(path.join(dest, "dst", "b"), "utf8")).toBe("a");
  });

  it("a directory entry with a size (a hostile tar) does not stall the copy: its size is no body, the next entry follows", async () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeUInt16BE(600, 10);
    const buf = Buffer.concat([rawTarHeader({ name: "d/", type: "5", sizeField: size }), await tarBuffer([{ name: "d/f", data: "after" }])]);
    const dir = await fs.open(dest, "r");
    try {
      const n = await Promise.race([
        extractTar(dir.fd, Readable.from([buf]), { owner: "none", what: "copy to test", maxEntries: 10 }),
        new Promise<string>((r) => setTimeout(() => r("stalled"), 3000)),
      ]);
      expect(n).toBe(2);
    } finally {
      await dir.close();
    }
    expect(readFileSync(path.join(dest, "d/f"), "utf8")).toBe("after");
  });

  it("refuses a stream that is not a tar", async () => {
    const dir = await fs.open(dest, "r");
    try {
      await expect(extractTar(dir.fd, Readable.from([Buffer.alloc(1024, 7)]), { owner: "none", what: "copy to test", maxEntries: 10 })).rejects.toMatchObject({ kind: "InvalidArgument" });
    } finally {
      await dir.close();
    }
  });
});

describe("a container tree read through SourceRoot (rootfs scope) and packTree", () => {
  let rootfs: string;
  let root: SourceRoot;
  beforeEach(async () => {
    rootfs = path.join(base, "rootfs");
    mkdirSync(path.join(rootfs, "etc"), { recursive: true });
    mkdirSync(path.join(rootfs, "a", "b"), { recursive: true });
    writeFileSync(path.join(rootfs, "etc", "passwd"), "container\n");
    symlinkSync("/etc", path.join(rootfs, "link"));
    symlinkSync("../../../../../../etc", path.join(rootfs, "a", "b", "rel"));
    symlinkSync(outside, path.join(rootfs, "hostdir"));
    symlinkSync("loop2", path.join(rootfs, "loop1"));
    symlinkSync("loop1", path.join(rootfs, "loop2"));
    root = await openSourceRoot(rootfs, { scope: "rootfs", label: "container test" });
  });
  afterEach(() => root.close());

  it.each([
    ["/link/passwd", "etc/passwd"],
    ["/a/b/rel/passwd", "etc/passwd"],
    ["link/../etc/passwd", "etc/passwd"],
    ["/../../etc/passwd", "etc/passwd"],
  ])("%s resolves inside the root to %s", async (p, real) => {
    const e = await root.resolve(p);
    expect(e.realPath).toBe(real);
    expect((await root.readFile(e, 100)).toString()).toBe("container\n");
  });

  it("a link to a host path is re-rooted: the host's directory is never reached", async () => {
    await expect(root.resolve("/hostdir/victim")).rejects.toMatchObject({ kind: "NotFound" });
    const link = await root.resolve("/hostdir", { followFinal: false });
    expect(link).toMatchObject({ type: "symlink", linkTarget: outside });
    expect(isGoSymlink(pathStatOf(link, "hostdir").mode)).toBe(true);
  });

  it("a symlink loop is refused after 40 links", async () => {
    await expect(root.resolve("/loop1/x")).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("too many levels of symbolic links") });
  });

  it("a directory swapped for a symlink to a host directory after it was resolved fails the read instead of following it", async () => {
    const e = await root.resolve("/etc/passwd");
    renameSync(path.join(rootfs, "etc"), path.join(rootfs, "etc.real"));
    symlinkSync(outside, path.join(rootfs, "etc"));
    writeFileSync(path.join(outside, "passwd"), "HOST\n");
    await expect(root.openFile(e)).rejects.toMatchObject({ kind: "FailedPrecondition" });
  });

  it("packTree names the top entry and keeps links as links; Go file modes for the stat", async () => {
    const pack = tar.pack();
    const entry = await root.resolve("/");
    const packing = packTree(root, entry, ".", pack, { walk: { skipSpecial: true } }).then(() => pack.finalize());
    const names: string[] = [];
    const ex = tar.extract();
    const feed = (async () => {
      for await (const c of pack as AsyncIterable<Buffer>) ex.write(c);
      (ex as unknown as { end(): void }).end();
    })();
    for await (const e of ex) {
      names.push(`${e.header.type} ${e.header.name}${e.header.linkname ? ` -> ${e.header.linkname}` : ""}`);
      e.resume();
    }
    await Promise.all([packing, feed]);
    expect(names).toEqual([
      "directory .",
      "directory ./a",
      "directory ./a/b",
      "symlink ./a/b/rel -> ../../../../../../etc",
      "directory ./etc",
      "file ./etc/passwd",
      `symlink ./hostdir -> ${outside}`,
      "symlink ./link -> /etc",
      "symlink ./loop1 -> loop2",
      "symlink ./loop2 -> loop1",
    ]);
    expect(goFileMode({ type: "dir", mode: 0o755 })).toBe(2 ** 31 + 0o755);
    expect(isGoDir(goFileMode({ type: "dir", mode: 0o1777 }))).toBe(true);
    expect(goFileMode({ type: "file", mode: 0o4755 })).toBe(2 ** 23 + 0o755);
  });
});
