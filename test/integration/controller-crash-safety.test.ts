import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../../controller/api/client.js";
import type { Daemon } from "../../controller/daemon.js";
import { listQuarantinedRecords } from "../../runtime/containers/quarantine.js";
import { daemonEnv, files, startTestDaemon, status, until, untilContainer, type DaemonEnv } from "../helpers/daemon.js";
import { pidsMentioning } from "../helpers/dockerd.js";
import { hostLacks } from "../helpers/host.js";
import { cgroupPids, killEverythingOf, wipe } from "./crash-safety-helpers.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ctr = (name: string) =>
  `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: ${name}}\nspec:\n  image: localhost/busybox:latest\n  command: [sleep, '3600']\n  networkMode: none\n  restartPolicy: always\n  stopGracePeriod: 1s\n`;

function runcState(env: DaemonEnv): { id: string; pid: number; status: string }[] {
  const out = execFileSync("runc", ["--root", path.join(env.runRoot, "runc"), "list", "--format", "json"], { encoding: "utf8" });
  return (JSON.parse(out || "[]") ?? []) as { id: string; pid: number; status: string }[];
}

/** Live conmon monitors of container `id` (their argv names it). */
async function conmonsOf(id: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await pidsMentioning(`-c\0${id}`)) {
    const comm = (await fs.readFile(`/proc/${p}/comm`, "utf8").catch(() => "")).trim();
    if (comm === "conmon") out.push(p);
  }
  return out;
}

/**
 * The daemon on the real runtime after the two kinds of damage of issue 8: a corrupt
 * container record, and a run-root emptied while containers run. After a restart the
 * controller converges with exactly one copy of each container, and delete really removes.
 */
describe.skipIf(lacking)("controller: crash safety across a daemon restart", () => {
  let env: DaemonEnv;
  let daemon: Daemon | undefined;

  beforeEach(() => {
    env = daemonEnv();
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    await killEverythingOf(env.base, env.cgroupParent);
    await env.cleanup();
  });

  async function applyAndRun(names: string[]): Promise<Map<string, { id: string; pid: number }>> {
    daemon = await startTestDaemon(env);
    const client = new ApiClient(daemon.socketPath);
    await client.apply({ stack: "s", files: files(env.imageManifest + names.map(ctr).join("")) });
    const out = new Map<string, { id: string; pid: number }>();
    for (const n of names) {
      const v = status(await untilContainer(client, n, "running", (s) => s.phase === "Running"));
      out.set(n, { id: v.containerId!, pid: v.pid! });
    }
    return out;
  }

  it("a corrupt record: after a restart the container runs again, one copy, and delete removes it from runc", async () => {
    const before = (await applyAndRun(["web"])).get("web")!;
    await daemon!.stop();
    daemon = undefined;
    await fs.writeFile(path.join(env.root, "containers", before.id, "container.json"), '{"version": 1, "id": "');

    daemon = await startTestDaemon(env);
    const client = new ApiClient(daemon.socketPath);
    const v = status(await untilContainer(client, "web", "running", (s) => s.phase === "Running"));
    await sleep(2500); // resyncs later, still one copy
    const after = status(await client.get("Container", "web"));
    expect(after).toMatchObject({ phase: "Running", containerId: v.containerId, pid: v.pid });
    expect(runcState(env).filter((c) => c.status === "running")).toHaveLength(1);
    // By design the container is adopted: the run's config names its spec, runc its pid.
    expect(after).toMatchObject({ containerId: before.id, pid: before.pid, restartCount: 0 });
    expect(await conmonsOf(before.id)).toHaveLength(1);
    expect((await listQuarantinedRecords(env.root)).map((q) => q.id)).toEqual([before.id]);

    await client.delete("Container", "web");
    await until("web removed from runc", async () => (runcState(env).length === 0 ? true : undefined), 20_000);
    await until("web's record removed", async () => ((await fs.stat(path.join(env.root, "containers", before.id)).catch(() => undefined)) ? undefined : true));
    expect(await cgroupPids(env.cgroupParent, before.id)).toEqual([]);
  });

  it("a wiped run-root: after a restart exactly the 2 containers, same pids, one conmon each, and an old exit file never kills them", async () => {
    const before = await applyAndRun(["a", "b"]);
    await daemon!.stop();
    daemon = undefined;
    await wipe(env.runRoot);

    daemon = await startTestDaemon(env);
    const client = new ApiClient(daemon.socketPath);
    for (const n of ["a", "b"]) await untilContainer(client, n, "running", (s) => s.phase === "Running");
    await sleep(3000); // several resyncs and exit polls
    for (const [n, b] of before) {
      expect(status(await client.get("Container", n)), n).toMatchObject({ phase: "Running", containerId: b.id, pid: b.pid, restartCount: 0 });
      expect(await cgroupPids(env.cgroupParent, b.id), `${n}: one process in its cgroup`).toEqual([b.pid]);
      expect(await conmonsOf(b.id), `${n}: one conmon`).toHaveLength(1);
    }
    expect(runcState(env).map((c) => [c.id, c.pid, c.status]).sort()).toEqual([...before.values()].map((b) => [b.id, b.pid, "running"]).sort());

    // A stop and start through the API works on an adopted container.
    await client.act("a", "restart");
    const a2 = status(await untilContainer(client, "a", "running again", (s) => s.phase === "Running" && s.pid !== before.get("a")!.pid));
    await sleep(2000);
    expect(status(await client.get("Container", "a"))).toMatchObject({ phase: "Running", pid: a2.pid });
    expect(await cgroupPids(env.cgroupParent, before.get("a")!.id)).toEqual([a2.pid]);

    for (const n of ["a", "b"]) await client.delete("Container", n);
    await until("both removed from runc", async () => (runcState(env).length === 0 ? true : undefined), 20_000);
  });
});
