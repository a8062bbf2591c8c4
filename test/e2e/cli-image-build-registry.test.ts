/**
 * `berth image build`, `push`, `pull`, `berth login` and `logout` end to end: the built CLI
 * against a real `berth daemon` child process (its settings file given with --config). A
 * multi-stage Dockerfile FROM the env's busybox builds with its RUN output streamed and
 * Docker's `Successfully tagged`; the rebuild is CACHED at every step; a failing RUN gives
 * the located error and exit 1. With docker-registry on the host: the image is pushed to a
 * registry on 127.0.0.1, removed, pulled back and run; login/logout against one behind basic
 * auth. The tests run in order and build on each other.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../helpers/cli.js";
import { cliOf, startCliDaemon, stopAndCheckClean, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";
import { registryMissing, startTestRegistry, type TestRegistry } from "../helpers/registry.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");
const noRegistry = registryMissing() !== undefined && process.env.CI !== "true";

const DOCKERFILE = `FROM localhost/busybox:latest AS build
RUN echo built-in-stage-one > /out.txt && echo "run output: hello from build"
FROM localhost/busybox:latest
COPY --from=build /out.txt /out.txt
RUN cat /out.txt
CMD ["cat", "/out.txt"]
`;

describe.skipIf(lacking)("berth image build, push, pull, login and logout against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let registry: TestRegistry | undefined;
  let authRegistry: TestRegistry | undefined;
  let ctxDir: string;
  const ok = (r: RunResult) => expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);

  beforeAll(async () => {
    env = daemonEnv();
    if (!noRegistry) {
      registry = await startTestRegistry({ parent: env.base });
      authRegistry = await startTestRegistry({ parent: env.base, auth: { kind: "basic", username: "builder", password: "pa55-w0rd" } });
    }
    // loopback is plain-http already; the settings file says so explicitly, as a LAN registry would need
    const settings = path.join(env.base, "daemon.json");
    writeFileSync(settings, JSON.stringify({ insecureRegistries: [registry?.host, authRegistry?.host].filter(Boolean) }));
    daemon = await startCliDaemon(env, 30_000, ["--config", settings]);
    cli = cliOf(env);
    const manifest = path.join(env.base, "busybox.yaml");
    writeFileSync(manifest, env.imageManifest);
    ok(await cli(["apply", "-f", manifest, "--stack", "images", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 }));
    ctxDir = path.join(env.base, "ctx");
    mkdirSync(ctxDir);
    writeFileSync(path.join(ctxDir, "Dockerfile"), DOCKERFILE);
  });

  afterAll(async () => {
    await registry?.stop();
    await authRegistry?.stop();
    await stopAndCheckClean(daemon, env);
  });

  it("builds a multi-stage Dockerfile: steps numbered, RUN output streamed, Successfully built and tagged", async () => {
    const r = await cli(["image", "build", "-t", "localhost/built:1", "--network", "none", ctxDir], { timeoutMs: 120_000 });
    ok(r);
    const lines = r.stdout.split("\n");
    // FROM is each stage's first step, as Docker counts them; flags are shown
    expect(lines[0]).toBe("#1 [build 1/2] FROM localhost/busybox:latest AS build");
    expect(lines).toContain('#2 [build 2/2] RUN echo built-in-stage-one > /out.txt && echo "run output: hello from build"');
    expect(lines).toContain("#4 [stage-1 2/4] COPY --from=build /out.txt /out.txt");
    expect(lines).toContain("#5 [stage-1 3/4] RUN cat /out.txt");
    expect(lines).toContain('#6 [stage-1 4/4] CMD ["cat", "/out.txt"]');
    expect(lines).toContain("run output: hello from build");
    expect(lines).toContain("built-in-stage-one");
    expect(lines.filter((l) => l.startsWith(" ---> miss: ")).length).toBe(3);
    expect(r.stdout).toMatch(/\nSuccessfully built [0-9a-f]{12}\nSuccessfully tagged localhost\/built:1\n$/);
    const run = await cli(["image", "ls"]);
    expect(run.stdout).toMatch(/localhost\/built\s+1\s/);
  });

  it("the same build again is CACHED at every step, prints no RUN output, and gives the same image", async () => {
    const first = (await cli(["image", "inspect", "localhost/built:1"])).stdout;
    const r = await cli(["build", "-t", "localhost/built:1", "--network", "none", "-q", ctxDir], { timeoutMs: 60_000 });
    ok(r);
    expect(r.stdout).toBe(`${(JSON.parse(first) as { configDigest: string }[])[0]!.configDigest}\n`);
    const plain = await cli(["build", "-t", "localhost/built:1", "--network", "none", "--progress", "plain", ctxDir], { timeoutMs: 60_000 });
    ok(plain);
    const lines = plain.stdout.split("\n");
    expect(lines.filter((l) => l === " ---> CACHED").length).toBe(3);
    expect(lines.some((l) => l.startsWith(" ---> miss"))).toBe(false);
    expect(lines).not.toContain("run output: hello from build");
  });

  it("a failing RUN: the output before it, then the located error without a stack, exit 1", async () => {
    const dir = path.join(env.base, "failing");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "Dockerfile"), "FROM localhost/busybox:latest\nRUN echo about to fail\nRUN exit 3\n");
    const r = await cli(["image", "build", "-t", "localhost/failing:1", "--network", "none", dir], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("about to fail\n");
    expect(r.stderr).toMatch(/^berth: Dockerfile:3:1: RUN exit 3: .*non-zero code: 3\n$/);
    expect(r.stderr).not.toContain("    at ");
    // -f outside the context, read by the CLI; -f - from standard input
    writeFileSync(path.join(env.base, "Outside.Dockerfile"), "FROM localhost/busybox:latest\nRUN echo from outside\n");
    const outside = await cli(["build", "-t", "localhost/outside:1", "--network", "none", "-f", path.join(env.base, "Outside.Dockerfile"), dir], { timeoutMs: 60_000 });
    ok(outside);
    expect(outside.stdout).toContain("from outside\n");
    const stdin = await cli(["build", "--network", "none", "-q", "-f", "-", dir], { input: "FROM localhost/busybox:latest\nLABEL from=stdin\n", timeoutMs: 60_000 });
    ok(stdin);
    expect(stdin.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  it.skipIf(noRegistry)("pushes to a registry on 127.0.0.1, removes the image, pulls it back and runs it", async () => {
    const ref = `${registry!.host}/built:1`;
    ok(await cli(["image", "tag", "localhost/built:1", ref]));
    const push = await cli(["image", "push", ref], { timeoutMs: 60_000 });
    ok(push);
    expect(push.stdout.split("\n")[0]).toBe(`The push refers to repository [${registry!.host}/built]`);
    expect(push.stdout).toMatch(/: Pushed\n/);
    expect(push.stdout).toMatch(/\n1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
    const again = await cli(["image", "push", ref], { timeoutMs: 60_000 });
    expect(again.stdout).toMatch(/: Layer already exists\n/);
    ok(await cli(["image", "rm", ref]));
    const pull = await cli(["image", "pull", ref], { timeoutMs: 60_000 });
    ok(pull);
    expect(pull.stdout).toMatch(new RegExp(`^1: Pulling from built\\n`));
    expect(pull.stdout).toMatch(new RegExp(`\\nDigest: sha256:[0-9a-f]{64}\\nStatus: (Downloaded newer image|Image is up to date) for ${registry!.host.replace(/\./g, "\\.")}/built:1\\n${registry!.host.replace(/\./g, "\\.")}/built:1\\n$`));
    const c = `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: pulled}\nspec:\n  image: ${ref}\n  networkMode: none\n  restartPolicy: "no"\n`;
    const f = path.join(env.base, "pulled.yaml");
    writeFileSync(f, c);
    ok(await cli(["apply", "-f", f, "--stack", "pulled"], { timeoutMs: 60_000 }));
    let logs: RunResult | undefined;
    for (let i = 0; i < 60 && !logs?.stdout.includes("built-in-stage-one"); i++) {
      logs = await cli(["logs", "pulled"]);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(logs?.stdout).toBe("built-in-stage-one\n");
    ok(await cli(["delete", "container", "pulled"]));
    const missing = await cli(["image", "pull", `${registry!.host}/nope:1`], { timeoutMs: 30_000 });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^berth: .*nope/);
  });

  it.skipIf(noRegistry)("login to a registry behind basic auth: a wrong password refused, the right one stored, push works, logout removes it", async () => {
    const host = authRegistry!.host;
    const ref = `${host}/private:1`;
    ok(await cli(["image", "tag", "localhost/built:1", ref]));
    const denied = await cli(["image", "push", ref], { timeoutMs: 30_000 });
    expect(denied.code).not.toBe(0);
    const wrong = await cli(["login", "-u", "builder", "--password-stdin", host], { input: "wrong\n" });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).not.toContain("wrong");
    const noPassword = await cli(["login", "-u", "builder", host]);
    expect(noPassword).toMatchObject({ code: 2, stderr: "berth: login: no password given: pipe it to --password-stdin (or give -p PASSWORD)\n" });
    const login = await cli(["login", "-u", "builder", "--password-stdin", host], { input: "pa55-w0rd\n" });
    expect(login).toEqual({ code: 0, stdout: "Login Succeeded\n", stderr: "" });
    ok(await cli(["image", "push", "-q", ref], { timeoutMs: 60_000 }));
    const logout = await cli(["logout", host]);
    expect(logout).toEqual({ code: 0, stdout: `Removing login credentials for ${host}\n`, stderr: "" });
    expect((await cli(["logout", host])).stdout).toBe(`Not logged in to ${host}\n`);
    const after = await cli(["image", "pull", ref], { timeoutMs: 30_000 });
    expect(after.code).not.toBe(0);
    expect(daemon!.stdout() + daemon!.stderr()).not.toContain("pa55-w0rd");
  });
});
