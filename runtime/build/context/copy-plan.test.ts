import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isBerthError } from "../../../lib/errors.js";
import { identityLookupFromFiles } from "./chown.js";
import { digestOf, imagePath, planCopy, type CopyInstruction, type CopyPlan, type CopyPlanInputs, type PlannedEntry } from "./copy-plan.js";
import { parseDockerignore, readDockerignore } from "./dockerignore.js";
import { openSourceRoot, type SourceRoot } from "./walk.js";

const isRoot = process.getuid?.() === 0;
let base: string;

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mtime: new Date(0) }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The context every table row uses. */
async function makeContext(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, "sub/deep"), { recursive: true });
  await fs.mkdir(path.join(dir, "other"));
  await fs.writeFile(path.join(dir, "a.txt"), "A");
  await fs.writeFile(path.join(dir, "b.txt"), "B");
  await fs.writeFile(path.join(dir, "sub/c.txt"), "C");
  await fs.writeFile(path.join(dir, "sub/deep/d.txt"), "D");
  await fs.writeFile(path.join(dir, "other/x.txt"), "X");
  await fs.symlink("c.txt", path.join(dir, "sub/link"));
  await fs.symlink("/etc/passwd", path.join(dir, "sub/abs-link")); // copied as a link, never read
  await fs.symlink("a.txt", path.join(dir, "lnk"));
  await fs.symlink("sub", path.join(dir, "dirlnk"));
  await fs.symlink("/etc/passwd", path.join(dir, "passwd-link"));
  await fs.writeFile(path.join(dir, "Dockerfile"), "FROM scratch\n");
  await fs.writeFile(path.join(dir, ".dockerignore"), "Dockerfile\n.dockerignore\n*.log\n");
  await fs.writeFile(path.join(dir, "noise.log"), "log");
  await fs.writeFile(path.join(dir, "app.tar"), await tarOf({ "in-tar.txt": "T" }));
  await fs.writeFile(path.join(dir, "app.tar.gz"), zlib.gzipSync(await tarOf({ "in-tgz.txt": "G" })));
  await fs.writeFile(path.join(dir, "data.gz"), zlib.gzipSync(Buffer.from("not a tar\n".repeat(100))));
  await fs.mkdir(path.join(dir, "archives"));
  await fs.copyFile(path.join(dir, "app.tar"), path.join(dir, "archives/nested.tar"));
  for (const p of ["a.txt", "b.txt", "sub/c.txt", "sub/deep/d.txt", "other/x.txt", "app.tar", "app.tar.gz", "data.gz", "archives/nested.tar"]) {
    await fs.chmod(path.join(dir, p), 0o644);
  }
  await fs.chmod(path.join(dir, "b.txt"), 0o600);
  await fs.chmod(path.join(dir, "sub"), 0o750);
  await fs.chmod(path.join(dir, "sub/deep"), 0o755);
  await fs.chmod(path.join(dir, "other"), 0o755);
  await fs.chmod(path.join(dir, "archives"), 0o755);
}

const imageDirs = new Set(["/", "/etc", "/app", "/usr", "/usr/bin"]);
let ctxDir: string;
let ctx: SourceRoot;

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-plan-"));
  ctxDir = path.join(base, "ctx");
  await fs.mkdir(ctxDir);
  await makeContext(ctxDir);
  ctx = await openSourceRoot(ctxDir, { scope: "context" });
});

afterAll(async () => {
  await ctx?.close();
  await fs.rm(base, { recursive: true, force: true });
});

async function plan(instr: Partial<CopyInstruction> & { sources: string[]; dest: string }, inputs: Partial<CopyPlanInputs> = {}): Promise<CopyPlan> {
  const root = inputs.root ?? ctx;
  const ignore = inputs.ignore ?? (root === ctx ? await readDockerignore(ctx) : undefined);
  return planCopy(
    { instruction: "COPY", workdir: "/", ...instr },
    { root, ...(ignore ? { ignore } : {}), isDirInImage: (p) => imageDirs.has(p), ...inputs },
  );
}

