import { promises as fs } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostLacks } from "../helpers/host.js";
import { cleanupAndLeftovers, containerTestEnv, mountsUnder, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";
import type { ConmonRuncRuntime } from "../../runtime/containers/runtime.js";
import type { LogLine, RuntimeEvent } from "../../runtime/types.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");

async function collect(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

async function waitExited(rt: ConmonRuncRuntime, name: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await rt.inspect(name);
    if (s.status === "exited") return s;
    if (Date.now() > deadline) throw new Error(`${name} did not exit: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(lacks)("containers: lifecycle through conmon + runc", () => {
  let env: ContainerTestEnv;
  let rt: ConmonRuncRuntime;

  beforeEach(async () => {
    env = await containerTestEnv();
    rt = await env.open();
  });

  afterEach(async () => {
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  it("runs a command, logs its stdout and reports exit code 0", async () => {
    const created = await rt.create(testSpec("hello", { command: ["sh", "-c", "echo hello; echo oops >&2"] }));
    expect(created.status).toBe("created");
    const started = await rt.start("hello");
    expect(started.pid).toBeGreaterThan(0);
    const s = await waitExited(rt, "hello");
    expect(s.exitCode).toBe(0);
    expect(s.oomKilled).toBe(false);
    // An exited container's rootfs is unmounted (start mounts it again).
    expect(await mountsUnder(path.join(env.fixture.snapshots.dir, s.id))).toEqual([]);
    const lines = await collect(rt.logs("hello"));
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "hello"],
      ["stderr", "oops"],
    ]);
    await rt.remove("hello");
    await expect(rt.inspect("hello")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("reports exit codes 1 and 137 and emits events", async () => {
    const ac = new AbortController();
    const events: RuntimeEvent[] = [];
    const done = (async () => {
      for await (const e of rt.events(ac.signal)) events.push(e);
    })();
    await rt.create(testSpec("fail", { command: ["false"] }));
    await rt.start("fail");
    expect((await waitExited(rt, "fail")).exitCode).toBe(1);
    await rt.create(testSpec("sleeper", { command: ["sleep", "60"] }));
    await rt.start("sleeper");
    await rt.kill("sleeper", "KILL");
    expect((await waitExited(rt, "sleeper")).exitCode).toBe(137);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await done;
    const exits = events.filter((e) => e.type === "exited").map((e) => [e.name, (e as { exitCode: number }).exitCode]);
    expect(exits).toEqual(expect.arrayContaining([["fail", 1], ["sleeper", 137]]));
    expect(events.filter((e) => e.type === "started").length).toBe(2);
  });

  it("SIGKILLs a process that ignores the stop signal after its grace period", async () => {
    await rt.create(testSpec("stubborn", { command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"] }));
    await rt.start("stubborn");
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const s = await rt.stop("stubborn", { graceMs: 1500 });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(10_000);
    expect(s.status).toBe("exited");
    expect(s.exitCode).toBe(137);
  });

  it("stops a process that handles SIGTERM without waiting for the grace period", async () => {
    await rt.create(testSpec("polite", { command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"], stopGracePeriodMs: 20_000 }));
    await rt.start("polite");
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const s = await rt.stop("polite");
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.exitCode).toBe(0);
    expect((await collect(rt.logs("polite"))).map((l) => l.text)).toContain("bye");
    // Stopping again is a no-op; a stopped container can be started again.
    expect((await rt.stop("polite")).status).toBe("exited");
    const again = await rt.start("polite");
    expect(again.status).toBe("running");
    await rt.remove("polite", { force: true });
  });

  it("hides host files: the rootfs is the image's", async () => {
    const hostOnly = path.join(env.base, "host-only-file");
    await fs.writeFile(hostOnly, "secret");
    await rt.create(testSpec("jail", { command: ["sh", "-c", `if test -e ${hostOnly} || test -e /work; then echo visible; else echo hidden; fi; ls /sys/class/net`] }));
    await rt.start("jail");
    expect((await waitExited(rt, "jail")).exitCode).toBe(0);
    const out = (await collect(rt.logs("jail"))).map((l) => l.text);
    expect(out[0]).toBe("hidden");
    // networkMode none: a new network namespace with only lo.
    expect(out.slice(1)).toEqual(["lo"]);
  });

  it("OOM-kills a container over its memory limit and reports oomKilled", async () => {
    await rt.create(
      testSpec("hog", { command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"], resources: { memoryBytes: 16 * 1024 * 1024 } }),
    );
    await rt.start("hog");
    const s = await waitExited(rt, "hog");
    expect(s.exitCode).toBe(137);
    expect(s.oomKilled).toBe(true);
  });

  it("holds a pids limit", async () => {
    const st = await rt.create(
      testSpec("forky", {
        // The inner shell forks until the limit stops it (ash then exits); init survives
        // without forking (exec) so the cgroup can be inspected.
        command: ["sh", "-c", "sh -c 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done'; echo spawned; exec sleep 30"],
        resources: { pids: 10 },
      }),
    );
    await rt.start("forky");
    let current = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const text = await fs.readFile(`/sys/fs/cgroup/pids/${env.cgroupParent}/${st.id}/pids.current`, "utf8").catch(() => "0");
      current = Number(text.trim());
      if ((await collect(rt.logs("forky"))).some((l) => l.text === "spawned")) break;
    }
    expect(current).toBeGreaterThan(1);
    expect(current).toBeLessThanOrEqual(10);
    const max = Number((await fs.readFile(`/sys/fs/cgroup/pids/${env.cgroupParent}/${st.id}/pids.max`, "utf8")).trim());
    expect(max).toBe(10);
    expect((await collect(rt.logs("forky"))).some((l) => l.stream === "stderr" && /fork/i.test(l.text))).toBe(true);
    await rt.remove("forky", { force: true });
  });

  it("makes the rootfs read-only with readOnlyRootfs, tmpfs mounts stay writable", async () => {
    await rt.create(
      testSpec("ro", {
        command: ["sh", "-c", "touch /x 2>/dev/null && echo rootfs-writable || echo rootfs-ro; touch /scratch/y && echo tmpfs-writable"],
        readOnlyRootfs: true,
        mounts: [{ type: "tmpfs", target: "/scratch", readOnly: false, sizeBytes: 1024 * 1024 }],
      }),
    );
    await rt.start("ro");
    await waitExited(rt, "ro");
    expect((await collect(rt.logs("ro"))).map((l) => l.text)).toEqual(["rootfs-ro", "tmpfs-writable"]);
  });

  it("capDrop removes a capability (chown fails without CAP_CHOWN)", async () => {
    const cmd = ["sh", "-c", "touch /tmp/f && chown 1000 /tmp/f && echo chowned || echo denied"];
    await rt.create(testSpec("caps-default", { command: cmd }));
    await rt.create(testSpec("caps-dropped", { command: cmd, capDrop: ["chown"] }));
    await rt.start("caps-default");
    await rt.start("caps-dropped");
    await waitExited(rt, "caps-default");
    await waitExited(rt, "caps-dropped");
    expect((await collect(rt.logs("caps-default"))).map((l) => l.text)).toContain("chowned");
    expect((await collect(rt.logs("caps-dropped"))).map((l) => l.text)).toContain("denied");
  });

  it("execs: output, exit code, env, user, and a timeout that kills the process", async () => {
    await rt.create(testSpec("svc", { command: ["sleep", "60"], env: { GREETING: "hi" } }));
    await rt.start("svc");
    const r = await rt.exec("svc", { argv: ["sh", "-c", "echo $GREETING $EXTRA; echo err >&2; exit 3"], env: { EXTRA: "there" } });
    expect(r).toMatchObject({ exitCode: 3, stdout: "hi there\n", stderr: "err\n", timedOut: false });
    const who = await rt.exec("svc", { argv: ["id"], user: "app" });
    expect(who.stdout).toMatch(/^uid=1000\(app\) gid=1000\(app\) groups=50\(staff\),1000\(app\)$/m);
    const capped = await rt.exec("svc", { argv: ["sh", "-c", "yes | head -c 100000"], maxOutputBytes: 1000 });
    expect(capped.stdout.length).toBe(1000);
    const t0 = Date.now();
    const slow = await rt.exec("svc", { argv: ["sleep", "30"], timeoutMs: 500 });
    expect(slow.timedOut).toBe(true);
    expect(slow.exitCode).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const ps = await rt.exec("svc", { argv: ["ps", "-o", "args"] });
    expect(ps.stdout).not.toContain("sleep 30");
    await expect(rt.exec("svc", { argv: [] })).rejects.toMatchObject({ kind: "InvalidArgument" });
    await rt.stop("svc", { graceMs: 0 });
    await expect(rt.exec("svc", { argv: ["true"] })).rejects.toMatchObject({ kind: "FailedPrecondition" });
  });

  it("resolves user names from the rootfs's /etc/passwd", async () => {
    await rt.create(testSpec("as-app", { command: ["sh", "-c", "id -u; id -g; echo $HOME; pwd"], user: "app", workingDir: "/work/dir" }));
    await rt.create(testSpec("as-num", { command: ["id", "-u"], user: "4242" }));
    await expect(rt.create(testSpec("as-ghost", { command: ["id"], user: "ghost" }))).resolves.toBeDefined();
    await rt.start("as-app");
    await rt.start("as-num");
    await expect(rt.start("as-ghost")).rejects.toMatchObject({ kind: "InvalidArgument" });
    await waitExited(rt, "as-app");
    await waitExited(rt, "as-num");
    expect((await collect(rt.logs("as-app"))).map((l) => l.text)).toEqual(["1000", "1000", "/home/app", "/work/dir"]);
    expect((await collect(rt.logs("as-num"))).map((l) => l.text)).toEqual(["4242"]);
  });

  it("keeps named volume data across container recreation; read-only mounts are read-only", async () => {
    const spec = (name: string, cmd: string) =>
      testSpec(name, { command: ["sh", "-c", cmd], mounts: [{ type: "volume", source: "data", target: "/data", readOnly: false }] });
    await rt.create(spec("writer", "echo persisted > /data/file"));
    await rt.start("writer");
    expect((await waitExited(rt, "writer")).exitCode).toBe(0);
    await expect(env.volumes.remove("data")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await rt.remove("writer");
    expect(await env.volumes.users("data")).toEqual([]);

    const hostDir = path.join(env.base, "bind-src");
    await fs.mkdir(hostDir);
    await fs.writeFile(path.join(hostDir, "f"), "from-host\n");
    await rt.create(
      testSpec("reader", {
        command: ["sh", "-c", "cat /data/file /host/f; touch /data/x 2>/dev/null && echo vol-rw || echo vol-ro; touch /host/x 2>/dev/null && echo bind-rw || echo bind-ro"],
        mounts: [
          { type: "volume", source: "data", target: "/data", readOnly: true },
          { type: "bind", source: hostDir, target: "/host", readOnly: true },
        ],
      }),
    );
    await rt.start("reader");
    await waitExited(rt, "reader");
    expect((await collect(rt.logs("reader"))).map((l) => l.text)).toEqual(["persisted", "from-host", "vol-ro", "bind-ro"]);
    await rt.remove("reader");
    await env.volumes.remove("data");
  });

  it("refuses bind mounts of berth's own state", async () => {
    await fs.symlink(env.root, path.join(env.base, "sneaky"));
    for (const source of [env.root, path.join(env.runRoot, "exits"), path.join(env.base, "sneaky")]) {
      const name = `bind-${Math.random().toString(16).slice(2, 8)}`;
      await rt.create(testSpec(name, { command: ["true"], mounts: [{ type: "bind", source, target: "/x", readOnly: true }] }));
      await expect(rt.start(name)).rejects.toMatchObject({ kind: "InvalidArgument" });
      await rt.remove(name);
    }
  });

  it("enforces names, states and the command", async () => {
    await rt.create(testSpec("dup", { command: ["sleep", "60"] }));
    await expect(rt.create(testSpec("dup", { command: ["true"] }))).rejects.toMatchObject({ kind: "AlreadyExists" });
    await expect(rt.create(testSpec("Bad_Name", { command: ["true"] }))).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(rt.create(testSpec("nocmd", { command: [], args: [] }))).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(rt.create(testSpec("noimg", { image: "nope:1" }))).rejects.toMatchObject({ kind: "NotFound" });
    await rt.start("dup");
    expect((await rt.start("dup")).status).toBe("running");
    await expect(rt.remove("dup")).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await rt.remove("dup", { force: true });
    await rt.remove("dup", { force: true });
    await expect(rt.remove("dup")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("lists by labels", async () => {
    await rt.create(testSpec("a1", { command: ["true"], labels: { stack: "a", role: "web" } }));
    await rt.create(testSpec("a2", { command: ["true"], labels: { stack: "a", role: "db" } }));
    await rt.create(testSpec("b1", { command: ["true"], labels: { stack: "b" } }));
    expect((await rt.list({ stack: "a" })).map((s) => s.name).sort()).toEqual(["a1", "a2"]);
    expect((await rt.list({ stack: "a", role: "db" })).map((s) => s.name)).toEqual(["a2"]);
    expect((await rt.list()).length).toBe(3);
  });

  it("follows logs until the container exits, with tail and since", async () => {
    await rt.create(testSpec("ticker", { command: ["sh", "-c", "for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done"] }));
    await rt.start("ticker");
    const followed = await collect(rt.logs("ticker", { follow: true }));
    expect(followed.map((l) => l.text)).toEqual(["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"]);
    expect((await collect(rt.logs("ticker", { tail: 2 }))).map((l) => l.text)).toEqual(["tick 4", "tick 5"]);
    expect(await collect(rt.logs("ticker", { since: Date.now() + 60_000 }))).toEqual([]);
  });

  it("caps and rotates logs, keeping the previous generation", async () => {
    const small = await env.open({ logSizeMax: 4096 });
    // ~80 records fit in 4 KiB: conmon rotates about every 1.6 s here, far apart from the
    // 200 ms poll that keeps the previous generation (k8s-log.ts: only two rotations between
    // two polls lose one), so a loaded machine does not make the tail skip a generation.
    await small.create(testSpec("chatty", { command: ["sh", "-c", "i=0; while [ $i -lt 240 ]; do echo line-$i; i=$((i+1)); sleep 0.02; done"] }));
    await small.start("chatty");
    await waitExited(small, "chatty", 30_000);
    const lines = await collect(small.logs("chatty"));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[lines.length - 1]!.text).toBe("line-239");
    expect(Number(lines[0]!.text.slice(5))).toBeGreaterThan(0); // rotated: the start is gone
    const st = await small.inspect("chatty");
    const dir = path.join(env.root, "containers", st.id);
    expect((await fs.stat(path.join(dir, "ctr.log"))).size).toBeLessThanOrEqual(4096);
    expect((await fs.stat(path.join(dir, "ctr.log.1"))).size).toBeLessThanOrEqual(4096);
    // Consecutive: what is kept is an unbroken tail of the output.
    const nums = lines.map((l) => Number(l.text.slice(5)));
    expect(nums).toEqual(nums.map((_, i) => nums[0]! + i));
  });

  it("sets hostname and /etc files; host network mode shares the host's interfaces", async () => {
    await rt.create(testSpec("named", { hostname: "box1", command: ["sh", "-c", "hostname; cat /etc/hostname; grep -c box1 /etc/hosts; grep -c ^nameserver /etc/resolv.conf"] }));
    await rt.create(testSpec("hostnet", { networkMode: "host", command: ["ls", "/sys/class/net"] }));
    await rt.start("named");
    await rt.start("hostnet");
    await waitExited(rt, "named");
    await waitExited(rt, "hostnet");
    expect((await collect(rt.logs("named"))).map((l) => l.text)).toEqual(["box1", "box1", "1", "0"]);
    const ifaces = (await collect(rt.logs("hostnet"))).map((l) => l.text);
    expect(ifaces.join(" ").split(/\s+/).filter(Boolean).sort()).toEqual((await fs.readdir("/sys/class/net")).sort());
  });
});
