/**
 * The network namespace of a `networkMode: none` container (runtime/containers/netns.ts):
 * made by its first run and bound to /run/netns/berth-<id> while `runc start` runs, joined by
 * every later run and by containers sharing it, restored from the running process when a
 * crash came between the run and the binding, and gone with the container. Real runc,
 * conmon and namespaces; every namespace this test makes is its containers' own.
 */
import { execFileSync } from "node:child_process";
import { existsSync, promises as fs, statSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostLacks } from "../helpers/host.js";
import { until } from "../helpers/daemon.js";
import { cleanupAndLeftovers, containerTestEnv, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";
import type { LogLine } from "../../runtime/types.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");

/** The namespace inode a process runs in, and the one bound at a path. */
const nsOfPid = (pid: number) => statSync(`/proc/${pid}/ns/net`).ino;
const boundAt = (p: string) => (existsSync(p) && statSync(p).dev !== statSync("/run/netns").dev ? statSync(p).ino : undefined);

async function collect(it: AsyncIterable<LogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l.text);
  return out;
}

describe.skipIf(lacks)("containers: the network namespace of networkMode none", () => {
  let env: ContainerTestEnv;

  beforeEach(async () => {
    env = await containerTestEnv();
  });

  afterEach(async () => {
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  it("is made by the first run with lo up, bound to its path, joined again by the next run, and removed with the container", async () => {
    const rt = await env.open();
    // /sys/class/net/lo/flags: 0x9 is IFF_UP | IFF_LOOPBACK
    const created = await rt.create(testSpec("alone", { command: ["sh", "-c", "cat /sys/class/net/lo/flags; ls /sys/class/net; exec sleep 3600"] }));
    const p = created.netns!;
    expect(p).toMatch(/^\/run\/netns\/berth-[0-9a-f]{16}$/);
    expect(existsSync(p)).toBe(false); // nothing is made before the run
    const first = await rt.start("alone");
    expect(boundAt(p)).toBe(nsOfPid(first.pid!));
    expect(nsOfPid(first.pid!)).not.toBe(nsOfPid(process.pid));
    await until("the first run's output", async () => ((await collect(rt.logs("alone"))).length >= 2 ? true : undefined), 5000, 50);
    expect(await collect(rt.logs("alone"))).toEqual(["0x9", "lo"]);

    await rt.stop("alone", { stopSignal: "SIGKILL" });
    const ns = boundAt(p);
    expect(ns).toBeDefined(); // kept while it is down
    const second = await rt.start("alone");
    expect(second.pid).not.toBe(first.pid);
    expect(nsOfPid(second.pid!)).toBe(ns);

    await rt.remove("alone", { force: true });
    expect(existsSync(p)).toBe(false);
  });

  it("an empty file left at the path by a cut-short binding is replaced by the run's namespace", async () => {
    const rt = await env.open();
    const created = await rt.create(testSpec("leftover", { command: ["sleep", "3600"] }));
    writeFileSync(created.netns!, ""); // what `ip netns attach` killed before its mount leaves
    const started = await rt.start("leftover");
    expect(boundAt(created.netns!)).toBe(nsOfPid(started.pid!));
    await rt.remove("leftover", { force: true });
    expect(existsSync(created.netns!)).toBe(false);
  });

  it("a crash between the run and the binding: the next instance binds the running process's namespace, and a container sharing it joins that one", async () => {
    const rt1 = await env.open();
    const created = await rt1.create(testSpec("first", { command: ["sleep", "3600"] }));
    const started = await rt1.start("first");
    await rt1.close();
    // as if the binding never happened
    execFileSync("umount", [created.netns!]);
    await fs.rm(created.netns!);
    expect(boundAt(created.netns!)).toBeUndefined();

    const rt2 = await env.open();
    expect(boundAt(created.netns!)).toBe(nsOfPid(started.pid!));
    expect((await rt2.inspect("first")).pid).toBe(started.pid);

    // and a sharer of an unbound namespace binds it first, then joins it
    execFileSync("umount", [created.netns!]);
    await fs.rm(created.netns!);
    await rt2.create(testSpec("sharer", { command: ["sleep", "3600"], networkMode: `container:${created.id}` }));
    const sharer = await rt2.start("sharer");
    expect(nsOfPid(sharer.pid!)).toBe(nsOfPid(started.pid!));
    expect(boundAt(created.netns!)).toBe(nsOfPid(started.pid!));

    await rt2.remove("sharer", { force: true });
    await rt2.remove("first", { force: true });
    expect(existsSync(created.netns!)).toBe(false);
  });
});
