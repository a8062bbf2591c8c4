/**
 * Scenario 1, container start: create+start of one busybox `sleep 3600` until running, one
 * at a time, the contenders' rounds interleaved (round i of every contender, then i+1):
 *
 * - berth, bridge: the controller's sequence (controller/reconcilers/container/networking.ts
 *   and lifecycle.ts) through the runtime API — `networks.reserve`, `networks.publish`
 *   (127.0.0.1:<port>:80, before the create), `containers.create` (networkMode bridge, its
 *   resolv.conf and hosts), `networks.connect` (eth0, default route), `containers.start`;
 *   the network calls are also timed on their own;
 * - berth, `networkMode: none`: create + start;
 * - `runc run -d` on a prepared bundle (bench/runtime/runc.ts): the floor;
 * - `docker run -d --network <bridge> -p 127.0.0.1:<port>:80` against a private dockerd
 *   (test/helpers/dockerd.ts: it runs with --iptables=false, so -p is docker-proxy alone,
 *   without the DNAT rules a default dockerd adds — docker's figure is a lower bound), and
 *   `--network none`;
 * - `podman run -d --network <bridge> -p …` (netavark, its own bridge and chains; see
 *   podman-bridge.ts).
 */
import { type Runtime } from "../../runtime/index.js";
import { testSpec } from "../../runtime/testing/create-spec.js";
import { startPrivateDockerd, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { errText } from "../proc.js";
import { IMAGE, PATH_ENV, withTimeout } from "../runtime/helpers.js";
import { runcContender } from "../runtime/runc.js";
import { now, ratio, round, summarize, type Summary } from "../stats.js";
import type { NetEnv } from "./env.js";
import { PORTS, SUBNETS, type NetworkBenchOptions } from "./options.js";
import { podmanBridgeStarter } from "./podman-bridge.js";

export const NET = "btbnet";

export interface Started {
  handle: string;
  /** The network part of the start (berth bridge: reserve + publish + connect). */
  networkMs?: number;
}

export interface Starter {
  name: string;
  version: string;
  /** Untimed, before startOne (runc bundles). */
  prepare?(name: string): Promise<void>;
  startOne(name: string, round: number): Promise<Started>;
  remove(handle: string, name: string): Promise<void>;
  close(): Promise<void>;
}

export interface StartRow {
  name: string;
  version?: string;
  skipped?: string;
  start?: Summary;
  network?: Summary;
}

function berthSpec(name: string, over: Parameters<typeof testSpec>[1]) {
  return testSpec(name, { image: IMAGE, labels: { "berth.bench": "network" }, command: ["sleep", "3600"], ...over });
}

/** berth through the runtime API: bridge (the controller's sequence) or none. */
export function berthStarter(rt: Runtime, env: NetEnv, mode: "bridge" | "none", version: string, portOf = (i: number) => PORTS.berthStart + (i % 50)): Starter {
  return {
    name: mode === "bridge" ? "berth bridge + -p (runtime API)" : "berth networkMode none",
    version,
    async startOne(name, i) {
      const t = env.timeoutMs;
      if (mode === "none") {
        const c = await withTimeout(rt.containers.create(berthSpec(name, { networkMode: "none" })), t, `create ${name}`);
        env.ids.add(c.id);
        await withTimeout(rt.containers.start(c.id), t, `start ${name}`);
        return { handle: c.id };
      }
      const t0 = now();
      const r = await withTimeout(rt.networks.reserve(NET, name), t, `reserve ${name}`);
      await withTimeout(rt.networks.publish(name, [{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: portOf(i), containerPort: 80 }], NET), t, `publish ${name}`);
      const t1 = now();
      const c = await withTimeout(
        rt.containers.create(berthSpec(name, { networkMode: "bridge", dns: { nameservers: [r.gateway], search: [], options: ["ndots:0"] }, hosts: [{ address: r.address, names: [name] }] })),
        t,
        `create ${name}`,
      );
      env.ids.add(c.id);
      const t2 = now();
      await withTimeout(rt.networks.connect({ network: NET, container: name, netns: c.netns!, ifname: "eth0", names: [name], defaultRoute: true }), t, `connect ${name}`);
      env.attachments.push([rt.root, name, NET]);
      const t3 = now();
      await withTimeout(rt.containers.start(c.id), t, `start ${name}`);
      return { handle: c.id, networkMs: t1 - t0 + (t3 - t2) };
    },
    async remove(id, name) {
      await withTimeout(rt.containers.remove(id, { force: true }), env.timeoutMs, `remove ${name}`);
      if (mode === "bridge") await withTimeout(rt.networks.release(name), env.timeoutMs, `release ${name}`);
    },
    close: async () => {},
  };
}

async function runcStarter(env: NetEnv): Promise<Starter> {
  const c = await runcContender(env, "run");
  return {
    name: c.name,
    version: c.version,
    prepare: (name) => c.prepare!([name]),
    startOne: async (name) => ({ handle: await c.startOne(name) }),
    remove: (h) => c.removeAll([h]),
    close: () => c.close(),
  };
}

/** A private dockerd with a user-defined bridge network of this bench's (own bridge name and subnet). */
export async function openDocker(env: NetEnv): Promise<PrivateDockerd> {
  const d = await startPrivateDockerd();
  try {
    await d.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTar, IMAGE], { timeoutMs: env.timeoutMs });
    await d.mustDocker(["network", "create", "--driver", "bridge", "--subnet", SUBNETS.docker, "-o", "com.docker.network.bridge.name=btbdk0", NET], { timeoutMs: env.timeoutMs });
    return d;
  } catch (err) {
    await closeDocker(d);
    throw err;
  }
}

