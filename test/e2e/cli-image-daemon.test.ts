/**
 * `berth image` while a daemon runs: a real `berth daemon` child process holds the root lock,
 * so every image command must go through its API (direct store access would be refused). The
 * tests run in order and build on each other, like a session at a terminal.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BERTH, berth, REPO, type RunResult } from "../helpers/cli.js";
import { cliOf, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

describe.skipIf(lacking)("berth image through a running daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let dir: string;
  let archive: string;
  let configDigest: string;
  /** With raw bytes on standard input. */
  const cliIn = (args: string[], input: Buffer) => berth(["--run-root", env.runRoot, ...args], { input });
  const ok = (r: RunResult) => expect(r, `stderr: ${r.stderr}`).toMatchObject({ code: 0, stderr: "" });

  beforeAll(async () => {
    env = daemonEnv();
    dir = path.join(env.base, "work");
    mkdirSync(dir);
    archive = path.join(dir, "saved.tar");
    cli = cliOf(env);
    daemon = await startCliDaemon(env);
  });

  afterAll(() => stopAndCheckClean(daemon, env));

  it("the daemon holds the root: opening the store directly is refused, naming it", async () => {
    // no daemon on this run-root: the CLI falls back to the store, whose lock the daemon holds
    const r = await berth(["--root", env.root, "--run-root", path.join(env.base, "no-daemon"), "image", "ls"]);
    expect(r.code).toBe(6);
    expect(r.stderr).toBe(`berth: lock ${env.root}: berth daemon process ${daemon!.pid} is using it\n`);
  });

  it("berth doctor --root names the daemon that holds the root's lock", async () => {
    const r = await berth(["--root", env.root, "doctor", "-o", "json"]);
    const lock = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === "root lock");
    expect(lock).toMatchObject({ status: "ok", detail: `${env.root}: held by pid ${daemon!.pid} (berth daemon)` });
  });

  it("imports a rootfs tarball from a file and from standard input, with --change", async () => {
    const r = await cli(["image", "import", env.busyboxTar, "localhost/busybox:latest", "-c", 'CMD ["sh"]', "-c", "ENV MODE=test"]);
    ok(r);
    expect(r.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    configDigest = r.stdout.trim();
    const stdin = await cliIn(["image", "import", "-", "localhost/stdin:1"], readFileSync(env.busyboxTar));
    ok(stdin);
    expect(stdin.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
  });

  it("lists and inspects, also with an explicit --root naming the daemon's root", async () => {
    const ls = await cli(["image", "ls"]);
    ok(ls);
    expect(ls.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nlocalhost\/busybox\s+latest\s+[a-f0-9]{12}\s+.+ago\s+[\d.]+MiB\nlocalhost\/stdin\s+1\s+[a-f0-9]{12}\s+.+ago\s+[\d.]+MiB\n$/);
    const inspect = await berth(["--root", env.root, "--run-root", env.runRoot, "image", "inspect", "localhost/busybox"]);
    ok(inspect);
    const [img] = JSON.parse(inspect.stdout);
    expect(img.config).toMatchObject({ Cmd: ["sh"], Env: ["MODE=test"] });
    expect(img.configDigest).toBe(configDigest);
    const json = JSON.parse((await cli(["image", "ls", "-o", "json"])).stdout);
    expect(json.items.map((i: { references: string[] }) => i.references).flat().sort()).toEqual(["localhost/busybox:latest", "localhost/stdin:1"]);
  });

  it("saves to a file and to standard output", async () => {
    ok(await cli(["image", "save", "-o", archive, "localhost/busybox:latest"]));
    const piped = path.join(dir, "piped.tar");
    const fd = openSync(piped, "w");
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, [BERTH, "--run-root", env.runRoot, "image", "save", "localhost/busybox:latest"], { cwd: REPO, stdio: ["ignore", fd, "inherit"] });
        child.on("error", reject);
        child.on("close", resolve);
      });
      expect(code).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(piped).equals(readFileSync(archive))).toBe(true);
    expect(execFileSync("tar", ["-tf", archive], { encoding: "utf8" })).toMatch(/^index\.json$/m);
  });

  it("tags, removes references and the image, then loads it back from a file, standard input and an OCI layout directory", async () => {
    ok(await cli(["image", "tag", "localhost/busybox", "localhost/tools:1"]));
    expect(await cli(["image", "rm", "localhost/tools:1"])).toEqual({ code: 0, stdout: "Untagged: localhost/tools:1\n", stderr: "" });

    const unload = async () => {
      const rm = await cli(["image", "rm", "localhost/busybox"]);
      ok(rm);
      expect(rm.stdout).toMatch(/^Untagged: localhost\/busybox:latest\n(Deleted: sha256:[a-f0-9]{64}\n)+$/);
      expect((await cli(["image", "inspect", "localhost/busybox"])).code).toBe(3);
    };
    const loadedBack = async (r: RunResult) => {
      expect(r).toEqual({ code: 0, stdout: "Loaded image: localhost/busybox:latest\n", stderr: "" });
      expect(JSON.parse((await cli(["image", "inspect", "localhost/busybox"])).stdout)[0].configDigest).toBe(configDigest);
    };

    await unload();
    await loadedBack(await cli(["image", "load", "-i", archive]));
    await unload();
    await loadedBack(await cliIn(["image", "load"], readFileSync(archive)));
    await unload();
    const layout = path.join(dir, "layout");
    mkdirSync(layout);
    execFileSync("tar", ["-xf", archive, "-C", layout]);
    await loadedBack(await cli(["image", "load", "-i", layout]));
  });

  it("runs a container from the imported image (no Image object involved); the image it uses is not removed", async () => {
    const manifest = path.join(dir, "app.yaml");
    writeFileSync(
      manifest,
      "apiVersion: berth/v1\nkind: Container\nmetadata: {name: imported}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n" +
        "  command: [sh, -c, 'echo \"mode=$MODE\"; exec sleep 3600']\n  stopGracePeriod: 1s\n",
    );
    const apply = await cli(["apply", "-f", manifest, "--stack", "imgs", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/^container\/imported created\n/);
    await untilCli("the container's output", () => cli(["logs", "imported"]), (r) => r.stdout === "mode=test\n");

    const inUse = await cli(["image", "rm", "localhost/busybox"]);
    expect(inUse.code).toBe(4);
    expect(inUse.stderr).toMatch(/^berth: remove image localhost\/busybox: container layer \S+ uses it; use force\n$/);
    const prune = await cli(["image", "prune"]);
    ok(prune);
    expect(prune.stdout).toMatch(/^Deleted \d+ blobs and \d+ layers\nTotal reclaimed space: .+\n$/);
    ok(await cli(["image", "inspect", "localhost/busybox"]));

    ok(await cli(["delete", "ctr", "imported"]));
    await untilCli("the container to be gone", () => cli(["get", "ctr", "imported"]), (r) => r.code === 3);
  });

  it("prune -a, once the last user is gone, removes every image (Docker's prune -a)", async () => {
    const rm = await cli(["image", "rm", "localhost/stdin:1"]);
    ok(rm);
    expect((await cli(["image", "ls", "-q"])).stdout).toMatch(/^[a-f0-9]{12}\n$/); // the tagged busybox, no container left
    ok(await cli(["image", "prune", "-a"]));
    expect((await cli(["image", "ls", "-q"])).stdout).toBe("");
  });

  it("reports user errors in one line with an exit code by kind, never a stack", async () => {
    const missing = await cli(["image", "rm", "nope"]);
    expect(missing).toMatchObject({ code: 3, stderr: "berth: get image nope: not found\n" });
    const bad = await cli(["image", "import", env.busyboxTar, "Bad Ref"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^berth: .*Bad Ref.*\n$/);
    const change = await cli(["image", "import", env.busyboxTar, "localhost/x:1", "-c", "RUN rm -rf /"]);
    expect(change).toMatchObject({
      code: 2,
      stderr: 'berth: import image: --change "RUN rm -rf /": unsupported change instruction RUN: expected CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE or STOPSIGNAL\n',
    });
    const noFile = await cli(["image", "import", path.join(dir, "absent.tar"), "localhost/x:1"]);
    expect(noFile.code).toBe(3);
    expect(noFile.stderr).toMatch(/^berth: read \S+absent\.tar: ENOENT/);
    const notAnArchive = await cli(["image", "load", "-i", path.join(REPO, "README.md")]);
    expect(notAnArchive.code).toBe(2);
    expect(notAnArchive.stderr).toMatch(/^berth: [^\n]+\n$/);
    // nothing half-made, nothing staged
    expect((await cli(["image", "ls", "-q"])).stdout).toBe("");
    expect(readdirSync(path.join(env.root, "tmp")).filter((n) => n.startsWith("api-"))).toEqual([]);
    // and the daemon is still there, having logged none of this as its own failure
    expect((await cli(["get"])).code).toBe(0);
    expect(daemon!.stdout()).not.toContain("request failed");
  });
});