/** "type target" lines, and for files the source they read. */
function shape(entries: readonly PlannedEntry[]): string[] {
  return entries.map((e) => {
    switch (e.type) {
      case "file":
        return `file ${e.target} <- ${e.source.realPath}`;
      case "symlink":
        return `symlink ${e.target} -> ${e.linkTarget}`;
      case "extract":
        return `extract ${e.target} <- ${e.source.realPath} (${e.compression})`;
      case "dir":
        return `dir ${e.target}${e.origin === "parent" ? " (parent)" : ""}`;
    }
  });
}

async function failure(p: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isBerthError(err)) return { kind: err.kind, message: err.message };
    throw err;
  }
  throw new Error("expected an error");
}

const subContents = (d: string) => [
  `symlink ${d}/abs-link -> /etc/passwd`,
  `file ${d}/c.txt <- sub/c.txt`,
  `dir ${d}/deep`,
  `file ${d}/deep/d.txt <- sub/deep/d.txt`,
  `symlink ${d}/link -> c.txt`,
];

// The src/dst cases of docs#8605 and moby#15858, with what Docker does. The image has
// /etc, /app, /usr/bin; nothing else.
type Row = [name: string, sources: string[], dest: string, workdir: string, want: string[] | { error: string; kind: string }];
const MULTI = "When using COPY with more than one source file, the destination must be a directory and end with a /";
const table: Row[] = [
  ["1 file → new path: the path is the file", ["a.txt"], "/x", "/", ["file /x <- a.txt"]],
  ["2 file → dir/: inside it, the dir created", ["a.txt"], "/x/", "/", ["dir /x (parent)", "file /x/a.txt <- a.txt"]],
  ["3 file → existing dir without /: inside it", ["a.txt"], "/etc", "/", ["file /etc/a.txt <- a.txt"]],
  ["4 dir → dir/: its contents, not itself", ["sub"], "/x/", "/", ["dir /x", ...subContents("/x")]],
  ["5 dir → new path without /: its contents at that path", ["sub"], "/x", "/", ["dir /x", ...subContents("/x")]],
  ["6 dir → existing dir: contents merged, the dir keeps its metadata", ["sub"], "/etc", "/", subContents("/etc")],
  ["7 glob → dir/: every match inside", ["*.txt"], "/x/", "/", ["dir /x (parent)", "file /x/a.txt <- a.txt", "file /x/b.txt <- b.txt"]],
  ["8 several → dir/: files inside, dirs' contents merged", ["a.txt", "other"], "/x/", "/", ["dir /x (parent)", "file /x/a.txt <- a.txt", "file /x/x.txt <- other/x.txt"]],
  ["9 several → no /: refused", ["a.txt", "b.txt"], "/x", "/", { kind: "InvalidArgument", error: MULTI }],
  ["9b glob of several → no /: refused", ["*.txt"], "/x", "/", { kind: "InvalidArgument", error: MULTI }],
  ["9c glob of one → no /: that file at the path", ["a.*"], "/x", "/", ["file /x <- a.txt"]],
  ["glob of dirs flattens them (moby#15858)", ["o*", "s?b"], "/x/", "/", ["dir /x", ...subContents("/x"), "file /x/x.txt <- other/x.txt"].sort(byTarget)],
  ["glob in a subdirectory", ["sub/*.txt"], "/x/", "/", ["dir /x (parent)", "file /x/c.txt <- sub/c.txt"]],
  ["glob over directories", ["*/c.txt"], "/x/", "/", ["dir /x (parent)", "file /x/c.txt <- sub/c.txt"]],
  ["relative dest joins WORKDIR", ["a.txt"], "rel/", "/app", ["dir /app/rel (parent)", "file /app/rel/a.txt <- a.txt"]],
  ["dest . is WORKDIR", ["a.txt"], ".", "/app", ["file /app/a.txt <- a.txt"]],
  ["several → . is allowed (BuildKit)", ["a.txt", "b.txt"], ".", "/app", ["file /app/a.txt <- a.txt", "file /app/b.txt <- b.txt"]],
  ["an empty dest is WORKDIR", ["a.txt", "b.txt"], "", "/app", ["file /app/a.txt <- a.txt", "file /app/b.txt <- b.txt"]],
  ["relative dest without / onto a new path", ["a.txt"], "renamed.txt", "/app", ["file /app/renamed.txt <- a.txt"]],
  ["missing parents are created", ["a.txt"], "/p/q/r", "/", ["dir /p (parent)", "dir /p/q (parent)", "file /p/q/r <- a.txt"]],
  ["a symlink source is followed, named as written", ["lnk"], "/x/", "/", ["dir /x (parent)", "file /x/lnk <- a.txt"]],
  ["a symlinked dir source copies the target's contents", ["dirlnk"], "/x", "/", ["dir /x", ...subContents("/x")]],
  ["the later source wins at one path", ["a.txt", "b.txt"], "/etc/", "/", ["file /etc/a.txt <- a.txt", "file /etc/b.txt <- b.txt"]],
  ["a missing source", ["nope.txt"], "/x", "/", { kind: "NotFound", error: "COPY nope.txt: not found in the build context or excluded by .dockerignore" }],
  ["a pattern matching nothing", ["*.md"], "/x/", "/", { kind: "NotFound", error: "COPY *.md: no source files were specified (the pattern matches nothing in the build context)" }],
  ["an ignored source is absent", ["noise.log"], "/x", "/", { kind: "NotFound", error: "COPY noise.log: not found in the build context or excluded by .dockerignore" }],
  ["a pattern matching only ignored files", ["*.log"], "/x/", "/", { kind: "NotFound", error: "COPY *.log: no source files were specified (the pattern matches nothing in the build context)" }],
  ["a malformed pattern", ["a["], "/x/", "/", { kind: "InvalidArgument", error: "COPY a[: syntax error in pattern" }],
  ["a source above the context", ["../x"], "/x", "/", { kind: "InvalidArgument", error: "COPY ../x: the path leaves the build context" }],
  ["a glob above the context", ["../*"], "/x/", "/", { kind: "InvalidArgument", error: "COPY ../*: the path leaves the build context" }],
  ["an absolute source", ["/etc/passwd"], "/x", "/", { kind: "InvalidArgument", error: "COPY /etc/passwd: the path leaves the build context (an absolute source path is not allowed)" }],
  [
    "a source symlink out of the context",
    ["passwd-link"],
    "/x",
    "/",
    { kind: "InvalidArgument", error: "COPY passwd-link: the symlink passwd-link points to /etc/passwd, which leaves the build context (only links that stay inside it are followed)" },
  ],
  [
    "a glob matching a symlink out of the context",
    ["passwd-*"],
    "/x/",
    "/",
    { kind: "InvalidArgument", error: "COPY passwd-*: the symlink passwd-link points to /etc/passwd, which leaves the build context (only links that stay inside it are followed)" },
  ],
  ["COPY of a URL", ["https://example.com/x.tgz"], "/x", "/", { kind: "InvalidArgument", error: "COPY https://example.com/x.tgz: source can't be a URL for COPY" }],
];

