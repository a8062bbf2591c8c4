/**
 * GitOps sources end to end: a real `berth daemon` (runc + conmon + overlay) watching a
 * temporary git work tree and following a bare remote, driven through the built CLI and
 * git as a user would. The tests run in order and build on each other's state.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../controller/api/client.js";
import type { SourceView } from "../../controller/api/protocol.js";
import { cliOf, startCliDaemon, stopAndCheckClean, type CliProcess } from "../helpers/cli-daemon.js";
import type { RunResult } from "../helpers/cli.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

const ctr = (name: string, spec = "") =>
  `apiVersion: berth/v1\nkind: Container\nmetadata: {name: ${name}}\nspec:\n  image: localhost/busybox:latest\n  command: [sleep, '3600']\n  networkMode: none\n  stopGracePeriod: 1s\n${spec}`;
const volume = (name: string) => `apiVersion: berth/v1\nkind: Volume\nmetadata: {name: ${name}}\nspec: {}\n`;

type Status = { phase: string; containerId?: string };

describe.skipIf(lacking)("GitOps sources against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let client: ApiClient;
  let repo: string;
  let fsmonitorMarker: string;
  const ok = (r: RunResult) => expect(r, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toMatchObject({ code: 0 });

  const git = (dir: string, ...args: string[]) =>
    execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", "-c", "core.fsmonitor=false", ...args], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: env.base, GIT_CONFIG_NOSYSTEM: "1" },
    });
  const write = (dir: string, rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  const commit = (dir: string, message: string) => {
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", message);
    return git(dir, "rev-parse", "HEAD").trim();
  };
  const statusOf = async (name: string): Promise<Status | undefined> => {
    const r = await cli(["get", "ctr", name, "-o", "json"]);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { status: Status }).status;
  };
  const untilRunning = (name: string, pred: (s: Status) => boolean = () => true, timeoutMs = 60_000) =>
    until(`container ${name} running`, async () => {
      const s = await statusOf(name);
      return s?.phase === "Running" && pred(s) ? s : undefined;
    }, timeoutMs, 250);
  const stacks = async (): Promise<SourceView[]> => {
    const r = await cli(["get", "stacks", "-o", "json"]);
    ok(r);
    return (JSON.parse(r.stdout) as { items: SourceView[] }).items;
  };
  const stack = async (name: string) => (await stacks()).find((s) => s.stack === name)!;
  const untilStack = (name: string, what: string, pred: (s: SourceView) => boolean, timeoutMs = 30_000) =>
    until(`stack ${name} ${what}`, async () => {
      const s = await stack(name);
      return s && pred(s) ? s : undefined;
    }, timeoutMs, 250);
  const syncedEvents = async (stackName: string) => (await client.events()).filter((e) => e.object === `stack/${stackName}` && e.reason === "Synced").length;

  beforeAll(async () => {
    env = daemonEnv();
    cli = cliOf(env);
    client = new ApiClient(env.socket);
    repo = path.join(env.base, "repo");
    mkdirSync(repo);
    git(repo, "init", "-q");
    write(repo, "image.yaml", env.imageManifest);
    write(repo, "web.yaml", ctr("web"));
    write(repo, "worker.yaml", ctr("worker", "  restartPolicy: always\n"));
    commit(repo, "a stack");
    // a repository whose config would run a command on `git status` (as root, in the daemon)
    fsmonitorMarker = path.join(env.base, "fsmonitor-ran");
    execFileSync("git", ["-C", repo, "config", "core.fsmonitor", `touch ${fsmonitorMarker}; false`]);
    daemon = await startCliDaemon(env);
  }, 120_000);

  afterAll(async () => {
    // unwatching deletes each stack's objects; the image goes last with the stack that has it
    for (const s of ["remote", "man", "gitops"]) await cli(["unwatch", s]).catch(() => undefined);
    await until("every container gone", async () => ((await client.list("Container")).length === 0 ? true : undefined), 60_000).catch(() => undefined);
    await stopAndCheckClean(daemon, env);
  }, 180_000);

  let webId: string;
  let workerId: string;

  it("a committed stack converges; status has the commit; fsmonitor runs nothing", async () => {
    const r = await cli(["watch", repo, "--stack", "gitops"], { timeoutMs: 90_000 });
    ok(r);
    expect(r.stdout).toContain(`stack/gitops watching ${repo} (sync auto)`);
    webId = (await untilRunning("web")).containerId!;
    workerId = (await untilRunning("worker")).containerId!;
    const s = await untilStack("gitops", "all ready", (x) => x.objects.ready === 3);
    expect(s).toMatchObject({ state: "Synced", sync: "auto", commit: git(repo, "rev-parse", "HEAD").trim(), dirty: false, objects: { total: 3 }, lastApply: { result: "Applied" } });
    const table = await cli(["get", "stacks"]);
    expect(table.stdout).toMatch(/^STACK\s+SOURCE\s+REVISION\s+SYNC\s+STATE\s+LAST APPLY\s+READY$/m);
    expect(table.stdout).toMatch(new RegExp(`^gitops\\s+${repo}\\s+\\w{12} \\(commit \\w{12}\\)\\s+auto\\s+Synced\\s+Applied \\S+ ago\\s+3/3$`, "m"));
    expect(existsSync(fsmonitorMarker)).toBe(false);
  });

  it("a commit changing one container recreates only it", async () => {
    write(repo, "worker.yaml", ctr("worker", "  restartPolicy: always\n  env: {V: '2'}\n"));
    const c = commit(repo, "worker v2");
    await untilRunning("worker", (s) => s.containerId !== workerId);
    workerId = (await statusOf("worker"))!.containerId!;
    expect((await statusOf("web"))!.containerId).toBe(webId);
    await untilStack("gitops", "at the commit", (s) => s.appliedCommit === c);
    expect(existsSync(fsmonitorMarker)).toBe(false);
  });

  it("a broken file keeps the old stack running, with the error's location on status and in events; the fix converges", async () => {
    write(repo, "web.yaml", ctr("web", "  restartPolicy: sometimes\n"));
    const bad = commit(repo, "broken");
    const s = await untilStack("gitops", "invalid", (x) => x.state === "Invalid" && x.commit === bad);
    expect(s.errors[0]).toMatchObject({ file: "web.yaml", line: 9, column: 18, path: "spec.restartPolicy", object: "container/web" });
    expect(s.message).toMatch(/nothing of it was applied or pruned; revision \w{12} \(commit \w{12}\) keeps running/);
    expect((await client.events()).some((e) => e.object === "stack/gitops" && e.reason === "InvalidRevision" && e.message.includes("web.yaml:9:18: error: container/web: spec.restartPolicy"))).toBe(true);
    const table = await cli(["get", "stacks"]);
    expect(table.stdout).toContain("web.yaml:9:18: container/web: spec.restartPolicy");
    expect((await statusOf("web"))!).toMatchObject({ phase: "Running", containerId: webId });

    write(repo, "web.yaml", ctr("web"));
    const fixed = commit(repo, "fixed");
    const after = await untilStack("gitops", "synced again", (x) => x.state === "Synced" && x.commit === fixed);
    expect(after.errors).toEqual([]);
    expect((await statusOf("web"))!.containerId).toBe(webId); // back to the spec it runs
  });

  it("a deleted file's objects are pruned", async () => {
    rmSync(path.join(repo, "worker.yaml"));
    commit(repo, "no worker");
    await until("worker pruned", async () => ((await cli(["get", "ctr", "worker"])).code !== 0 ? true : undefined), 60_000, 250);
    expect((await statusOf("web"))!.containerId).toBe(webId);
  });

  it("one git checkout of 50 files is one apply (and back, one more)", async () => {
    git(repo, "checkout", "-q", "-b", "many");
    for (let i = 0; i < 50; i++) write(repo, `volumes/v${String(i).padStart(2, "0")}.yaml`, volume(`v${i}`));
    const many = commit(repo, "50 volumes");
    await untilStack("gitops", "at 50 volumes", (x) => x.appliedCommit === many);
    git(repo, "checkout", "-q", "main");
    await untilStack("gitops", "back on main", (x) => x.appliedCommit !== many && x.state === "Synced" && x.dirty === false);
    await until("volumes pruned", async () => ((await client.list("Volume")).length === 0 ? true : undefined), 30_000);
    const before = await syncedEvents("gitops");
    git(repo, "checkout", "-q", "many");
    await untilStack("gitops", "at 50 volumes again", (x) => x.appliedCommit === many);
    await new Promise((r) => setTimeout(r, 3_000)); // past the longest debounce
    expect(await syncedEvents("gitops")).toBe(before + 1);
    expect((await client.list("Volume")).length).toBe(50);
    const s = await stack("gitops");
    expect(s.lastApply!.changes.length).toBe(50);
    expect(s.lastApply!.changes.every((c) => c.action === "created")).toBe(true);
    git(repo, "checkout", "-q", "main");
    await until("volumes pruned again", async () => ((await client.list("Volume")).length === 0 ? true : undefined), 30_000);
    expect(await syncedEvents("gitops")).toBe(before + 2);
    expect(existsSync(fsmonitorMarker)).toBe(false);
  });

  it("a policy violation is refused with its location; nothing of that revision runs", async () => {
    write(repo, "host.yaml", ctr("hostnet").replace("networkMode: none", "networkMode: host"));
    commit(repo, "host network");
    const s = await untilStack("gitops", "refusing host network", (x) => x.state === "Invalid");
    expect(s.errors).toMatchObject([{ file: "host.yaml", line: 7, column: 16, path: "spec.networkMode", message: expect.stringContaining("host is refused") }]);
    expect(s.errors[0]!.suggestion).toContain("--allow hostNetwork");
    expect(await statusOf("hostnet")).toBeUndefined();
    rmSync(path.join(repo, "host.yaml"));
    commit(repo, "no host network");
    await untilStack("gitops", "synced", (x) => x.state === "Synced");
  });

  it("--sync manual: the plan is on status and `berth diff STACK`; `berth sync` applies it", async () => {
    const dir = path.join(env.base, "manual");
    write(dir, "m1.yaml", ctr("m1"));
    const r = await cli(["watch", dir, "--stack", "man", "--sync", "manual"], { timeoutMs: 60_000 });
    ok(r);
    expect(r.stdout).toContain("see `berth diff man`");
    const s = await stack("man");
    expect(s).toMatchObject({ state: "OutOfSync", plan: { changes: [{ kind: "Container", name: "m1", action: "created" }] } });
    expect(await statusOf("m1")).toBeUndefined();
    const d = await cli(["diff", "man"]);
    expect(d.code, d.stderr).toBe(1);
    expect(d.stdout).toContain("container/m1 created");
    expect(d.stdout).toContain("diff container/m1\n--- /dev/null\n");
    expect(d.stdout).toMatch(/^\+\s+command:/m);
    const sy = await cli(["sync", "man"]);
    ok(sy);
    expect(sy.stdout).toContain("container/m1 created");
    await untilRunning("m1");
    expect(await cli(["diff", "man"])).toMatchObject({ code: 0 });
    expect((await stack("man")).state).toBe("Synced");
  });

  it("a bare remote is cloned by berth and followed after a push", async () => {
    const bare = path.join(env.base, "ops.git");
    const work = path.join(env.base, "work");
    execFileSync("git", ["init", "-q", "--bare", "-b", "main", bare]);
    mkdirSync(work);
    git(work, "init", "-q");
    write(work, "deploy/r1.yaml", ctr("r1"));
    commit(work, "r1");
    git(work, "push", "-q", bare, "HEAD:main");
    const r = await cli(["watch", "--git", `file://${bare}`, "--branch", "main", "--path", "deploy", "--interval", "1s", "--stack", "remote"], { timeoutMs: 60_000 });
    ok(r);
    await untilRunning("r1");
    write(work, "deploy/r2.yaml", ctr("r2"));
    const c2 = commit(work, "r2");
    git(work, "push", "-q", bare, "HEAD:main");
    await untilRunning("r2");
    const s = await untilStack("remote", "at the pushed commit", (x) => x.appliedCommit === c2);
    expect(s.source).toMatchObject({ type: "git", url: `file://${bare}`, branch: "main", path: "deploy" });
    expect(existsSync(path.join(env.root, "sources", "git", "remote", "deploy", "r2.yaml"))).toBe(true);
  });

  it("watches survive a daemon restart; unwatch --keep leaves the objects, unwatch deletes them", async () => {
    expect(await daemon!.stop("SIGTERM")).toBe(0);
    daemon = await startCliDaemon(env);
    expect((await stacks()).map((s) => s.stack)).toEqual(["gitops", "man", "remote"]);
    write(repo, "late.yaml", ctr("late"));
    commit(repo, "late");
    await untilRunning("late");
    expect((await statusOf("web"))!.containerId).toBe(webId); // adopted, not recreated

    const keep = await cli(["unwatch", "remote", "--keep"]);
    ok(keep);
    expect(keep.stdout).toContain("its objects keep running");
    expect((await statusOf("r1"))!.phase).toBe("Running");
    expect(existsSync(path.join(env.root, "sources", "git", "remote"))).toBe(false);
    // the kept objects are an ordinary stack now: watching it again takes them over
    const again = await cli(["watch", "--git", `file://${path.join(env.base, "ops.git")}`, "--path", "deploy", "--stack", "remote"], { timeoutMs: 60_000 });
    ok(again);
    const del = await cli(["unwatch", "man"]);
    ok(del);
    expect(del.stdout).toContain("container/m1 deleted");
    await until("m1 gone", async () => ((await statusOf("m1")) === undefined ? true : undefined), 30_000);
  });
});
