import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REBOOT_REASON } from "../../runtime/containers/runtime.js";
import { hostLacks } from "../helpers/host.js";
import { cleanupAndLeftovers, containerTestEnv, runcIds, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";
import { alive, cgroupPids, killEverythingOf, wipe } from "./crash-safety-helpers.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A run-root emptied while containers run (same boot) is not a reboot: the survivors are
 * adopted (runc's state restored from the copy in the root: same pids, stop/exec work), or,
 * when their conmon is gone, stopped cleanly so they can be started once more. Never two
 * copies in one cgroup; the old conmon's exit file never ends a new run. A real reboot
 * (another boot id in the root's record) keeps the reboot behaviour.
 */
describe.skipIf(lacks)("containers: a wiped run-root with survivors", () => {
  let env: ContainerTestEnv;

  beforeEach(async () => {
    env = await containerTestEnv();
  });

  afterEach(async () => {
    await killEverythingOf(env.base, env.cgroupParent);
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  it("same boot id: both containers adopted with their pids, runc knows them again, stop/exec/kill work", async () => {
    const rt1 = await env.open();
    const a = await rt1.create(testSpec("a", { command: ["sleep", "600"] }));
    const b = await rt1.create(testSpec("b", { command: ["sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done"] }));
    const pa = (await rt1.start("a")).pid!;
    const pb = (await rt1.start("b")).pid!;
    await rt1.close();
    await wipe(env.runRoot);

    const rt2 = await env.open();
    expect((await rt2.list()).map((s) => [s.name, s.status, s.pid])).toEqual([
      ["a", "running", pa],
      ["b", "running", pb],
    ]);
    expect((await runcIds(env.runRoot)).sort()).toEqual([a.id, b.id].sort());
    expect(await cgroupPids(env.cgroupParent, a.id)).toEqual([pa]);
    expect(await rt2.exec("a", { argv: ["echo", "ok"] })).toMatchObject({ exitCode: 0, stdout: "ok\n" });
    // A few polls later nothing has changed: no second copy, no exit taken for a new run.
    await sleep(1500);
    expect(await rt2.inspect("a")).toMatchObject({ status: "running", pid: pa });
    expect(await rt2.inspect("b")).toMatchObject({ status: "running", pid: pb });
    expect(await rt2.stop("b", { graceMs: 5000 })).toMatchObject({ status: "exited", exitCode: 3 });
    await rt2.kill("a", "SIGKILL");
    const deadline = Date.now() + 10_000;
    while ((await rt2.inspect("a")).status === "running" && Date.now() < deadline) await sleep(50);
    expect(await rt2.inspect("a")).toMatchObject({ status: "exited", exitCode: 137 });
    // Started again: one copy each, and they stay up.
    const pa2 = (await rt2.start("a")).pid!;
    await sleep(1000);
    expect(await rt2.inspect("a")).toMatchObject({ status: "running", pid: pa2 });
    expect(await cgroupPids(env.cgroupParent, a.id)).toEqual([pa2]);
    await rt2.remove("a", { force: true });
    await rt2.remove("b", { force: true });
  });

  it("wiped while the runtime is open: the poll restores the survivors' state, stop works", async () => {
    const rt = await env.open();
    await rt.create(testSpec("a", { command: ["sleep", "600"] }));
    const pa = (await rt.start("a")).pid!;
    await wipe(env.runRoot);
    await sleep(1000); // a few polls (200ms in the test env)
    expect(await rt.inspect("a")).toMatchObject({ status: "running", pid: pa });
    expect(await rt.stop("a", { graceMs: 0 })).toMatchObject({ status: "exited", exitCode: 137 });
    await rt.remove("a");
  });

  it("a survivor whose conmon is gone: stopped cleanly (empty cgroup, no exit file left), started again once, and it stays up", async () => {
    const rt1 = await env.open();
    const c = await rt1.create(testSpec("c", { command: ["sleep", "600"] }));
    const pc = (await rt1.start("c")).pid!;
    await rt1.close();
    const rec = JSON.parse(await fs.readFile(path.join(env.root, "containers", c.id, "container.json"), "utf8")) as { conmonPid: number };
    await wipe(env.runRoot);
    process.kill(rec.conmonPid, "SIGKILL");
    await sleep(200);

    const rt2 = await env.open();
    const s = await rt2.inspect("c");
    expect(s.status).toBe("exited");
    expect(s.reason).toMatch(/run-root/);
    expect(await alive(pc)).toBe(false);
    expect(await cgroupPids(env.cgroupParent, c.id)).toEqual([]);
    const pc2 = (await rt2.start("c")).pid!;
    await sleep(1500);
    expect(await rt2.inspect("c")).toMatchObject({ status: "running", pid: pc2 });
    expect(await cgroupPids(env.cgroupParent, c.id)).toEqual([pc2]);
    await rt2.remove("c", { force: true });
  });

  it("a start never recorded (record still created) with a wiped run-root: the next start leaves one copy", async () => {
    const rt1 = await env.open();
    const d = await rt1.create(testSpec("d", { command: ["sleep", "600"] }));
    const pd = (await rt1.start("d")).pid!;
    await rt1.close();
    // As if berth died after `runc start` and before saving "running".
    const file = path.join(env.root, "containers", d.id, "container.json");
    const rec = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, unknown>;
    for (const k of ["pid", "pidStartTime", "conmonPid", "conmonStartTime", "startedAt", "bootId"]) delete rec[k];
    await fs.writeFile(file, JSON.stringify({ ...rec, status: "created" }));
    await wipe(env.runRoot);

    const rt2 = await env.open();
    const pd2 = (await rt2.start("d")).pid!;
    expect(await alive(pd)).toBe(false);
    await sleep(1500);
    expect(await rt2.inspect("d")).toMatchObject({ status: "running", pid: pd2 });
    expect(await cgroupPids(env.cgroupParent, d.id)).toEqual([pd2]);
    await rt2.remove("d", { force: true });
  });

  it("another boot id in the root's record (a real reboot): exited with REBOOT_REASON, and restartable", async () => {
    const rt1 = await env.open();
    const v = await rt1.create(testSpec("victim", { command: ["sleep", "600"] }));
    await rt1.start("victim");
    await rt1.close();
    // A reboot: every process and mount is gone, the run-root is empty, and the kernel has another boot id.
    execFileSync("runc", ["--root", path.join(env.runRoot, "runc"), "delete", "--force", v.id]);
    await sleep(300);
    await env.fixture.snapshots.unmount(v.id);
    await wipe(env.runRoot);
    const bootFile = path.join(env.root, "containers", "boot-id");
    expect((await fs.readFile(bootFile, "utf8")).trim()).toBe((await fs.readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim());
    await fs.writeFile(bootFile, "00000000-0000-4000-8000-000000000000\n");

    const rt2 = await env.open();
    const s = await rt2.inspect("victim");
    expect(s).toMatchObject({ status: "exited", exitCode: 255, reason: REBOOT_REASON });
    const again = await rt2.start("victim");
    expect(again.status).toBe("running");
    await rt2.remove("victim", { force: true });
  });
});
