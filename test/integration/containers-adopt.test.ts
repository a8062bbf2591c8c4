import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostLacks } from "../helpers/host.js";
import { cleanupAndLeftovers, containerTestEnv, runcIds, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";
import type { LogLine, RuntimeEvent } from "../../runtime/types.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(lacks)("containers: survive the runtime that started them", () => {
  let env: ContainerTestEnv;

  beforeEach(async () => {
    env = await containerTestEnv();
  });

  afterEach(async () => {
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  it("a new instance adopts a running container: same id and pid, logs continue, stop works", async () => {
    const rt1 = await env.open();
    const created = await rt1.create(testSpec("web", { command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"] }));
    const started = await rt1.start("web");
    await sleep(300);
    // conmon is detached: not our child, in its own session, so it outlives this process.
    const rec = JSON.parse(await fs.readFile(path.join(env.root, "containers", created.id, "container.json"), "utf8")) as { conmonPid: number };
    const stat = await fs.readFile(`/proc/${rec.conmonPid}/stat`, "utf8");
    const [, ppid, , sid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    expect(ppid).not.toBe(process.pid);
    expect(sid).toBe(rec.conmonPid);
    await rt1.close();
    await expect(rt1.inspect("web")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    // No runtime instance now: the container keeps running under conmon.
    await sleep(300);
    expect(await processAlive(started.pid!)).toBe(true);

    const rt2 = await env.open();
    const adopted = await rt2.inspect("web");
    expect(adopted).toMatchObject({ id: created.id, status: "running", pid: started.pid });
    const before = (await collect(rt2.logs("web"))).length;
    await sleep(400);
    const after = await collect(rt2.logs("web"));
    expect(after.length).toBeGreaterThan(before);
    const ticks = after.map((l) => Number(l.text.split(" ")[1]));
    expect(ticks).toEqual(ticks.map((_, i) => i)); // nothing lost across the hand-over

    const ac = new AbortController();
    const events: RuntimeEvent[] = [];
    const done = (async () => {
      for await (const e of rt2.events(ac.signal)) events.push(e);
    })();
    const stopped = await rt2.stop("web", { graceMs: 500 });
    expect(stopped.status).toBe("exited");
    expect(stopped.exitCode).toBe(137); // sh as pid 1 ignores SIGTERM without a trap
    await sleep(100);
    ac.abort();
    await done;
    expect(events).toContainEqual(expect.objectContaining({ type: "exited", id: created.id, exitCode: 137 }));
  });

  it("learns the exit code of a container that exited while no instance was running", async () => {
    const rt1 = await env.open();
    await rt1.create(testSpec("job", { command: ["sh", "-c", "sleep 0.5; echo done; exit 7"] }));
    await rt1.start("job");
    await rt1.close();
    await sleep(1500);
    const rt2 = await env.open();
    const s = await rt2.inspect("job");
    expect(s).toMatchObject({ status: "exited", exitCode: 7, oomKilled: false });
    expect(s.reason).toBeUndefined();
    expect((await collect(rt2.logs("job"))).map((l) => l.text)).toEqual(["done"]);
    // The exit settled runc's state: the container can run again.
    expect(await runcIds(env.runRoot)).toEqual([]);
    await rt2.start("job");
    const deadline = Date.now() + 10_000;
    while ((await rt2.inspect("job")).status === "running" && Date.now() < deadline) await sleep(50);
    expect((await rt2.inspect("job")).exitCode).toBe(7);
  });

  it("the watcher reports an exit that happens while the instance runs (events, no inspect)", async () => {
    const rt = await env.open();
    const ac = new AbortController();
    const got = (async () => {
      for await (const e of rt.events(ac.signal)) if (e.type === "exited") return e;
      return undefined;
    })();
    await rt.create(testSpec("brief", { command: ["sh", "-c", "sleep 0.3; exit 5"] }));
    await rt.start("brief");
    const e = await Promise.race([got, sleep(10_000).then(() => undefined)]);
    ac.abort();
    expect(e).toMatchObject({ type: "exited", name: "brief", exitCode: 5, oomKilled: false });
  });

  it("after a (simulated) reboot, containers that were running are reported exited with a reason", async () => {
    const rt1 = await env.open();
    const st = await rt1.create(testSpec("victim", { command: ["sleep", "600"] }));
    await rt1.start("victim");
    await rt1.close();
    // "Reboot": every process and mount is gone, the tmpfs run-root is empty.
    const runcRoot = path.join(env.runRoot, "runc");
    const { execFileSync } = await import("node:child_process");
    execFileSync("runc", ["--root", runcRoot, "delete", "--force", st.id]);
    await sleep(300);
    await env.fixture.snapshots.unmount(st.id);
    await fs.rm(env.runRoot, { recursive: true, force: true });

    const rt2 = await env.open();
    const s = await rt2.inspect("victim");
    expect(s.status).toBe("exited");
    expect(s.reason).toMatch(/reboot|run-root/);
    expect(s.pid).toBeUndefined();
    // It can be started again: the rootfs is mounted again from the kept layer.
    const again = await rt2.start("victim");
    expect(again.status).toBe("running");
    expect(again.reason).toBeUndefined();
    await rt2.remove("victim", { force: true });
  });
});
