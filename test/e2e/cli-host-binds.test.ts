/**
 * Bind mounts that would hand a container the host, end to end: a real `berth daemon` refuses
 * `/:/host` with the located error the CLI prints (exit 1, nothing stored), `berth validate`
 * says the same against --root/--run-root, and `--allow-host-binds` — on the apply, or on the
 * daemon — lets it through to a container that really sees the host's files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../helpers/cli.js";
import { berth } from "../helpers/cli.js";
import { cliOf, spawnBerth, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

const HINT = "refused unless the daemon or the apply allows host binds (--allow-host-binds)";

describe.skipIf(lacking)("bind sources that expose the host, through a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let dir: string;
  let hostFile: string;
  let manifest: string;
  /** Line of `mounts:` in the manifest (1-based). */
  let mountsLine: number;
  const ok = (r: RunResult) => expect(r, `stderr: ${r.stderr}`).toMatchObject({ code: 0 });

  beforeAll(async () => {
    env = daemonEnv();
    cli = cliOf(env);
    dir = path.join(env.base, "manifests");
    mkdirSync(dir);
    hostFile = path.join(env.base, "on-the-host.txt");
    writeFileSync(hostFile, "seen from the host\n");
    const text =
      `${env.imageManifest}---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: hostview}\nspec:\n  image: localhost/busybox:latest\n` +
      `  command: [sleep, '3600']\n  networkMode: none\n  stopGracePeriod: 1s\n  mounts: ['/:/host:ro']\n`;
    mountsLine = text.split("\n").findIndex((l) => l.startsWith("  mounts:")) + 1;
    manifest = path.join(dir, "hostview.yaml");
    writeFileSync(manifest, text);
    daemon = await startCliDaemon(env);
  });

  afterAll(() => stopAndCheckClean(daemon, env));

  it("apply refuses /:/host with exit 1 and the located error; nothing is stored", async () => {
    const r = await cli(["apply", "-f", manifest]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toBe(
      `${manifest}:${mountsLine}:12: error: container/hostview: spec.mounts[0]: bind source / exposes berth's state directory ${env.root}; ${HINT}`,
    );
    expect(r.stderr).toMatch(/\n1 error in 1 file\n$/);
    expect((await cli(["get", "ctr", "hostview"])).code).toBe(3); // NotFound
    expect((await cli(["get", "image", "busybox"])).code).toBe(3); // all or nothing
  });

  it("validate says the same against --root and --run-root, and accepts it with --allow-host-binds", async () => {
    const r = await berth(["--root", env.root, "--run-root", env.runRoot, "validate", "-f", manifest]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(
      `${manifest}:${mountsLine}:12: error: container/hostview: spec.mounts[0]: bind source / exposes berth's state directory ${env.root}; ${HINT}`,
    );
    expect(await berth(["--root", env.root, "--run-root", env.runRoot, "validate", "-f", manifest, "--allow-host-binds"])).toMatchObject({ code: 0, stderr: "" });
  });

  it("apply --allow-host-binds runs it, and the container sees the host's files", async () => {
    const r = await cli(["apply", "-f", manifest, "--allow-host-binds", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    ok(r);
    expect(r.stdout).toMatch(/^image\/busybox created\ncontainer\/hostview created\n/);
    expect(await cli(["exec", "hostview", "--", "cat", `/host${hostFile}`])).toEqual({ code: 0, stdout: "seen from the host\n", stderr: "" });
    // re-applied without the allowance, the same manifest is refused again (and changes nothing)
    expect((await cli(["apply", "-f", manifest])).code).toBe(1);
    expect((await cli(["get", "ctr", "hostview", "-o", "json"])).code).toBe(0);
    expect(await cli(["delete", "-f", manifest])).toMatchObject({ code: 0 });
    await untilCli("hostview to be gone", () => cli(["get", "ctr", "hostview"]), (x) => x.code === 3);
  });

  it("a daemon started with --allow-host-binds accepts it from every apply", async () => {
    expect(await daemon!.stop("SIGTERM")).toBe(0);
    daemon = spawnBerth(["--root", env.root, "--run-root", env.runRoot, "daemon", "--log-level", "warn", "--cgroup-parent", env.cgroupParent, "--allow-host-binds"]);
    await untilCli("the daemon to answer", () => cli(["get"]), (x) => x.code === 0);
    const r = await cli(["apply", "-f", manifest, "--dry-run"]);
    ok(r);
    expect(r.stdout).toBe("image/busybox created (dry run)\ncontainer/hostview created (dry run)\n");
  });
});
