import { promises as fs } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConmonRuncRuntime } from "../../runtime/containers/runtime.js";
import type { ExecStream } from "../../runtime/types.js";
import { hostLacks } from "../helpers/host.js";
import { cgroupDirsOf, cleanupAndLeftovers, containerTestEnv, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");

/** Starts sleeps that escape the exec's process tree every way: background, double fork, new session, both. */
const ESCAPES = "sleep 301 & (sleep 302 &); (busybox setsid sleep 303 &); busybox setsid sleep 304 & sleep 300";
const MAIN = ["sh -c sleep 3600 & wait", "sleep 3600"];

/**
 * The real runtime's exec kills exactly its own processes (issue 8): on a timeout or an
 * abort every process the exec started is gone — also those reparented to the container's
 * init or in another session — and the exec's cgroup with them; a process left by an exec
 * that ended by itself keeps running (docker exec's behaviour), and goes with the container.
 */
describe.skipIf(lacks)("exec: the exec'd process tree", () => {
  let env: ContainerTestEnv;
  let rt: ConmonRuncRuntime;
  let id: string;

  beforeEach(async () => {
    env = await containerTestEnv();
    rt = await env.open();
    await rt.create(testSpec("tree", { command: ["sh", "-c", "sleep 3600 & wait"], resources: { pids: 64 } }));
    id = (await rt.start("tree")).id;
    await until("the main process", async () => (await processesOf()).length === MAIN.length);
  });

  afterEach(async () => {
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  async function until(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms}ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Every cgroup directory of the container (all hierarchies, sub-cgroups included). */
  async function cgroupTree(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      out.push(dir);
      for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await walk(`${dir}/${e.name}`);
    };
    for (const d of await cgroupDirsOf(`${env.cgroupParent}/${id}`)) await walk(d);
    return out;
  }

  /** argv of every live process in the container's cgroups. */
  async function processesOf(): Promise<string[]> {
    const pids = new Set<string>();
    for (const d of await cgroupTree()) for (const p of (await fs.readFile(`${d}/cgroup.procs`, "utf8").catch(() => "")).split("\n")) if (p) pids.add(p);
    const out: string[] = [];
    for (const p of pids) {
      const cmd = await fs.readFile(`/proc/${p}/cmdline`, "utf8").catch(() => "");
      if (cmd) out.push(cmd.split("\0").filter(Boolean).join(" "));
    }
    return out.sort();
  }

  const execDirs = async () => (await cgroupTree()).filter((d) => /\/exec-[a-f0-9]+$/.test(d));

  async function drain(s: ExecStream) {
    const text = async (r: AsyncIterable<Buffer>) => {
      let t = "";
      for await (const c of r) t += c;
      return t;
    };
    const [stdout, stderr] = await Promise.all([text(s.stdout), text(s.stderr)]);
    return { stdout, stderr, exit: await s.exit };
  }

  it("a timeout kills every process the exec started, however it left its parent", async () => {
    const t0 = Date.now();
    const r = await rt.exec("tree", { argv: ["sh", "-c", ESCAPES], timeoutMs: 700 });
    expect(r).toMatchObject({ exitCode: 137, timedOut: true });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await processesOf()).toEqual(MAIN);
    expect(await execDirs()).toEqual([]);
  });

  it("an abort kills them too, and so does the stream's", async () => {
    const ac = new AbortController();
    const buffered = rt.exec("tree", { argv: ["sh", "-c", ESCAPES], signal: ac.signal });
    await until("the sleeps", async () => (await processesOf()).filter((p) => /^sleep 30[0-4]$/.test(p)).length === 5);
    ac.abort();
    expect(await buffered).toMatchObject({ exitCode: 137, timedOut: false });
    expect(await processesOf()).toEqual(MAIN);

    const ac2 = new AbortController();
    const s = await rt.execStream("tree", { argv: ["sh", "-c", ESCAPES], signal: ac2.signal });
    const draining = drain(s);
    await until("the sleeps", async () => (await processesOf()).filter((p) => /^sleep 30[0-4]$/.test(p)).length === 5);
    ac2.abort();
    expect((await draining).exit).toEqual({ exitCode: 137, timedOut: false });
    expect(await processesOf()).toEqual(MAIN);
    expect(await execDirs()).toEqual([]);
  });

  it("a process left by an exec that ended by itself keeps running and goes with the container", async () => {
    const r = await rt.exec("tree", { argv: ["sh", "-c", "busybox setsid sleep 305 </dev/null >/dev/null 2>&1 & echo started"], timeoutMs: 5000 });
    expect(r).toEqual({ exitCode: 0, stdout: "started\n", stderr: "", timedOut: false });
    expect(await processesOf()).toEqual([...MAIN, "sleep 305"].sort());
    expect((await execDirs()).length).toBeGreaterThan(0);
    await rt.remove("tree", { force: true });
    expect(await cgroupTree()).toEqual([]);
  });

  it("the buffered exec of a command that cannot start: 127 or 126 and the reason on stderr, not runc's log line", async () => {
    expect(await rt.exec("tree", { argv: ["nosuch"] })).toEqual({
      exitCode: 127,
      stdout: "",
      stderr: 'exec: "nosuch": executable file not found in $PATH\n',
      timedOut: false,
    });
    expect(await rt.exec("tree", { argv: ["/etc/passwd"] })).toEqual({ exitCode: 126, stdout: "", stderr: 'exec: "/etc/passwd": permission denied\n', timedOut: false });
    expect(await rt.exec("tree", { argv: ["/no/such/dir/x"] })).toMatchObject({ exitCode: 127, stderr: expect.stringMatching(/^exec: "\/no\/such\/dir\/x": .*no such file or directory\n$/) });
    expect(await execDirs()).toEqual([]);
  });
});
