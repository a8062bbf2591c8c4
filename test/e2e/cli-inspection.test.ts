/**
 * `berth top`, `stats`, `inspect`, `info` and `version` end to end: the built CLI against a
 * real `berth daemon` child process and real runc. A bridge container with a 64 MiB limit and
 * an exec healthcheck; top sees a process started by exec (from the host's /proc, and through
 * the host's ps with options); stats --no-stream shows the limit and usage rising while a
 * process fills a tmpfs; inspect has the real pid, address, MAC and health log; info and
 * version report the real runc and conmon.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOf, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";
import { netLeftovers } from "../helpers/net-cleanup.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups", "iptables");

const MiB = 1024 * 1024;

describe.skipIf(lacking)("inspection commands against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let file: string;

  beforeAll(async () => {
    env = daemonEnv();
    daemon = await startCliDaemon(env);
    cli = cliOf(env);
    const box =
      `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: box}\nspec:\n  image: localhost/busybox:latest\n` +
      `  stopGracePeriod: 1s\n  command: [sh, -c, 'sleep 3600 & wait']\n` +
      `  env: [{name: MODE, value: test}]\n  resources: {memory: 64Mi, pids: 50}\n  healthcheck: {exec: [test, -d, /tmp], interval: 500ms}\n`;
    file = path.join(env.base, "box.yaml");
    writeFileSync(file, env.imageManifest + box);
    const applied = await cli(["apply", "-f", file]);
    expect(applied.code, applied.stderr).toBe(0);
    await untilCli("box running and healthy", () => cli(["get", "ctr", "box", "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.health === "healthy", 90_000);
  }, 120_000);

  afterAll(async () => {
    if (daemon && file) {
      await cli(["delete", "-f", file]);
      await until("the networks to go", async () => ((await netLeftovers(env.root)).length === 0 ? true : undefined), 30_000, 250).catch(() => {});
    }
    await stopAndCheckClean(daemon, env);
  }, 60_000);

  it("top lists a process started by exec, from /proc and through the host's ps with options", async () => {
    const exec = cli(["exec", "box", "--", "sleep", "4321"], { timeoutMs: 25_000 });
    let pid: string | undefined;
    try {
      const r = await untilCli("top to show sleep 4321", () => cli(["top", "box"]), (x) => x.code === 0 && x.stdout.includes("sleep 4321"), 20_000);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^PID\s+USER\s+TIME\s+CMD$/);
      const row = lines.find((l) => l.endsWith("sleep 4321"))!;
      const [p, user] = row.split(/\s+/);
      pid = p;
      expect(user).toBe("root");
      // the pid is a host pid of a process that is in the container's cgroup
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\u00004321\u0000");
      expect(lines.some((l) => l.includes("sleep 3600"))).toBe(true);

      const ps = await cli(["top", "box", "-o", "pid,comm,args"]);
      expect(ps.code, ps.stderr).toBe(0);
      const psLines = ps.stdout.trim().split("\n");
      expect(psLines[0]).toMatch(/^PID\s+COMMAND\s+COMMAND$/);
      expect(psLines.some((l) => l.startsWith(`${pid} `) && l.endsWith("sleep 4321"))).toBe(true);
      // only the container's processes: not this test's own
      expect(psLines.some((l) => l.startsWith(`${process.pid} `))).toBe(false);

      const bad = await cli(["top", "box", "-o", "user=PID"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('specifying "user=PID" is not allowed');
    } finally {
      if (pid) process.kill(Number(pid), "SIGKILL");
      await exec;
    }
  }, 60_000);

  it("stats --no-stream shows the memory limit, and usage rising under a load that fills memory", async () => {
    const sample = async () => {
      const r = await cli(["stats", "--no-stream", "--format", "json", "box"]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split("\n")[0]!) as { Name: string; MemUsage: string; Stats: { memory: { usageBytes: number; limitBytes: number; limited: boolean }; pids: { current: number; limit?: number }; cgroupVersion: number; network?: { rxBytes: number } } };
    };
    const before = await sample();
    expect(before.Name).toBe("box");
    expect(before.Stats.memory.limitBytes).toBe(64 * MiB);
    expect(before.Stats.memory.limited).toBe(true);
    expect(before.MemUsage).toMatch(/ \/ 64MiB$/);
    expect(before.Stats.pids.limit).toBe(50);
    expect(before.Stats.network).toBeDefined();
    // 24 MiB written into memory: the container's /dev/shm (tmpfs: shmem charged to its cgroup, not inactive file cache)
    const fill = await cli(["exec", "box", "--", "dd", "if=/dev/zero", "of=/dev/shm/blob", "bs=1M", "count=24"]);
    expect(fill.code, fill.stderr).toBe(0);
    const after = await sample();
    expect(after.Stats.memory.usageBytes - before.Stats.memory.usageBytes).toBeGreaterThan(20 * MiB);
    expect(after.Stats.memory.usageBytes).toBeLessThanOrEqual(64 * MiB);

    const table = await cli(["stats", "--no-stream", "box"]);
    expect(table.code, table.stderr).toBe(0);
    const [head, row] = table.stdout.trim().split("\n");
    expect(head).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(row).toMatch(/^[0-9a-f]{12}\s+box\s+\d+\.\d\d%\s+\S+ \/ 64MiB\s+\d+\.\d\d%/);
  }, 60_000);

  it("stats' API stream: NDJSON frames every interval, ended by count", async () => {
    const r = await cli(["stats", "box", "--format", "json"], { timeoutMs: 4_000 });
    // the stream runs until interrupted: killed by the timeout, it printed a frame a second
    expect(r.stdout.trim().split("\n").length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it("inspect: the real pid, address, MAC, health log, config and limits", async () => {
    const r = await cli(["inspect", "box"]);
    expect(r.code, r.stderr).toBe(0);
    const [c] = JSON.parse(r.stdout) as any[];
    const view = JSON.parse((await cli(["get", "ctr", "box", "-o", "json"])).stdout);
    expect(c.Name).toBe("/box");
    expect(c.State.Status).toBe("running");
    expect(c.State.Running).toBe(true);
    expect(c.State.Pid).toBe(view.status.pid);
    expect(readFileSync(`/proc/${c.State.Pid}/cmdline`, "utf8").split("\0")[0]).toBe("sh");
    expect(c.Path).toBe("sh");
    expect(c.Args[0]).toBe("-c");
    expect(c.State.Health.Status).toBe("healthy");
    expect(c.State.Health.FailingStreak).toBe(0);
    expect(c.State.Health.Log.length).toBeGreaterThan(0);
    expect(c.State.Health.Log.at(-1).ExitCode).toBe(0);
    expect(c.Config.Healthcheck).toEqual({ Test: ["CMD", "test", "-d", "/tmp"], Interval: 500_000_000, Timeout: 30_000_000_000, StartPeriod: 0, StartInterval: 5_000_000_000, Retries: 3 });
    expect(c.Config.Env).toContain("MODE=test");
    expect(c.HostConfig.Memory).toBe(64 * MiB);
    expect(c.HostConfig.PidsLimit).toBe(50);
    const nets = Object.entries(c.NetworkSettings.Networks) as [string, any][];
    expect(nets.length).toBe(1);
    const [netName, net] = nets[0]!;
    expect(`${net.IPAddress}/${net.IPPrefixLen}`).toBe(view.status.networks[0].address);
    expect(net.Gateway).toBe(view.status.networks[0].gateway);
    expect(net.MacAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    // the MAC eth0 has inside the container's namespace
    const inside = await cli(["exec", "box", "--", "cat", "/sys/class/net/eth0/address"]);
    expect(inside.stdout.trim()).toBe(net.MacAddress);
    expect(netName).toBe(view.status.networks[0].network);
    expect(c.NetworkSettings.SandboxKey).toMatch(/^\/run\/netns\/berth-/);

    const both = await cli(["inspect", "box", "localhost/busybox:latest", "nosuch"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("Error: No such object: nosuch");
    const items = JSON.parse(both.stdout) as any[];
    expect(items.length).toBe(2);
    expect(items[1].references).toContain("localhost/busybox:latest");
  }, 60_000);

  it("info and version report the real runc and conmon", async () => {
    const runc = /runc version (\S+)/.exec(execFileSync("runc", ["--version"], { encoding: "utf8" }))![1];
    const conmon = /conmon version (\S+)/.exec(execFileSync("conmon", ["--version"], { encoding: "utf8" }))![1];
    const info = await cli(["info", "-o", "json"]);
    expect(info.code, info.stderr).toBe(0);
    const i = JSON.parse(info.stdout);
    expect(i.runtime.runc.version).toBe(runc);
    expect(i.runtime.conmon.version).toBe(conmon);
    expect(i.counts).toMatchObject({ containers: 1, running: 1, stopped: 0 });
    expect(i.counts.images).toBeGreaterThanOrEqual(1);
    expect(i.storage.root).toBe(env.root);
    expect(i.storage.usage.imagesBytes).toBeGreaterThan(0);
    expect(i.host.cpus).toBeGreaterThan(0);
    expect(["1", "2"]).toContain(i.cgroup.version);
    const text = await cli(["info"]);
    expect(text.stdout).toContain(`runc: ${runc}`);

    const v = await cli(["version", "-o", "json"]);
    expect(v.code, v.stderr).toBe(0);
    const doc = JSON.parse(v.stdout);
    expect(doc.Server).toMatchObject({ runc, conmon, apiVersion: "v1", pid: daemon!.pid });
    expect(doc.Client.nodeVersion).toBe(process.version);

    const down = await cliOf({ ...env, runRoot: path.join(env.base, "no-daemon-here") } as DaemonEnv)(["version"]);
    expect(down.code).toBe(1);
    expect(down.stdout).toContain("Client:");
    expect(down.stderr).toContain("Is the berth daemon running?");
  }, 60_000);
});