function byTarget(a: string, b: string): number {
  const ta = a.split(" ")[1]!;
  const tb = b.split(" ")[1]!;
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

describe("planCopy: Docker's source/destination cases", () => {
  it.each(table)("%s", async (_name, sources, dest, workdir, want) => {
    if (Array.isArray(want)) {
      expect(shape((await plan({ sources, dest, workdir })).entries)).toEqual(want);
    } else {
      expect(await failure(plan({ sources, dest, workdir }))).toEqual({ kind: want.kind, message: want.error });
    }
  });

  it("COPY . copies the context minus .dockerignore, which hides the Dockerfile and itself", async () => {
    const targets = (await plan({ sources: ["."], dest: "/app/" })).entries.map((e) => e.target);
    expect(targets).toContain("/app/a.txt");
    expect(targets).toContain("/app/sub/deep/d.txt");
    expect(targets).not.toContain("/app/Dockerfile");
    expect(targets).not.toContain("/app/.dockerignore");
    expect(targets).not.toContain("/app/noise.log");
    const all = (await plan({ sources: ["."], dest: "/app/" }, { ignore: parseDockerignore("") })).entries.map((e) => e.target);
    expect(all).toContain("/app/Dockerfile");
  });

  it("keeps modes, gives 0:0, and the dir created for a dir source takes its mode", async () => {
    const { entries } = await plan({ sources: ["sub", "b.txt"], dest: "/x/" });
    const by = new Map(entries.map((e) => [e.target, e]));
    expect(by.get("/x")).toMatchObject({ type: "dir", origin: "source", mode: 0o750, uid: 0, gid: 0 });
    expect(by.get("/x/b.txt")).toMatchObject({ mode: 0o600, uid: 0, gid: 0, size: 1 });
    expect(by.get("/x/c.txt")).toMatchObject({ sha256: createHash("sha256").update("C").digest("hex") });
  });
});

describe("planCopy: --chown and --chmod", () => {
  const identities = identityLookupFromFiles("app:x:1000:1001::/:/bin/sh\n", "staff:x:50:\n");

  it("--chown applies to every entry including created parents; --chmod to files and dirs, not symlinks", async () => {
    const { entries } = await plan({ sources: ["sub"], dest: "/p/x", chown: "app:staff", chmod: "640" }, { identities });
    const by = new Map(entries.map((e) => [e.target, e]));
    expect(by.get("/p")).toMatchObject({ type: "dir", origin: "parent", mode: 0o755, uid: 1000, gid: 50 });
    expect(by.get("/p/x")).toMatchObject({ type: "dir", mode: 0o640, uid: 1000, gid: 50 });
    expect(by.get("/p/x/deep")).toMatchObject({ mode: 0o640 });
    expect(by.get("/p/x/c.txt")).toMatchObject({ mode: 0o640, uid: 1000, gid: 50 });
    expect(by.get("/p/x/link")).toMatchObject({ type: "symlink", uid: 1000, gid: 50 });
    expect(by.get("/p/x/link")).not.toHaveProperty("mode");
  });

  it("a named user without group takes its primary group; an unknown name is refused", async () => {
    const { entries } = await plan({ sources: ["a.txt"], dest: "/x", chown: "app" }, { identities });
    expect(entries[0]).toMatchObject({ uid: 1000, gid: 1001 });
    expect(await failure(plan({ sources: ["a.txt"], dest: "/x", chown: "ghost" }, { identities }))).toEqual({
      kind: "InvalidArgument",
      message: "COPY --chown=ghost: no user ghost in the image's /etc/passwd",
    });
    expect((await failure(plan({ sources: ["a.txt"], dest: "/x", chmod: "u+x" }))).message).toMatch(/--chmod=u\+x: not an octal mode/);
  });

  it.skipIf(!isRoot)("resets the context's ids to 0:0 but keeps a --from root's ids", async () => {
    const dir = path.join(base, "owned");
    await fs.mkdir(path.join(dir, "opt"), { recursive: true });
    await fs.writeFile(path.join(dir, "opt/tool"), "t");
    await fs.chown(path.join(dir, "opt/tool"), 1234, 5678);
    const asContext = await openSourceRoot(dir, { scope: "context" });
    const asStage = await openSourceRoot(dir, { scope: "rootfs" });
    try {
      expect((await plan({ sources: ["opt/tool"], dest: "/t" }, { root: asContext })).entries[0]).toMatchObject({ uid: 0, gid: 0 });
      expect((await plan({ sources: ["/opt/tool"], dest: "/t" }, { root: asStage })).entries[0]).toMatchObject({ uid: 1234, gid: 5678 });
      expect((await plan({ sources: ["/opt/tool"], dest: "/t", chown: "1:2" }, { root: asStage })).entries[0]).toMatchObject({ uid: 1, gid: 2 });
    } finally {
      await asContext.close();
      await asStage.close();
    }
  });
});

describe("planCopy: COPY --from a rootfs", () => {
  it("reads absolute sources and follows absolute links inside the root", async () => {
    const dir = path.join(base, "stage");
    await fs.mkdir(path.join(dir, "bin"), { recursive: true });
    await fs.mkdir(path.join(dir, "usr/local"), { recursive: true });
    await fs.writeFile(path.join(dir, "bin/app"), "app");
    await fs.symlink("/bin/app", path.join(dir, "usr/local/app"));
    const stage = await openSourceRoot(dir, { scope: "rootfs", label: "stage build" });
    try {
      const { entries } = await plan({ sources: ["/usr/local/app"], dest: "/usr/bin/" }, { root: stage });
      expect(shape(entries)).toEqual(["file /usr/bin/app <- bin/app"]);
      expect(await failure(plan({ sources: ["/nope*"], dest: "/x/" }, { root: stage }))).toEqual({
        kind: "NotFound",
        message: "COPY /nope*: no source files were specified (the pattern matches nothing in stage build)",
      });
    } finally {
      await stage.close();
    }
  });
});

describe("planCopy: ADD", () => {
  it("marks local tar archives (by content) for extraction into dest, copies anything else", async () => {
    const { entries } = await plan({ instruction: "ADD", sources: ["app.tar", "app.tar.gz", "data.gz", "archives"], dest: "/x/" });
    expect(shape(entries)).toEqual([
      "dir /x (parent)",
      "extract /x <- app.tar (none)",
      "extract /x <- app.tar.gz (gzip)",
      "file /x/data.gz <- data.gz",
      "file /x/nested.tar <- archives/nested.tar", // inside a copied directory: never extracted
    ]);
  });

  it("extracts into dest as a directory even without a trailing /, with --chown as the owner", async () => {
    const { entries } = await plan({ instruction: "ADD", sources: ["app.tar"], dest: "/opt/app", chown: "7:8" });
    expect(shape(entries)).toEqual(["dir /opt (parent)", "dir /opt/app (parent)", "extract /opt/app <- app.tar (none)"]);
    expect(entries[2]).toMatchObject({ owner: { uid: 7, gid: 8 } });
    expect((await plan({ instruction: "COPY", sources: ["app.tar"], dest: "/opt/app" })).entries.map((e) => e.type)).toEqual(["dir", "file"]);
  });

  it.each(["https://example.com/a.tgz", "http://x/y", "git@github.com:o/r.git"])("refuses to download %s", async (src) => {
    const f = await failure(plan({ instruction: "ADD", sources: [src], dest: "/x/" }));
    expect(f.kind).toBe("NotImplemented");
    expect(f.message).toBe(`ADD ${src}: downloading a URL or git repository is not implemented; fetch it in a RUN step, or download it beside the Dockerfile and COPY it`);
  });
});

describe("the content digest", () => {
  it("is the same for the same context at another path, and ignores mtimes", async () => {
    const twin = path.join(base, "elsewhere/deeper/ctx");
    await fs.mkdir(twin, { recursive: true });
    await makeContext(twin);
    await fs.utimes(path.join(twin, "a.txt"), new Date(0), new Date(0));
    const root2 = await openSourceRoot(twin, { scope: "context" });
    try {
      const one = await plan({ sources: ["."], dest: "/app/" });
      const two = await plan({ sources: ["."], dest: "/app/" }, { root: root2, ignore: await readDockerignore(root2) });
      const canon = (p: CopyPlan) => p.entries.map((e) => JSON.stringify({ ...e, source: undefined, mtimeMs: undefined }));
      expect(canon(two)).toEqual(canon(one));
      expect(two.digest).toBe(one.digest);
      expect(one.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      await fs.chmod(path.join(twin, "a.txt"), 0o755);
      const chmodded = await plan({ sources: ["."], dest: "/app/" }, { root: root2, ignore: await readDockerignore(root2) });
      expect(chmodded.digest).not.toBe(one.digest);
      await fs.chmod(path.join(twin, "a.txt"), 0o644);
      await fs.writeFile(path.join(twin, "a.txt"), "changed");
      const edited = await plan({ sources: ["."], dest: "/app/" }, { root: root2, ignore: await readDockerignore(root2) });
      expect(edited.digest).not.toBe(one.digest);
    } finally {
      await root2.close();
    }
  });

  it("changes with --chmod, --chown, the destination and a link target; not with entry order", async () => {
    const baseDigest = (await plan({ sources: ["sub"], dest: "/x/" })).digest;
    expect((await plan({ sources: ["sub"], dest: "/x/", chmod: "700" })).digest).not.toBe(baseDigest);
    expect((await plan({ sources: ["sub"], dest: "/x/", chown: "1" })).digest).not.toBe(baseDigest);
    expect((await plan({ sources: ["sub"], dest: "/y/" })).digest).not.toBe(baseDigest);
    const { entries } = await plan({ sources: ["sub"], dest: "/x/" });
    expect(digestOf([...entries].reverse())).toBe(baseDigest);
    const relinked = entries.map((e) => (e.type === "symlink" && e.target === "/x/link" ? { ...e, linkTarget: "deep/d.txt" } : e));
    expect(digestOf(relinked)).not.toBe(baseDigest);
    const touched = entries.map((e) => (e.type === "file" ? { ...e, mtimeMs: 0 } : e));
    expect(digestOf(touched)).toBe(baseDigest);
  });
});

describe("the content hash cache", () => {
  it("answers for a file whose dev, inode, size, mtime and ctime did not change, misses once it is written, and stores no racy file", async () => {
    const map = new Map<string, string>();
    let now = Date.now() + 60_000; // every file is old enough to cache
    const hashes = { get: (k: string) => map.get(k), set: (k: string, v: string) => void map.set(k, v), now: () => now };
    const first = await plan({ sources: ["a.txt"], dest: "/x" }, { hashes });
    const file = first.entries.find((e) => e.type === "file")!;
    expect(map.get([...map.keys()][0]!)).toBe(file.type === "file" ? file.sha256 : "");
    // a hit is not read: a planted hash shows up in the plan
    for (const k of map.keys()) map.set(k, "0".repeat(64));
    const planted = await plan({ sources: ["a.txt"], dest: "/x" }, { hashes });
    expect(planted.entries.find((e) => e.type === "file")).toMatchObject({ sha256: "0".repeat(64) });
    // a write changes the ctime: the key, so the real content is read again
    const content = await fs.readFile(path.join(ctxDir, "a.txt"));
    await fs.writeFile(path.join(ctxDir, "a.txt"), content);
    const reread = await plan({ sources: ["a.txt"], dest: "/x" }, { hashes });
    expect(reread.entries.find((e) => e.type === "file")).toMatchObject({ sha256: file.type === "file" ? file.sha256 : "" });
    // a file changed within the racy window is not stored
    map.clear();
    now = Date.now();
    await plan({ sources: ["a.txt"], dest: "/x" }, { hashes });
    expect(map.size).toBe(0);
  });
});

describe("imagePath", () => {
  it.each([
    ["/", "x", "/x"],
    ["/app", ".", "/app"],
    ["/app", "../etc/", "/etc"],
    ["/app", "/abs/./p/", "/abs/p"],
    ["app", "x", "/app/x"],
    ["/", "../../x", "/x"],
  ])("WORKDIR %s, dest %s → %s", (wd, dest, want) => expect(imagePath(wd, dest)).toBe(want));
});
