import { promises as fs } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../controller/api/client.js";
import type { Daemon } from "../../controller/daemon.js";
import { daemonEnv, files, startTestDaemon, status, until, untilContainer, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";
import { cgroupDirsOf } from "../helpers/rootfs.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

/**
 * Issue 8: a timed-out exec health probe must not leave its children behind in the
 * container. Each probe starts sleeps that outlive it in every way a process can escape
 * its parent: a background child, a double fork (reparented to the container's init), a
 * new session (another process group) and a daemon that does both; the 1s timeout kills
 * the probe. After ~6 probes the container's cgroup holds only its main process, and its
 * pids count says so too. The main process reaps what is reparented to it (a shell waiting):
 * a killed orphan of a pid 1 that never reaps stays a zombie and keeps its pid charged, as
 * in Docker without `--init`.
 */
describe.skipIf(lacking)("timed-out health probes leave no processes behind", () => {
  let env: DaemonEnv;
  let daemon: Daemon;
  let client: ApiClient;

  beforeAll(async () => {
    env = daemonEnv();
    daemon = await startTestDaemon(env);
    client = new ApiClient(daemon.socketPath);
  });
  afterAll(async () => {
    await daemon?.stop();
    await env?.cleanup();
  });

  const PROBE = "sleep 301 & (sleep 302 &); (setsid sleep 303 &); setsid sleep 304 & sleep 300; true";
  const container = (healthcheck: string) =>
    `${env.imageManifest}---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: prober}\nspec:\n` +
    `  image: localhost/busybox:latest\n  networkMode: none\n  stopGracePeriod: 1s\n  command: [sh, -c, 'sleep 3600 & wait']\n` +
    `  resources: {pids: 40}\n  onUnhealthy: none\n${healthcheck}`;

  /** argv of every process in the container's cgroup (and its sub-cgroups), in every hierarchy. */
  async function processesOf(containerId: string): Promise<string[]> {
    const pids = new Set<number>();
    const walk = async (dir: string): Promise<void> => {
      const text = await fs.readFile(`${dir}/cgroup.procs`, "utf8").catch(() => "");
      for (const p of text.split("\n").filter(Boolean)) pids.add(Number(p));
      for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await walk(`${dir}/${e.name}`);
    };
    for (const d of await cgroupDirsOf(`${env.cgroupParent}/${containerId}`)) await walk(d);
    const out: string[] = [];
    for (const p of pids) {
      const cmd = await fs.readFile(`/proc/${p}/cmdline`, "utf8").catch(() => undefined);
      if (cmd) out.push(cmd.split("\0").filter(Boolean).join(" "));
    }
    return out.sort();
  }

  /** pids.current of the container's cgroup (zombies included), where a pids controller is mounted. */
  async function pidsCharged(containerId: string): Promise<number | undefined> {
    for (const d of await cgroupDirsOf(`${env.cgroupParent}/${containerId}`)) {
      const text = await fs.readFile(`${d}/pids.current`, "utf8").catch(() => undefined);
      if (text !== undefined) return Number(text.trim());
    }
    return undefined;
  }

  it("kills every descendant of a timed-out probe: after 6 probes only the main process is left", async () => {
    const check = `  healthcheck: {shell: ${JSON.stringify(PROBE)}, interval: 1s, timeout: 1s, retries: 100}\n`;
    expect((await client.apply({ stack: "probe", files: files(container(check)) })).diagnostics).toEqual([]);
    const running = await untilContainer(client, "prober", "running", (s) => s.phase === "Running");
    const id = status(running).containerId!;
    expect(id).toMatch(/^[a-f0-9]{64}$/);

    const starts = new Set<string>();
    await until(
      "6 probes",
      async () => {
        for (const r of status(await client.get("Container", "prober")).healthResults ?? []) starts.add(r.start);
        return starts.size >= 6 ? true : undefined;
      },
      60_000,
      200,
    );
    const results = status(await client.get("Container", "prober")).healthResults ?? [];
    expect(results.every((r) => r.result === "failure" && /exceeded timeout/.test(r.output)), JSON.stringify(results)).toBe(true);

    // A probe may be running now (its sleeps are legitimately there): at most one probe's worth.
    const during = (await processesOf(id)).filter((p) => /^sleep 30[0-4]$/.test(p));
    expect(during.length, during.join(", ")).toBeLessThanOrEqual(5);
    expect(new Set(during).size, during.join(", ")).toBe(during.length);

    // Stop probing (the healthcheck is live: the container is not recreated); an in-flight
    // probe is aborted, which kills it too.
    await client.apply({ stack: "probe", files: files(container("")) });
    await untilContainer(client, "prober", "without a healthcheck", (s) => s.health === "none");
    const main = ["sh -c sleep 3600 & wait", "sleep 3600"];
    await until("only the main process", async () => ((await processesOf(id)).length === main.length ? true : undefined), 5_000).catch(() => {});
    expect(await processesOf(id)).toEqual(main);
    const charged = await pidsCharged(id);
    if (charged !== undefined) expect(charged).toBe(main.length);
    expect(status(await client.get("Container", "prober"))).toMatchObject({ phase: "Running", containerId: id, restartCount: 0 });
  });
});