/** Removes the bench's containers and network, stops dockerd, and the bridge if it stayed. */
export async function closeDocker(d: PrivateDockerd): Promise<void> {
  const ids = (await d.docker(["ps", "-aq"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
  if (ids.length) await d.docker(["rm", "-f", ...ids], { timeoutMs: 120_000 });
  await d.docker(["network", "rm", NET], { timeoutMs: 30_000 });
  await d.stop();
  const { runProcess } = await import("../../test/helpers/dockerd.js");
  if ((await runProcess("ip", ["link", "show", "btbdk0"], { timeoutMs: 10_000 })).code === 0) await runProcess("ip", ["link", "del", "btbdk0"], { timeoutMs: 10_000 });
}

function dockerStarter(d: PrivateDockerd, env: NetEnv, mode: "bridge" | "none"): Starter {
  return {
    name: mode === "bridge" ? "docker run -d --network bridge -p" : "docker run -d --network none",
    version: `dockerd ${d.version}`,
    async startOne(_name, i) {
      const net = mode === "bridge" ? ["--network", NET, "-p", `127.0.0.1:${PORTS.dockerStart + (i % 50)}:80`] : ["--network", "none"];
      return { handle: (await d.mustDocker(["run", "-d", ...net, IMAGE, "sleep", "3600"], { timeoutMs: env.timeoutMs })).trim() };
    },
    remove: async (h) => void (await d.mustDocker(["rm", "-f", h], { timeoutMs: env.timeoutMs })),
    close: async () => {},
  };
}

/** Runs the start rounds; `rt` has network NET already. Returns the rows and the ratios. */
export async function benchStart(rt: Runtime, env: NetEnv, o: NetworkBenchOptions, berthVersion: string) {
  const rows: StartRow[] = [];
  const active: { s: Starter; row: StartRow; starts: number[]; nets: number[] }[] = [];
  const closers: (() => Promise<void>)[] = [];
  let docker: PrivateDockerd | undefined;
  const setups: [string, () => Promise<Starter[]>][] = [
    ["runc run -d (floor)", async () => [await runcStarter(env)]],
    ["berth", async () => [berthStarter(rt, env, "bridge", berthVersion), berthStarter(rt, env, "none", berthVersion)]],
    [
      "docker",
      async () => {
        docker = await openDocker(env);
        return [dockerStarter(docker, env, "bridge"), dockerStarter(docker, env, "none")];
      },
    ],
    ["podman run -d --network bridge -p", async () => [await podmanBridgeStarter(env, PORTS.podmanStart)]],
  ];
  try {
    for (const [label, setup] of setups) {
      let made: Starter[];
      try {
        made = await setup();
      } catch (err) {
        rows.push({ name: label, skipped: errText(err) });
        continue;
      }
      for (const s of made) {
        closers.push(() => s.close());
        const row: StartRow = { name: s.name, version: s.version };
        rows.push(row);
        try {
          // Warm-up: one start and remove, untimed.
          await s.prepare?.("w0");
          const w = await s.startOne("w0", 49);
          await s.remove(w.handle, "w0");
          active.push({ s, row, starts: [], nets: [] });
        } catch (err) {
          row.skipped = `warm-up failed: ${errText(err)}`;
        }
      }
    }
    for (let i = 0; i < o.startRounds; i++) {
      for (const a of active) {
        if (a.row.skipped) continue;
        const name = `s${i}`;
        try {
          await a.s.prepare?.(name);
          const t0 = now();
          const r = await a.s.startOne(name, i);
          a.starts.push(now() - t0);
          if (r.networkMs !== undefined) a.nets.push(r.networkMs);
          await a.s.remove(r.handle, name);
        } catch (err) {
          a.row.skipped = `round ${i} failed: ${errText(err)}`;
        }
      }
    }
    for (const a of active) {
      if (a.starts.length) a.row.start = summarize(a.starts);
      if (a.nets.length) a.row.network = summarize(a.nets);
    }
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    if (docker) await closeDocker(docker).catch(() => {});
  }
  const med = (n: string) => rows.find((r) => r.name.startsWith(n))?.start?.medianMs ?? null;
  const bridge = med("berth bridge");
  return {
    rows,
    ratios: {
      berthBridgeVsDocker: ratio(bridge, med("docker run -d --network bridge")),
      berthBridgeVsPodman: ratio(bridge, med("podman")),
      berthBridgeVsRunc: ratio(bridge, med("runc")),
      berthBridgeVsBerthNone: ratio(bridge, med("berth networkMode none")),
      berthNoneVsDockerNone: ratio(med("berth networkMode none"), med("docker run -d --network none")),
      bridgeOverheadMs: bridge !== null && med("berth networkMode none") !== null ? round(bridge - med("berth networkMode none")!) : null,
      networkPartShare: ratio(rows.find((r) => r.name.startsWith("berth bridge"))?.network?.medianMs, bridge),
      goal: "berth bridge / docker -p ≤ 0.5",
    },
  };
}
