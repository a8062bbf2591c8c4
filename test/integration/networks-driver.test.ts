/**
 * The embedded network driver on the kernel (issue 9), without the firewall (a recording
 * stand-in: firewall rules have their own suite, networks-firewall.test.ts) and without a
 * resolver: a configured address pool is honoured, a bridge keeps its fixed MAC as ports come
 * and go, the state survives a new driver instance (same subnet and addresses, no second
 * bridge), and removing the network leaves no bridge, veth or reservation. Traffic: none.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bridgeMac } from "../../runtime/networks/bridge.js";
import { EmbeddedNetworkDriver, type FirewallPort } from "../../runtime/networks/driver.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root");

describe.skipIf(lacking)("the network driver on the kernel", () => {
  const root = mkdtempSync(path.join(tmpdir(), "berth-netdrv-"));
  const tag = randomBytes(3).toString("hex");
  const ns = [`berth-t-${tag}-a`, `berth-t-${tag}-b`];
  const many = Array.from({ length: 5 }, (_, i) => `berth-t-${tag}-m${i}`);
  const calls: string[] = [];
  const firewall: FirewallPort = {
    ensureBase: async () => void calls.push("ensureBase"),
    syncNetworks: async (n) => void calls.push(`sync ${n.map((x) => x.name).join(",")}`),
    setPorts: async (owner) => void calls.push(`ports ${owner}`),
  };
  const pools = [{ base: "10.213.64.0/18", size: 24 }];
  const open = () => EmbeddedNetworkDriver.open({ root, pools, firewall });
  const mac = (dev: string) => (JSON.parse(execFileSync("ip", ["-j", "link", "show", "dev", dev], { encoding: "utf8" })) as { address: string }[])[0]!.address;
  const links = () => (JSON.parse(execFileSync("ip", ["-j", "link", "show"], { encoding: "utf8" })) as { ifname: string }[]).map((l) => l.ifname);

  afterAll(() => {
    for (const n of [...ns, ...many]) {
      try {
        execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
      } catch {
        // not made (a test skipped or failed before)
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  it("carves from the configured pool, keeps the bridge's MAC, adopts its state, and removes everything", async () => {
    for (const n of ns) execFileSync("ip", ["netns", "add", n]);
    const d = await open();
    const net = await d.create({ name: `t${tag}`, internal: false, labels: {} });
    expect(net.subnet).toMatch(/^10\.213\.(6[4-9]|[7-9][0-9]|1[0-1][0-9]|12[0-7])\.0\/24$/);
    expect(mac(net.bridge)).toBe(bridgeMac(net.bridge));
    const a = await d.connect({ network: net.name, container: "a", netns: `/run/netns/${ns[0]}`, ifname: "eth0", names: ["a"], defaultRoute: true });
    const b = await d.connect({ network: net.name, container: "b", netns: `/run/netns/${ns[1]}`, ifname: "eth0", names: ["b"], defaultRoute: true });
    expect(a.address).not.toBe(b.address);
    expect(execFileSync("ip", ["-n", ns[0]!, "route"], { encoding: "utf8" })).toContain(`default via ${net.gateway} dev eth0`);
    // the bridge's MAC does not follow its ports
    await d.disconnect(net.name, "a");
    expect(mac(net.bridge)).toBe(bridgeMac(net.bridge));
    await d.close();

    // a new instance: the same network and address, connect is idempotent, no second bridge
    const d2 = await open();
    expect((await d2.inspect(net.name)).subnet).toBe(net.subnet);
    const again = await d2.connect({ network: net.name, container: "b", netns: `/run/netns/${ns[1]}`, ifname: "eth0", names: ["b"], defaultRoute: true });
    expect(again.address).toBe(b.address);
    expect(links().filter((l) => l === net.bridge)).toHaveLength(1);
    await expect(d2.remove(net.name)).rejects.toThrow(`remove network ${net.name}: containers are attached: b`);
    await d2.release("b");
    await d2.remove(net.name);
    expect(links()).not.toContain(net.bridge);
    expect(links()).not.toContain(b.hostIfname);
    expect(JSON.parse(readFileSync(path.join(root, "networks", "ipam.json"), "utf8")).networks).toEqual({});
    expect(calls.filter((c) => c.startsWith("sync")).at(-1)).toBe("sync ");
    await d2.close();
  });

  it("attaches containers side by side; a disconnect right behind its connect waits for it and leaves nothing", async () => {
    for (const n of many) execFileSync("ip", ["netns", "add", n]);
    const d = await open();
    const net = await d.create({ name: `p${tag}`, internal: false, labels: {} });
    const spec = (i: number) => ({ network: net.name, container: `m${i}`, netns: `/run/netns/${many[i]}`, ifname: "eth0", names: [`m${i}`], defaultRoute: true });
    const attached = await Promise.all([0, 1, 2, 3].map((i) => d.connect(spec(i))));
    expect(new Set(attached.map((a) => a.address)).size).toBe(4);
    for (const [i, a] of attached.entries()) {
      expect(links()).toContain(a.hostIfname);
      expect(execFileSync("ip", ["-n", many[i]!, "-4", "addr", "show", "dev", "eth0"], { encoding: "utf8" })).toContain(a.address);
    }
    // Not awaited: the disconnect is queued while the connect makes the link.
    const connecting = d.connect(spec(4));
    const disconnecting = d.disconnect(net.name, "m4");
    const made = await connecting;
    await disconnecting;
    expect(links()).not.toContain(made.hostIfname);
    expect((await d.attachments("m4")).length).toBe(0);
    expect(execFileSync("ip", ["-n", many[4]!, "link", "show"], { encoding: "utf8" })).not.toContain("eth0");
    for (const i of [0, 1, 2, 3]) await d.release(`m${i}`);
    await d.remove(net.name);
    for (const a of attached) expect(links()).not.toContain(a.hostIfname);
    expect(links()).not.toContain(net.bridge);
    await d.close();
  });

  it("creates networks side by side (distinct subnets and bridges); a remove right behind its create leaves nothing", async () => {
    const d = await open();
    const [x, y, z] = await Promise.all([`x${tag}`, `y${tag}`, `z${tag}`].map((name) => d.create({ name, internal: false, labels: {} })));
    expect(new Set([x!.subnet, y!.subnet, z!.subnet]).size).toBe(3);
    for (const n of [x!, y!, z!]) expect(links()).toContain(n.bridge);
    const creating = d.create({ name: `w${tag}`, internal: false, labels: {} });
    const removing = d.remove(`w${tag}`);
    const w = await creating;
    await removing;
    expect(links()).not.toContain(w.bridge);
    await expect(d.inspect(`w${tag}`)).rejects.toMatchObject({ kind: "NotFound" });
    for (const n of [x!, y!, z!]) await d.remove(n.name);
    for (const n of [x!, y!, z!]) expect(links()).not.toContain(n.bridge);
    expect(JSON.parse(readFileSync(path.join(root, "networks", "ipam.json"), "utf8")).networks).toEqual({});
    await d.close();
  });
});
