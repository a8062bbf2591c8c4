import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkRemoteUrl, gitEnv, hardenedArgs, runGit } from "./git.js";

describe("hardened git", () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "berth-git-"));
    execFileSync("git", ["init", "-q", dir]);
    saved = process.env.GIT_DIR;
    process.env.GIT_DIR = "/nonexistent/elsewhere.git"; // an inherited GIT_* must not reach git
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.GIT_DIR;
    else process.env.GIT_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("overrides what a repository configures to run commands, and trusts exactly the one directory", async () => {
    const env = { PATH: process.env.PATH, HOME: dir }; // the test's own git: not the inherited GIT_DIR
    execFileSync("git", ["-C", dir, "config", "core.fsmonitor", "touch /tmp/never"], { env });
    execFileSync("git", ["-C", dir, "config", "core.hooksPath", "/tmp/hooks"], { env });
    expect((await runGit(dir, ["config", "--get", "core.fsmonitor"])).trim()).toBe("false");
    expect((await runGit(dir, ["config", "--get", "core.hooksPath"])).trim()).toBe("/dev/null");
    expect((await runGit(dir, ["config", "--get-all", "safe.directory"])).trim()).toBe(dir);
    expect((await runGit(dir, ["rev-parse", "--absolute-git-dir"])).trim()).toBe(path.join(dir, ".git"));
    expect(hardenedArgs(dir)).toEqual(expect.arrayContaining(["protocol.ext.allow=never", "core.pager=cat", "--no-pager"]));
  });

  it("runs with nothing inherited from the environment", () => {
    const env = gitEnv();
    expect(Object.keys(env).filter((k) => k.startsWith("GIT_")).sort()).toEqual(["GIT_ASKPASS", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_TERMINAL_PROMPT"]);
    expect(env.HOME).toBe("/nonexistent");
    expect(env.PATH).not.toContain(".");
  });

  it("says what git said when it fails, and bounds its time", async () => {
    await expect(runGit(dir, ["rev-parse", "--verify", "nosuchref"])).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("git rev-parse") });
    // git gets no stdin (it is at its end at once); a git that hangs stands in for one stuck on the network.
    const hanging = path.join(dir, "hanging-git");
    writeFileSync(hanging, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
    await expect(runGit(dir, ["fetch"], { git: hanging, timeoutMs: 200 })).rejects.toMatchObject({ kind: "Unavailable", message: expect.stringContaining("timed out") });
    expect((await runGit(dir, ["hash-object", "--stdin"], { timeoutMs: 5_000 })).trim()).toBe("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  });

  it("checks remotes: no option-like start, no remote helpers, local paths made absolute", () => {
    expect(() => checkRemoteUrl("--upload-pack=touch /tmp/x")).toThrow(/cannot start with '-'/);
    expect(() => checkRemoteUrl("ext::sh -c id")).toThrow(/remote helpers/);
    expect(() => checkRemoteUrl("fd::3")).toThrow(/remote helpers/);
    expect(checkRemoteUrl("file:///srv/ops.git")).toBe("file:///srv/ops.git");
    expect(checkRemoteUrl("git@example.com:ops.git")).toBe("git@example.com:ops.git");
    expect(checkRemoteUrl("relative/ops.git")).toBe(path.resolve("relative/ops.git"));
  });
});
