import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isBerthError } from "../../../lib/errors.js";
import { parseDockerignore } from "./dockerignore.js";
import { openSourceRoot, readDockerfile, type SourceRoot } from "./walk.js";

let base: string;
let ctx: string;
let outside: string;
let root: SourceRoot | undefined;

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-walk-"));
  ctx = path.join(base, "ctx");
  outside = path.join(base, "outside");
  await fs.mkdir(ctx);
  await fs.mkdir(outside);
  await fs.writeFile(path.join(outside, "secret"), "host secret");
  await fs.mkdir(path.join(ctx, "sub/deep"), { recursive: true });
  await fs.writeFile(path.join(ctx, "a.txt"), "A");
  await fs.writeFile(path.join(ctx, "sub/b.txt"), "BB");
  await fs.writeFile(path.join(ctx, "sub/deep/c.txt"), "CCC");
  await fs.chmod(path.join(ctx, "sub/b.txt"), 0o4751);
});

afterEach(async () => {
  await root?.close();
  root = undefined;
  await fs.rm(base, { recursive: true, force: true });
});

async function open(scope: "context" | "rootfs" = "context"): Promise<SourceRoot> {
  root = await openSourceRoot(ctx, { scope });
  return root;
}

async function rejection(p: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isBerthError(err)) return { kind: err.kind, message: err.message };
    throw err;
  }
  throw new Error("expected a rejection");
}

describe("resolve in the context scope", () => {
  it("names files and directories with their real path and metadata", async () => {
    const r = await open();
    const b = await r.resolve("./sub//b.txt");
    expect(b).toMatchObject({ path: "b.txt", realPath: "sub/b.txt", type: "file", mode: 0o4751, size: 2 });
    expect(await r.resolve("sub/deep/..")).toMatchObject({ path: "sub", realPath: "sub", type: "dir" });
    expect(await r.resolve(".")).toMatchObject({ path: "", realPath: "", type: "dir" });
  });

  it.each([
    ["../x", "COPY ../x: the path leaves the build context"],
    ["..", "COPY ..: the path leaves the build context"],
    ["sub/../../outside/secret", "COPY sub/../../outside/secret: the path leaves the build context"],
    ["/etc/passwd", "COPY /etc/passwd: the path leaves the build context (an absolute source path is not allowed)"],
  ])("refuses %j", async (p, message) => {
    const r = await open();
    expect(await rejection(r.resolve(p, { what: `COPY ${p}` }))).toEqual({ kind: "InvalidArgument", message });
  });

  it("refuses symlinks that lead out: absolute, relative above the root, and through a chain", async () => {
    await fs.symlink(path.join(outside, "secret"), path.join(ctx, "abs"));
    await fs.symlink("../outside/secret", path.join(ctx, "rel"));
    await fs.symlink("../../outside", path.join(ctx, "sub/up"));
    await fs.symlink("sub/up/secret", path.join(ctx, "chain"));
    await fs.symlink("/etc", path.join(ctx, "etc"));
    const r = await open();
    expect(await rejection(r.resolve("abs", { what: "COPY abs" }))).toEqual({
      kind: "InvalidArgument",
      message: `COPY abs: the symlink abs points to ${path.join(outside, "secret")}, which leaves the build context (only links that stay inside it are followed)`,
    });
    expect((await rejection(r.resolve("rel", { what: "COPY rel" }))).message).toMatch(/^COPY rel: the symlink rel points to \.\.\/outside\/secret, which leaves/);
    expect((await rejection(r.resolve("chain", { what: "COPY chain" }))).message).toMatch(/^COPY chain: the symlink sub\/up points to \.\.\/\.\.\/outside, which leaves/);
    expect((await rejection(r.resolve("etc/passwd", { what: "COPY etc/passwd" }))).message).toMatch(/the symlink etc points to \/etc,/);
  });

  it("follows symlinks that stay inside, keeping the name the user wrote", async () => {
    await fs.symlink("sub/b.txt", path.join(ctx, "lnk"));
    await fs.symlink("deep", path.join(ctx, "sub/dl"));
    await fs.symlink("sub/dl", path.join(ctx, "dir-link"));
    await fs.symlink("../a.txt", path.join(ctx, "sub/up-a"));
    const r = await open();
    expect(await r.resolve("lnk")).toMatchObject({ path: "lnk", realPath: "sub/b.txt", type: "file", size: 2 });
    expect(await r.resolve("dir-link")).toMatchObject({ path: "dir-link", realPath: "sub/deep", type: "dir" });
    expect(await r.resolve("dir-link/c.txt")).toMatchObject({ path: "c.txt", realPath: "sub/deep/c.txt" });
    expect(await r.resolve("sub/up-a")).toMatchObject({ realPath: "a.txt" });
    expect(await r.resolve("lnk", { followFinal: false })).toMatchObject({ type: "symlink", linkTarget: "sub/b.txt", realPath: "lnk" });
  });

  it("reports symlink loops and missing paths", async () => {
    await fs.symlink("loop2", path.join(ctx, "loop1"));
    await fs.symlink("loop1", path.join(ctx, "loop2"));
    await fs.symlink("nowhere", path.join(ctx, "dangling"));
    const r = await open();
    expect(await rejection(r.resolve("loop1", { what: "COPY loop1" }))).toEqual({ kind: "InvalidArgument", message: "COPY loop1: too many levels of symbolic links" });
    expect(await rejection(r.resolve("missing", { what: "COPY missing" }))).toEqual({
      kind: "NotFound",
      message: "COPY missing: not found in the build context or excluded by .dockerignore",
    });
    expect((await rejection(r.resolve("a.txt/x"))).kind).toBe("NotFound");
    expect((await rejection(r.resolve("dangling"))).kind).toBe("NotFound");
  });

  it("treats ignored paths as absent, except directories holding excepted files", async () => {
    const ignore = parseDockerignore("sub\n!sub/deep/c.txt\nlnk\n");
    await fs.symlink("a.txt", path.join(ctx, "lnk"));
    const r = await open();
    expect((await rejection(r.resolve("sub/b.txt", { ignore }))).kind).toBe("NotFound");
    expect((await rejection(r.resolve("lnk", { ignore }))).kind).toBe("NotFound");
    expect(await r.resolve("sub", { ignore })).toMatchObject({ type: "dir" });
    expect(await r.resolve("sub/deep/c.txt", { ignore })).toMatchObject({ type: "file" });
    const none = parseDockerignore("sub\n");
    expect((await rejection(r.resolve("sub", { ignore: none }))).kind).toBe("NotFound");
  });

  it("keeps reading the opened root when its path is renamed", async () => {
    const r = await open();
    await fs.rename(ctx, path.join(base, "moved"));
    await fs.mkdir(ctx);
    const a = await r.resolve("a.txt");
    expect((await r.readFile(a, 10)).toString()).toBe("A");
  });
});

