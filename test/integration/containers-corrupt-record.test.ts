import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listQuarantinedRecords } from "../../runtime/containers/quarantine.js";
import { hostLacks } from "../helpers/host.js";
import { cleanupAndLeftovers, containerTestEnv, mountsUnder, runcIds, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";
import { alive, killEverythingOf, wipe } from "./crash-safety-helpers.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A corrupt container record (truncated, wrong-shaped, empty) no longer wedges its name: it
 * is quarantined with its bytes, and the container is rebuilt from what the host still has
 * (the run's OCI config, runc's state, conmon's files) or, where nothing is left to rebuild
 * it from, removed from the host. By design:
 * - a running container (its run's OCI config carries the record's fixed part) is adopted:
 *   same id and pid, and stop/exec/remove work on it;
 * - a container runc no longer knows, whose run's config survives: rebuilt as exited;
 * - a container never started (no OCI config anywhere): removed (layer, name, volumes).
 */
describe.skipIf(lacks)("containers: a corrupt record is quarantined, the container rebuilt or removed", () => {
  let env: ContainerTestEnv;

  beforeEach(async () => {
    env = await containerTestEnv();
  });

  afterEach(async () => {
    await killEverythingOf(env.base, env.cgroupParent);
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  const recordFile = (id: string) => path.join(env.root, "containers", id, "container.json");

  async function quarantined(id: string) {
    const q = (await listQuarantinedRecords(env.root)).filter((e) => e.id === id);
    return Promise.all(q.map(async (e) => ({ ...e, bytes: await fs.readFile(path.join(e.path, "container.json"), "utf8") })));
  }

  const corruptions: [string, (good: string) => string][] = [
    ["truncated", (good) => good.slice(0, Math.floor(good.length / 2))],
    ["wrong-shaped", () => '{"id": 3}'],
    ["empty", () => ""],
  ];

  it.each(corruptions)("%s record of a running container: adopted on reopen, bytes quarantined, every operation works", async (_what, corrupt) => {
    const rt1 = await env.open();
    const created = await rt1.create(testSpec("web", { labels: { app: "web" }, command: ["sleep", "600"] }));
    const started = await rt1.start("web");
    await rt1.close();
    const bad = corrupt(await fs.readFile(recordFile(created.id), "utf8"));
    await fs.writeFile(recordFile(created.id), bad);

    const rt2 = await env.open();
    const listed = await rt2.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: created.id, name: "web", labels: { app: "web" }, status: "running", pid: started.pid });
    expect(await rt2.inspect("web")).toMatchObject({ id: created.id, status: "running", pid: started.pid, createdAt: created.createdAt });
    expect(await rt2.list({ app: "web" })).toHaveLength(1);
    const q = await quarantined(created.id);
    expect(q).toHaveLength(1);
    expect(q[0]!.bytes).toBe(bad);
    expect(q[0]!.problem).toBeTruthy();
    // The rebuilt record is a good one again.
    expect(JSON.parse(await fs.readFile(recordFile(created.id), "utf8"))).toMatchObject({ id: created.id, name: "web", status: "running" });

    const ex = await rt2.exec("web", { argv: ["echo", "still here"] });
    expect(ex).toMatchObject({ exitCode: 0, stdout: "still here\n" });
    const stopped = await rt2.stop("web", { graceMs: 200 });
    expect(stopped).toMatchObject({ status: "exited" });
    expect((await rt2.start("web")).status).toBe("running");
    await rt2.remove("web", { force: true });
    await expect(rt2.inspect("web")).rejects.toMatchObject({ kind: "NotFound" });
    expect(await runcIds(env.runRoot)).toEqual([]);
  });

  it("a record corrupted while the runtime is open is repaired by the next lookup (no exception escapes)", async () => {
    const rt = await env.open();
    const created = await rt.create(testSpec("live", { command: ["sleep", "600"] }));
    const started = await rt.start("live");
    await fs.writeFile(recordFile(created.id), '{"version": 1, "id": "');
    expect(await rt.inspect("live")).toMatchObject({ id: created.id, status: "running", pid: started.pid });
    expect(await quarantined(created.id)).toHaveLength(1);
    await rt.remove("live", { force: true });
  });

  it("a record whose runc container is gone: quarantined, rebuilt as exited (its exit code from conmon's file), and startable", async () => {
    const rt1 = await env.open();
    const created = await rt1.create(testSpec("gone", { command: ["sleep", "600"] }));
    await rt1.start("gone");
    await rt1.close();
    execFileSync("runc", ["--root", path.join(env.runRoot, "runc"), "delete", "--force", created.id]);
    await sleep(300); // conmon writes its exit file and ends
    await fs.writeFile(recordFile(created.id), "{");

    const rt2 = await env.open();
    const s = await rt2.inspect("gone");
    // runc delete --force SIGKILLed it; conmon's exit file says so.
    expect(s).toMatchObject({ id: created.id, status: "exited", exitCode: 137 });
    expect(s.pid).toBeUndefined();
    expect(await quarantined(created.id)).toHaveLength(1);
    expect(await runcIds(env.runRoot)).toEqual([]);
    expect((await rt2.start("gone")).status).toBe("running");
    await rt2.remove("gone", { force: true });
  });

  it("a record of a container never started (nothing to rebuild it from): removed from the host, the name free again", async () => {
    const rt1 = await env.open();
    const created = await rt1.create(testSpec("never", { command: ["sleep", "600"], mounts: [{ type: "volume", source: "data", target: "/data", readOnly: false }] }));
    expect(await env.volumes.users("data")).toEqual([created.id]);
    await rt1.close();
    await fs.writeFile(recordFile(created.id), '{"id": 3}');

    const rt2 = await env.open();
    expect(await rt2.list()).toEqual([]);
    await expect(rt2.inspect("never")).rejects.toMatchObject({ kind: "NotFound" });
    expect(await quarantined(created.id)).toHaveLength(1);
    expect(await fs.stat(path.join(env.root, "containers", created.id)).catch(() => undefined)).toBeUndefined();
    expect(await fs.stat(path.join(env.fixture.snapshots.dir, created.id)).catch(() => undefined)).toBeUndefined();
    expect(await env.volumes.users("data")).toEqual([]);
    const again = await rt2.create(testSpec("never", { command: ["sleep", "600"] }));
    expect(again.id).not.toBe(created.id);
    await rt2.remove("never", { force: true });
  });

  it("a running container whose record and run-root are both lost: removed from the host, never left running unmanaged", async () => {
    const rt1 = await env.open();
    const created = await rt1.create(testSpec("orphan", { command: ["sleep", "600"] }));
    const started = await rt1.start("orphan");
    await rt1.close();
    await fs.writeFile(recordFile(created.id), "");
    // The run's copy in the root is gone too: nothing names the container's spec any more.
    await fs.rm(path.join(env.root, "containers", created.id, "run"), { recursive: true, force: true });
    await wipe(env.runRoot);

    const rt2 = await env.open();
    expect(await rt2.list()).toEqual([]);
    await expect(rt2.inspect("orphan")).rejects.toMatchObject({ kind: "NotFound" });
    expect(await alive(started.pid!)).toBe(false);
    expect(await quarantined(created.id)).toHaveLength(1);
    expect(await mountsUnder(env.base)).toEqual([]);
  });
});
