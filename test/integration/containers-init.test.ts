/**
 * `init: true` on real runc: tini-static (Debian's tini) is PID 1, bound read-only at
 * /dev/init, so an orphan is reaped (without it the same command leaves a zombie under a
 * PID 1 that never waits) and SIGTERM reaches `sh -c 'sleep 1000 & wait'` (without it, sh
 * as PID 1 ignores SIGTERM and the stop waits out the grace period). A missing init binary
 * is a FailedPrecondition at create naming the package.
 */
import { existsSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_INIT_PATH } from "../../runtime/containers/options.js";
import { hostLacks } from "../helpers/host.js";
import { cleanupAndLeftovers, containerTestEnv, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox") ?? (existsSync(DEFAULT_INIT_PATH) || process.env.CI === "true" ? undefined : `needs ${DEFAULT_INIT_PATH} (apt-get install tini)`);

/** States of every process in the container (from /proc/<pid>/stat), by command. */
const ZOMBIES = ["sh", "-c", "for f in /proc/[0-9]*/stat; do read -r l < $f && case \"$l\" in *') Z '*) echo \"$l\";; esac; done; true"];

describe.skipIf(lacks)("containers: init: true", () => {
  let env: ContainerTestEnv;
  beforeEach(async () => {
    env = await containerTestEnv();
  });
  afterEach(async () => {
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  const orphan = ["sh", "-c", "(sleep 0.1 &); exec sleep 1000"];
  const zombiesOf = async (rt: Awaited<ReturnType<ContainerTestEnv["open"]>>, name: string) => {
    await new Promise((r) => setTimeout(r, 500)); // the orphan's sleep 0.1 is over
    const r = await rt.exec(name, { argv: ZOMBIES });
    expect(r.exitCode).toBe(0);
    return r.stdout.trim().split("\n").filter(Boolean);
  };

  it("runs tini as PID 1 with the command under it, and reaps an orphan that PID 1 would otherwise leave a zombie", async () => {
    const rt = await env.open();
    await rt.create(testSpec("with-init", { init: true, command: orphan }));
    await rt.start("with-init");
    const pid1 = await rt.exec("with-init", { argv: ["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline"] });
    expect(pid1.stdout.trim()).toBe("/dev/init -- sh -c (sleep 0.1 &); exec sleep 1000");
    expect(await zombiesOf(rt, "with-init")).toEqual([]);
    // /dev/init is read-only
    expect((await rt.exec("with-init", { argv: ["sh", "-c", "echo x > /dev/init"] })).exitCode).not.toBe(0);

    // the same command without init: `sleep 1000` is PID 1 and never waits
    await rt.create(testSpec("without-init", { command: orphan }));
    await rt.start("without-init");
    const z = await zombiesOf(rt, "without-init");
    expect(z).toHaveLength(1);
    expect(z[0]).toMatch(/\(sleep\) Z /);
    await rt.remove("with-init", { force: true });
    await rt.remove("without-init", { force: true });
  });

  it("forwards SIGTERM: sh -c 'sleep 1000 & wait' stops promptly (without init it waits out the grace period)", async () => {
    const rt = await env.open();
    const cmd = ["sh", "-c", "sleep 1000 & wait"];
    await rt.create(testSpec("term", { init: true, command: cmd, stopGracePeriodMs: 8000 }));
    await rt.start("term");
    await new Promise((r) => setTimeout(r, 200));
    let t = Date.now();
    const stopped = await rt.stop("term");
    const withInit = Date.now() - t;
    expect(stopped.status).toBe("exited");
    expect(stopped.exitCode).toBe(143); // tini exits as its child did: SIGTERM
    expect(withInit).toBeLessThan(3000);

    await rt.create(testSpec("term-plain", { command: cmd, stopGracePeriodMs: 2000 }));
    await rt.start("term-plain");
    await new Promise((r) => setTimeout(r, 200));
    t = Date.now();
    const killed = await rt.stop("term-plain");
    expect(Date.now() - t).toBeGreaterThanOrEqual(1900);
    expect(killed.exitCode).toBe(137);
    await rt.remove("term", { force: true });
    await rt.remove("term-plain", { force: true });
  });

  it("a missing init binary is a FailedPrecondition at create naming the package, and nothing is made", async () => {
    const rt = await env.open({ initPath: `${env.base}/no-such-tini` });
    await expect(rt.create(testSpec("noinit", { init: true, command: ["true"] }))).rejects.toMatchObject({
      kind: "FailedPrecondition",
      message: expect.stringContaining("apt-get install tini"),
    });
    expect(await rt.list()).toEqual([]);
  });
});