describe("resolve in the rootfs scope (COPY --from)", () => {
  it("reads absolute paths and absolute links inside the root, and clamps .. at the root", async () => {
    await fs.mkdir(path.join(ctx, "bin"));
    await fs.writeFile(path.join(ctx, "bin/tool"), "tool");
    await fs.mkdir(path.join(ctx, "usr"));
    await fs.symlink("/bin", path.join(ctx, "usr/bin"));
    await fs.symlink("../../../../bin/tool", path.join(ctx, "usr/rel-tool"));
    const r = await open("rootfs");
    expect(await r.resolve("/usr/bin/tool")).toMatchObject({ realPath: "bin/tool", path: "tool" });
    expect(await r.resolve("usr/rel-tool")).toMatchObject({ realPath: "bin/tool" });
    expect(await r.resolve("../../bin/tool")).toMatchObject({ realPath: "bin/tool" });
  });
});

describe("walk", () => {
  it("returns every descendant sorted, symlinks as symlinks (never followed)", async () => {
    await fs.symlink(path.join(outside, "secret"), path.join(ctx, "sub/out-link"));
    await fs.symlink(outside, path.join(ctx, "sub/out-dir"));
    const r = await open();
    const sub = await r.resolve("sub");
    const entries = await r.walk(sub);
    expect(entries.map((e) => [e.path, e.type, e.linkTarget])).toEqual([
      ["b.txt", "file", undefined],
      ["deep", "dir", undefined],
      ["deep/c.txt", "file", undefined],
      ["out-dir", "symlink", outside],
      ["out-link", "symlink", path.join(outside, "secret")],
    ]);
    expect(entries[2]!.realPath).toBe("sub/deep/c.txt");
  });

  it("applies .dockerignore: ignored files go, an ignored directory stays only as the parent of exceptions", async () => {
    await fs.mkdir(path.join(ctx, "logs"));
    await fs.writeFile(path.join(ctx, "logs/x.log"), "x");
    await fs.writeFile(path.join(ctx, "Dockerfile"), "FROM scratch\n");
    const r = await open();
    const ignore = parseDockerignore("logs\nsub\n!sub/deep/c.txt\nDockerfile\n");
    const entries = await r.walk(r.rootEntry(), { ignore });
    expect(entries.map((e) => e.path)).toEqual(["a.txt", "sub", "sub/deep", "sub/deep/c.txt"]);
    // The Dockerfile is still read for the build.
    expect((await readDockerfile(r)).toString()).toBe("FROM scratch\n");
  });

  it("skips sockets and refuses FIFOs", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(ctx, "sub/sock"), resolve));
    try {
      const r = await open();
      expect((await r.walk(await r.resolve("sub"))).map((e) => e.path)).not.toContain("sock");
      execFileSync("mkfifo", [path.join(ctx, "sub/fifo")]);
      expect(await rejection(r.walk(await r.resolve("sub"), { what: "COPY sub" }))).toEqual({
        kind: "NotImplemented",
        message: "COPY sub: sub/fifo is a FIFO, which berth cannot copy into an image",
      });
      expect((await r.list(await r.resolve("sub"))).map((e) => e.path)).toEqual(["b.txt", "deep"]);
    } finally {
      server.close();
    }
  });
});

