import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isBerthError } from "../../../lib/errors.js";
import { NOTHING_IGNORED, parseDockerignore, readDockerignore } from "./dockerignore.js";
import { openSourceRoot, type SourceRoot } from "./walk.js";

describe("parseDockerignore", () => {
  // [file text, path, ignored] — Docker's (moby fileutils / patternmatcher) answers.
  it.each([
    ["root.txt", "root.txt", true],
    ["root.txt", "sub/root.txt", false], // anchored at the root, unlike .gitignore
    ["*.md", "x.md", true],
    ["*.md", "sub/x.md", false],
    ["**/*.md", "sub/deep/x.md", true],
    ["**/*.md", "x.md", true],
    ["**/node_modules", "a/b/node_modules/pkg/index.js", true],
    ["**", "anything/at/all", true],
    ["sub", "sub/deep/c.txt", true], // a parent directory matches everything under it
    ["sub/*", "sub/deep/c.txt", true],
    ["sub/*/c.txt", "sub/deep/c.txt", true],
    ["sub/*/c.txt", "sub/deep/more/c.txt", false],
    ["*.md\n!README.md", "README.md", false],
    ["!README.md\n*.md", "README.md", true], // the last matching line wins
    ["docs\n!docs/keep", "docs/keep", false],
    ["docs\n!docs/keep", "docs/other", true],
    ["# comment\nx", "# comment", false],
    [" # not a comment", "# not a comment", true], // only column 0 starts a comment
    ["/abs", "abs", true],
    ["./dot", "dot", true],
    ["a/../b", "b", true],
    ["dir/", "dir/file", true],
    ["d//e", "d/e/f", true],
    ["  spaced  ", "spaced", true],
    ["Readme", "readme", false], // case-sensitive on Linux
    ["[a-c].txt", "b.txt", true],
    ["\\*.txt", "*.txt", true],
    ["\\*.txt", "x.txt", false],
    ["?.txt", "ab.txt", false],
    ["constructor", "constructor", true], // an Object.prototype key (the library's cache bug)
    ["toString\n!toString", "toString", false],
    ["__proto__", "__proto__", true],
    ["a.txt", "./a.txt", true], // paths are cleaned
    ["a.txt", "sub/../a.txt", true],
    ["*", ".", false], // the root itself is never ignored
    ["\uFEFFbom.txt", "bom.txt", true],
    ["one\r\ntwo\r\n", "two", true],
  ])("%j: %j ignored=%j", (text, p, want) => expect(parseDockerignore(text).ignores(p)).toBe(want));

  it("keeps Docker's cleaned pattern list and notes exceptions", () => {
    const m = parseDockerignore("# c\n\n/a/\n ./b \n! c//d\n");
    expect(m.patterns).toEqual(["a", "b", "!c/d"]);
    expect(m.hasExceptions).toBe(true);
    expect(parseDockerignore("x\n").hasExceptions).toBe(false);
    expect(NOTHING_IGNORED.ignores("anything")).toBe(false);
  });

  it.each([
    ["!\n", 'read .dockerignore: illegal exclusion pattern: "!"'],
    ["ok\nbad[\n", 'read .dockerignore: "bad[": syntax error in pattern'],
    ["!x[\n", 'read .dockerignore: "!x[": syntax error in pattern'],
  ])("refuses %j as Docker does", (text, message) => {
    let err: unknown;
    try {
      parseDockerignore(text);
    } catch (e) {
      err = e;
    }
    expect(isBerthError(err, "InvalidArgument")).toBe(true);
    expect((err as Error).message).toBe(message);
  });
});

describe("readDockerignore", () => {
  let base: string;
  let ctx: string;
  let root: SourceRoot | undefined;

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-ignore-"));
    ctx = path.join(base, "ctx");
    await fs.mkdir(ctx);
  });
  afterEach(async () => {
    await root?.close();
    root = undefined;
    await fs.rm(base, { recursive: true, force: true });
  });

  async function open(): Promise<SourceRoot> {
    root = await openSourceRoot(ctx, { scope: "context" });
    return root;
  }

  it("reads .dockerignore at the root, or nothing when there is none", async () => {
    const r = await open();
    expect(await readDockerignore(r)).toBe(NOTHING_IGNORED);
    await fs.writeFile(path.join(ctx, ".dockerignore"), "*.log\n");
    expect((await readDockerignore(r)).ignores("x.log")).toBe(true);
  });

  it("prefers <Dockerfile>.dockerignore beside the Dockerfile", async () => {
    await fs.mkdir(path.join(ctx, "build"));
    await fs.writeFile(path.join(ctx, ".dockerignore"), "root-rule\n");
    await fs.writeFile(path.join(ctx, "build/app.Dockerfile.dockerignore"), "app-rule\n");
    const r = await open();
    const m = await readDockerignore(r, "./build/app.Dockerfile");
    expect(m.patterns).toEqual(["app-rule"]);
    expect((await readDockerignore(r, "Dockerfile")).patterns).toEqual(["root-rule"]);
  });

  it("refuses a .dockerignore that is a symlink, naming it", async () => {
    await fs.writeFile(path.join(base, "host-ignore"), "x\n");
    await fs.symlink(path.join(base, "host-ignore"), path.join(ctx, ".dockerignore"));
    const r = await open();
    let err: unknown;
    try {
      await readDockerignore(r);
    } catch (e) {
      err = e;
    }
    expect(isBerthError(err, "InvalidArgument")).toBe(true);
    expect((err as Error).message).toBe(
      "read .dockerignore: .dockerignore is a symlink, which berth refuses (it could point out of the build context)",
    );
  });
});
