/**
 * GitOps sources against the real pieces but the runtime: real directories and git
 * repositories in temp dirs, real chokidar, the real SourceManager (persistence, hardened
 * git), and an in-memory apply target with the real manifest loader.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../lib/clock.js";
import { SourceManager } from "../../controller/sources/manager.js";
import { containerYaml, FakeApplyTarget } from "../../controller/sources/testing.js";
import { chokidarWatch } from "../../controller/sources/watch.js";
import { until } from "../helpers/daemon.js";

const logger = pino({ level: process.env.BERTH_TEST_LOG ?? "silent" });
const signal = () => AbortSignal.timeout(60_000);

/** git for the test's own repositories (the user's side), with an identity and no outside config. */
function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: "1" },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sources: watched directories and git remotes", () => {
  let base: string;
  let root: string;
  let target: FakeApplyTarget;
  let managers: SourceManager[];
  const open = async (options: Parameters<typeof SourceManager.open>[0]["options"] = {}) => {
    const m = await SourceManager.open({ root, clock: systemClock, logger, target, watch: chokidarWatch(logger), options: { runner: { resyncMs: 600_000 }, ...options } });
    managers.push(m);
    m.start();
    return m;
  };
  const write = (dir: string, rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };

  beforeEach(() => {
    base = mkdtempSync(path.join(tmpdir(), "berth-src-"));
    root = path.join(base, "root");
    target = new FakeApplyTarget();
    managers = [];
  });
  afterEach(async () => {
    for (const m of managers) await m.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it("applies a directory, sees an atomic save as one change with no delete, and survives a restart", async () => {
    const dir = path.join(base, "shop");
    write(dir, "web.yaml", containerYaml("web"));
    write(dir, "db/db.yml", containerYaml("db"));
    let m = await open();
    const v = await m.register({ stack: "shop", dir }, signal());
    expect(v).toMatchObject({ state: "Synced", source: { type: "dir", dir }, objects: { total: 2 } });
    expect(target.changeLines()).toEqual([["container/db created", "container/web created"]]);
    expect(JSON.parse(readFileSync(path.join(root, "sources", "sources.json"), "utf8")).sources).toMatchObject([{ stack: "shop", dir, sync: "auto", prune: true }]);

    // an editor's atomic save: the old file goes (unlink), the new one arrives by rename (add)
    rmSync(path.join(dir, "web.yaml"));
    await sleep(50);
    writeFileSync(path.join(dir, ".web.yaml.tmp"), containerYaml("web", "  stopGracePeriod: 2s\n"));
    renameSync(path.join(dir, ".web.yaml.tmp"), path.join(dir, "web.yaml"));
    await until("the save applied", async () => (target.applies.length >= 2 ? true : undefined), 10_000);
    await sleep(800);
    expect(target.changeLines()).toEqual([["container/db created", "container/web created"], ["container/web configured"]]);

    // the same bytes again: nothing to apply
    writeFileSync(path.join(dir, "web.yaml"), readFileSync(path.join(dir, "web.yaml")));
    await sleep(1_000);
    expect(target.applies.length).toBe(2);

    await m.stop();
    m = await open();
    await until("the restarted manager read the source", async () => ((await m.get("shop")).state === "Synced" ? true : undefined), 10_000);
    expect(target.applies.length).toBe(3); // a re-apply of the same set: nothing changed in it
    expect(target.changeLines()[2]).toEqual([]);
    write(dir, "cache.yaml", containerYaml("cache"));
    await until("the restarted manager watches", async () => (target.applies.length === 4 ? true : undefined), 10_000);
    expect(target.changeLines()[3]).toEqual(["container/cache created"]);
  });

  it("a git checkout touching 50 files is one apply; the view has the commit and whether the tree is dirty", async () => {
    const repo = path.join(base, "repo");
    mkdirSync(repo);
    git(repo, "init", "-q");
    for (let i = 0; i < 50; i++) write(repo, `stack/c${String(i).padStart(2, "0")}.yaml`, containerYaml(`c${i}`));
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "v1");
    const v1 = git(repo, "rev-parse", "HEAD").trim();
    git(repo, "checkout", "-q", "-b", "v2");
    for (let i = 0; i < 50; i++) write(repo, `stack/c${String(i).padStart(2, "0")}.yaml`, containerYaml(`c${i}`, "  stopGracePeriod: 3s\n"));
    git(repo, "commit", "-q", "-am", "v2");
    const v2 = git(repo, "rev-parse", "HEAD").trim();
    git(repo, "checkout", "-q", "main");

    const m = await open();
    const dir = path.join(repo, "stack");
    let v = await m.register({ stack: "fifty", dir }, signal());
    expect(v).toMatchObject({ state: "Synced", commit: v1, dirty: false, objects: { total: 50 } });

    git(repo, "checkout", "-q", "v2");
    await until("the checkout applied", async () => (target.applies.length >= 2 ? true : undefined), 15_000);
    await sleep(2_500); // past the longest debounce: no second apply
    expect(target.applies.length).toBe(2);
    expect(target.changeLines()[1]!.length).toBe(50);
    expect(target.changeLines()[1]!.every((l) => l.endsWith(" configured"))).toBe(true);
    v = await m.get("fifty");
    expect(v).toMatchObject({ commit: v2, dirty: false, appliedCommit: v2 });

    write(repo, "stack/extra.yaml", containerYaml("extra"));
    await until("a dirty tree", async () => ((await m.get("fifty")).dirty === true ? true : undefined), 10_000);
  });

  it("runs nothing a repository configures: core.fsmonitor and hooks of a watched work tree", async () => {
    const repo = path.join(base, "evil");
    mkdirSync(repo);
    git(repo, "init", "-q");
    write(repo, "app.yaml", containerYaml("app"));
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "one");
    const marker = path.join(base, "fsmonitor-ran");
    const hookMarker = path.join(base, "hook-ran");
    git(repo, "config", "core.fsmonitor", `touch ${marker}; false`);
    git(repo, "config", "core.pager", `touch ${marker}`);
    writeFileSync(path.join(repo, ".git", "hooks", "post-checkout"), `#!/bin/sh\ntouch ${hookMarker}\n`, { mode: 0o755 });
    // the repository's own git (as a user would run it) does run it: the test can fail
    const probe = path.join(base, "probe");
    execFileSync("git", ["-C", repo, "-c", `core.fsmonitor=touch ${probe}; false`, "status"], { env: { PATH: process.env.PATH, HOME: base }, stdio: "ignore" });
    expect(existsSync(probe)).toBe(true);

    const m = await open();
    const v = await m.register({ stack: "evil", dir: repo }, signal());
    expect(v).toMatchObject({ state: "Synced", dirty: false });
    write(repo, "app.yaml", containerYaml("app", "  stopGracePeriod: 1s\n"));
    await until("the change applied", async () => ((await m.get("evil")).dirty === true ? true : undefined), 10_000);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(hookMarker)).toBe(false);
  });

  it("follows a bare remote: berth's own clone, fetched on the interval, a push applied; a bad remote is refused", async () => {
    const bare = path.join(base, "ops.git");
    const work = path.join(base, "work");
    execFileSync("git", ["init", "-q", "--bare", "-b", "main", bare]);
    execFileSync("git", ["clone", "-q", bare, work], { env: { PATH: process.env.PATH, HOME: base }, stdio: "ignore" });
    write(work, "deploy/web.yaml", containerYaml("web"));
    write(work, "README.yaml", "not: a manifest of this stack\n");
    git(work, "add", "-A");
    git(work, "commit", "-q", "-m", "one");
    git(work, "push", "-q", "origin", "HEAD:main");
    const c1 = git(work, "rev-parse", "HEAD").trim();

    const m = await open();
    const v = await m.register({ stack: "ops", git: { url: `file://${bare}`, branch: "main", path: "deploy", intervalMs: 1_000 } }, signal());
    expect(v).toMatchObject({ state: "Synced", commit: c1, source: { type: "git", url: `file://${bare}`, branch: "main", path: "deploy", dir: path.join(root, "sources", "git", "ops", "deploy") } });
    expect(target.changeLines()).toEqual([["container/web created"]]);

    write(work, "deploy/api.yaml", containerYaml("api"));
    git(work, "add", "-A");
    git(work, "commit", "-q", "-m", "two");
    git(work, "push", "-q", "origin", "HEAD:main");
    const c2 = git(work, "rev-parse", "HEAD").trim();
    await until("the push applied", async () => ((await m.get("ops")).appliedCommit === c2 ? true : undefined), 15_000);
    expect(target.changeLines()[1]).toEqual(["container/api created"]);

    // a path to the bare repository works as well; an unknown branch or a missing remote is refused, nothing persisted
    await expect(m.register({ stack: "nobranch", git: { url: bare, branch: "nope", intervalMs: 60_000 } }, signal())).rejects.toThrow(/nope/);
    await expect(m.register({ stack: "noremote", git: { url: path.join(base, "missing.git"), intervalMs: 60_000 } }, signal())).rejects.toThrow(/git fetch/);
    await expect(m.register({ stack: "ext", git: { url: "ext::sh -c touch% /tmp/pwned", intervalMs: 60_000 } }, signal())).rejects.toThrow(/remote helpers/);
    expect((await m.list()).map((s) => s.stack)).toEqual(["ops"]);
    expect(existsSync(path.join(root, "sources", "git", "nobranch"))).toBe(false);

    const u = await m.unregister("ops", { keep: false }, signal());
    expect(u.changes.map((c) => c.name).sort()).toEqual(["api", "web"]);
    expect(existsSync(path.join(root, "sources", "git", "ops"))).toBe(false);
  });

  it("daemon --watch DIR=STACK registers once, keeps the registration on the next start, and refuses a stack another source has", async () => {
    const dir = path.join(base, "boot");
    write(dir, "a.yaml", containerYaml("a"));
    let m = await open();
    await m.ensureDir(dir, "boot", signal());
    await m.ensureDir(dir, "boot", signal());
    expect((await m.list()).map((s) => `${s.stack} ${s.state}`)).toEqual(["boot Synced"]);
    await m.stop();
    m = await open();
    await m.ensureDir(dir, "boot", signal());
    expect((await m.list()).map((s) => s.source.dir)).toEqual([dir]);
    await expect(m.ensureDir(path.join(base, "other"), "boot", signal())).rejects.toMatchObject({ kind: "AlreadyExists" });
  });

  it("refuses a symlink leading out of the source, with nothing applied", async () => {
    const dir = path.join(base, "linky");
    write(dir, "ok.yaml", containerYaml("ok"));
    writeFileSync(path.join(base, "secret.yaml"), containerYaml("stolen"));
    symlinkSync(path.join(base, "secret.yaml"), path.join(dir, "leak.yaml"));
    const m = await open();
    const v = await m.register({ stack: "linky", dir }, signal());
    expect(v.state).toBe("Invalid");
    expect(v.errors).toMatchObject([{ file: "leak.yaml", message: expect.stringContaining("symlink leads out of the source") }]);
    expect(target.applies).toEqual([]);
    rmSync(path.join(dir, "leak.yaml"));
    await until("the fix applied", async () => ((await m.get("linky")).state === "Synced" ? true : undefined), 10_000);
    expect(target.changeLines()).toEqual([["container/ok created"]]);
  });
});