describe("openFile re-checks what it opens", () => {
  it("refuses a file swapped for a symlink to a host file between resolve and open", async () => {
    const r = await open();
    const a = await r.resolve("a.txt");
    await fs.rm(path.join(ctx, "a.txt"));
    await fs.symlink(path.join(outside, "secret"), path.join(ctx, "a.txt"));
    expect(await rejection(r.openFile(a, "COPY a.txt"))).toEqual({
      kind: "FailedPrecondition",
      message: "COPY a.txt: it changed while the build was reading it",
    });
  });

  it("refuses a parent directory swapped for a symlink out of the context", async () => {
    const r = await open();
    const c = await r.resolve("sub/deep/c.txt");
    await fs.rename(path.join(ctx, "sub"), path.join(base, "old-sub"));
    await fs.mkdir(path.join(outside, "deep"));
    await fs.writeFile(path.join(outside, "deep/c.txt"), "host");
    await fs.symlink(outside, path.join(ctx, "sub"));
    expect((await rejection(r.openFile(c))).kind).toBe("FailedPrecondition");
    expect((await rejection(r.walk(await r.resolve("sub/deep").catch(() => c)))).kind).toBe("FailedPrecondition");
  });

  it("refuses a file replaced by another file", async () => {
    const r = await open();
    const a = await r.resolve("a.txt");
    await fs.writeFile(path.join(ctx, "a.new"), "other");
    await fs.rename(path.join(ctx, "a.new"), path.join(ctx, "a.txt"));
    expect((await rejection(r.readFile(a, 100))).kind).toBe("FailedPrecondition");
  });

  it("refuses a directory swapped for a symlink before it is walked", async () => {
    const r = await open();
    const deep = await r.resolve("sub/deep");
    await fs.rename(path.join(ctx, "sub/deep"), path.join(base, "old-deep"));
    await fs.symlink(outside, path.join(ctx, "sub/deep"));
    expect(await rejection(r.walk(deep, { what: "COPY sub/deep" }))).toEqual({
      kind: "FailedPrecondition",
      message: "COPY sub/deep: it changed while the build was reading it",
    });
  });

  it("reads at most maxBytes", async () => {
    const r = await open();
    expect((await rejection(r.readFile(await r.resolve("sub/deep/c.txt"), 2, "read c"))).message).toBe("read c: larger than 2 bytes");
    expect((await r.readFile(await r.resolve("sub/deep/c.txt"), 3)).toString()).toBe("CCC");
  });
});

describe("readDockerfile", () => {
  it("refuses a symlinked Dockerfile, even one pointing inside", async () => {
    await fs.writeFile(path.join(ctx, "real.Dockerfile"), "FROM scratch\n");
    await fs.symlink("real.Dockerfile", path.join(ctx, "Dockerfile"));
    await fs.symlink(path.join(outside, "secret"), path.join(ctx, "evil.Dockerfile"));
    const r = await open();
    expect(await rejection(readDockerfile(r))).toEqual({
      kind: "InvalidArgument",
      message: "read Dockerfile Dockerfile: Dockerfile is a symlink, which berth refuses (it could point out of the build context)",
    });
    expect((await rejection(readDockerfile(r, "evil.Dockerfile"))).message).toMatch(/evil\.Dockerfile is a symlink/);
    expect((await readDockerfile(r, "real.Dockerfile")).toString()).toBe("FROM scratch\n");
    expect((await rejection(readDockerfile(r, "../outside/secret"))).message).toBe(
      "read Dockerfile ../outside/secret: the path leaves the build context",
    );
    expect((await rejection(readDockerfile(r, "missing"))).kind).toBe("NotFound");
  });
});
