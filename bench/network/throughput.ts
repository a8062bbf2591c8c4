/**
 * Scenario 3, throughput: a bounded transfer from a node client on the host, through
 * (a) a published port (127.0.0.1:<port> → DNAT → bridge → veth → the container),
 * (b) the container's address directly (bridge → veth, no DNAT), and
 * (c) straight loopback to a node listener on 127.0.0.1 in the host (the reference).
 * The container runs `nc -ll -p 80 -e /sink` (busybox; /sink is `wc -c`): each connection's
 * bytes are counted and the count is sent back, so a transfer ends when the receiver has
 * every byte (the count is checked). The host listener does the same in node.
 */
import * as net from "node:net";
import type { Runtime } from "../../runtime/index.js";
import { errText } from "../proc.js";
import { now, ratio, round, sleep } from "../stats.js";
import type { NetEnv } from "./env.js";
import { PORTS, type NetworkBenchOptions } from "./options.js";
import { testSpec } from "../../runtime/testing/create-spec.js";
import { IMAGE } from "../runtime/helpers.js";
import { berthStarter, NET } from "./start.js";

/** Sends `bytes` zeros to host:port, half-closes, resolves with the elapsed ms once the receiver's count arrives and matches. */
function transfer(host: string, port: number, bytes: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.alloc(1 << 20);
    const t0 = now();
    let reply = "";
    const s = net.connect(port, host, () => {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          const n = Math.min(buf.length, bytes - sent);
          sent += n;
          if (!s.write(n === buf.length ? buf : buf.subarray(0, n))) return void s.once("drain", pump);
        }
        s.end();
      };
      pump();
    });
    const timer = setTimeout(() => s.destroy(new Error(`transfer to ${host}:${port}: no end within ${timeoutMs}ms`)), timeoutMs);
    s.on("data", (d) => (reply += d.toString()));
    s.on("error", (e) => (clearTimeout(timer), reject(e)));
    s.on("close", () => {
      clearTimeout(timer);
      const ms = now() - t0;
      if (Number(reply.trim()) !== bytes) reject(new Error(`transfer to ${host}:${port}: receiver counted ${JSON.stringify(reply.trim())} of ${bytes} bytes`));
      else resolve(ms);
    });
  });
}

/** A host listener on 127.0.0.1 that counts a connection's bytes and answers with the count. */
function hostSink(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => {
      let n = 0;
      s.on("data", (d) => (n += d.length));
      s.on("end", () => s.end(`${n}\n`));
      s.on("error", () => {});
    });
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

/** Until a zero-byte transfer is counted (the listener runs), bounded. */
async function waitListening(host: string, port: number, budgetMs: number): Promise<void> {
  const end = now() + budgetMs;
  for (let i = 0; i < 200; i++) {
    try {
      await transfer(host, port, 0, 2000);
      return;
    } catch (err) {
      if (now() > end) throw new Error(`${host}:${port} does not answer: ${errText(err)}`);
      await sleep(50);
    }
  }
}

export async function benchThroughput(rt: Runtime, env: NetEnv, o: NetworkBenchOptions, version: string) {
  const starter = berthStarter(rt, env, "bridge", version);
  const name = "sink";
  const srv = await hostSink(PORTS.sinkLoopback);
  let handle: string | undefined;
  try {
    handle = (await startSink(rt, env, name)).id;
    const address = (await rt.networks.attachments(name))[0]!.address;
    await waitListening("127.0.0.1", PORTS.sinkPublished, 10_000);
    await waitListening(address, 80, 10_000);
    const paths = [
      { key: "loopback", label: "host loopback (node listener on 127.0.0.1)", host: "127.0.0.1", port: PORTS.sinkLoopback },
      { key: "published", label: "published port 127.0.0.1 → DNAT → container", host: "127.0.0.1", port: PORTS.sinkPublished },
      { key: "direct", label: "container address (bridge, no DNAT)", host: address, port: 80 },
    ];
    const samples: Record<string, number[]> = {};
    const errors: Record<string, string> = {};
    // Interleaved: rep r of every path, then r+1.
    for (let r = 0; r < o.transferReps; r++) {
      for (const p of paths) {
        if (errors[p.key]) continue;
        try {
          const ms = await transfer(p.host, p.port, o.transferBytes, 120_000);
          (samples[p.key] ??= []).push(o.transferBytes / 1e6 / (ms / 1000));
        } catch (err) {
          errors[p.key] = errText(err);
        }
      }
    }
    const mbps = (k: string) => {
      const xs = [...(samples[k] ?? [])].sort((a, b) => a - b);
      return xs.length ? round(xs[Math.floor(xs.length / 2)]!, 0) : null;
    };
    return {
      bytes: o.transferBytes,
      reps: o.transferReps,
      rows: paths.map((p) => ({ path: p.label, key: p.key, medianMBps: mbps(p.key), samplesMBps: (samples[p.key] ?? []).map((x) => round(x, 0)), ...(errors[p.key] ? { error: errors[p.key] } : {}) })),
      publishedVsLoopback: ratio(mbps("published"), mbps("loopback")),
      directVsLoopback: ratio(mbps("direct"), mbps("loopback")),
      receiver: "container: busybox nc -ll -e 'wc -c'; host: node",
    };
  } finally {
    srv.close();
    if (handle) await starter.remove(handle, name).catch(() => {});
  }
}

/** The controller's sequence (as berthStarter) for the receiver container, on NET with PORTS.sinkPublished. */
async function startSink(rt: Runtime, env: NetEnv, name: string) {
  const r = await rt.networks.reserve(NET, name);
  await rt.networks.publish(name, [{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: PORTS.sinkPublished, containerPort: 80 }], NET);
  const c = await rt.containers.create(
    testSpec(name, { image: IMAGE, labels: { "berth.bench": "network" }, command: ["nc", "-ll", "-p", "80", "-e", "/sink"], networkMode: "bridge", dns: { nameservers: [r.gateway], search: [], options: ["ndots:0"] }, hosts: [{ address: r.address, names: [name] }] }),
  );
  env.ids.add(c.id);
  env.attachments.push([rt.root, name, NET]);
  await rt.networks.connect({ network: NET, container: name, netns: c.netns!, ifname: "eth0", names: [name], defaultRoute: true });
  await rt.containers.start(c.id);
  return c;
}
