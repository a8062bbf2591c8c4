import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isSourcePath, readSourceSet } from "./snapshot.js";

describe("readSourceSet", () => {
  let base: string;
  let dir: string;
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  beforeEach(() => {
    base = mkdtempSync(path.join(tmpdir(), "berth-snap-"));
    dir = path.join(base, "src");
    mkdirSync(dir);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it("reads .yaml and .yml recursively, sorted, skipping hidden entries and other files", async () => {
    write("b.yaml", "b");
    write("a/c.yml", "c");
    write("a/d.json", "{}");
    write(".git/config.yaml", "x");
    write("a/.hidden.yaml", "x");
    write("README.md", "x");
    const s = await readSourceSet(dir);
    expect(s.files.map((f) => f.file)).toEqual(["a/c.yml", "b.yaml"]);
    expect(s.files[0]).toMatchObject({ text: "c", baseDir: path.join(dir, "a") });
    expect(s.diagnostics).toEqual([]);
  });

  it("hashes the whole set: equal content, equal hash; any change of content or name changes it", async () => {
    write("a.yaml", "one");
    write("b.yaml", "two");
    const h1 = (await readSourceSet(dir)).hash;
    write("a.yaml", "one"); // rewritten, same bytes
    expect((await readSourceSet(dir)).hash).toBe(h1);
    write("a.yaml", "one!");
    const h2 = (await readSourceSet(dir)).hash;
    expect(h2).not.toBe(h1);
    rmSync(path.join(dir, "a.yaml"));
    write("c.yaml", "one!");
    expect((await readSourceSet(dir)).hash).not.toBe(h2);
  });

  it("refuses symlinks leading out of the source and follows those inside", async () => {
    writeFileSync(path.join(base, "outside.yaml"), "secret");
    mkdirSync(path.join(base, "outdir"));
    write("real/x.yaml", "x");
    symlinkSync(path.join(base, "outside.yaml"), path.join(dir, "leak.yaml"));
    symlinkSync(path.join(base, "outdir"), path.join(dir, "leakdir"));
    symlinkSync("real/x.yaml", path.join(dir, "alias.yaml"));
    symlinkSync(".", path.join(dir, "real", "loop"));
    const s = await readSourceSet(dir);
    expect(s.files.map((f) => f.file)).toEqual(["alias.yaml", "real/x.yaml"]);
    expect(s.files.some((f) => f.text === "secret")).toBe(false);
    expect(s.diagnostics.map((d) => `${d.file}: ${d.message}`)).toEqual([
      `leak.yaml: symlink leads out of the source (to ${path.join(base, "outside.yaml")}); refused`,
      `leakdir: symlink leads out of the source (to ${path.join(base, "outdir")}); refused`,
    ]);
  });

  it("reports a missing source directory and a file over the limit", async () => {
    const missing = await readSourceSet(path.join(base, "nope"));
    expect(missing.diagnostics[0]!.message).toMatch(/cannot read the source directory: ENOENT/);
    write("big.yaml", "x".repeat(100));
    const s = await readSourceSet(dir, { maxFileBytes: 10 });
    expect(s.files).toEqual([]);
    expect(s.diagnostics[0]).toMatchObject({ file: "big.yaml", severity: "error" });
  });

  it("isSourcePath skips hidden segments", () => {
    expect(isSourcePath("a/b.yaml")).toBe(true);
    expect(isSourcePath(".git/HEAD")).toBe(false);
    expect(isSourcePath("a/.b.yaml.swp")).toBe(false);
  });
});
