/**
 * A static address and the /etc files on the real kernel and runc: a container reserved at
 * `ipv4Address` has exactly that address on eth0; another container asking for it, or for
 * the gateway or an address outside the subnet, is refused; releasing the first frees it.
 * extraHosts and dns settings show up in the container's /etc/hosts and /etc/resolv.conf.
 * The network driver runs without a firewall (a recording stand-in) or resolver.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetworkDriver, type FirewallPort } from "../../runtime/networks/driver.js";
import { hostLacks, which } from "../helpers/host.js";
import { cleanupAndLeftovers, containerTestEnv, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox") ?? (which("ip") ? undefined : "needs iproute2 (apt-get install iproute2)");

describe.skipIf(lacks)("networks: a static ipv4Address, extraHosts and dns", () => {
  let env: ContainerTestEnv;
  let net: EmbeddedNetworkDriver;
  const firewall: FirewallPort = { ensureBase: async () => {}, syncNetworks: async () => {}, setPorts: async () => {} };
  const NAME = `st${Math.random().toString(16).slice(2, 8)}`;

  beforeEach(async () => {
    env = await containerTestEnv();
    net = await EmbeddedNetworkDriver.open({ root: env.root, firewall });
  });
  afterEach(async () => {
    await net.remove(NAME, { force: true }).catch(() => {});
    await net.close();
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  it("the container has exactly its static address; a taken, gateway or outside address is refused; release frees it", async () => {
    const n = await net.create({ name: NAME, subnet: "10.231.77.0/24", internal: true, labels: {} });
    expect(n.gateway).toBe("10.231.77.1");
    const r = await net.reserve(NAME, "web", { address: "10.231.77.10" });
    expect(r).toEqual({ address: "10.231.77.10", prefixLength: 24, gateway: "10.231.77.1" });
    await expect(net.reserve(NAME, "api", { address: "10.231.77.10" })).rejects.toMatchObject({ kind: "Conflict", message: expect.stringContaining("in use by web") });
    await expect(net.reserve(NAME, "api", { address: "10.231.77.1" })).rejects.toMatchObject({ kind: "Conflict", message: expect.stringContaining("gateway") });
    await expect(net.reserve(NAME, "api", { address: "10.231.78.5" })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("not in its subnet") });

    const rt = await env.open();
    const c = await rt.create(
      testSpec("web", {
        networkMode: "bridge",
        command: ["sleep", "3600"],
        hosts: [{ address: r.address, names: ["web"] }],
        extraHosts: [{ address: "10.9.0.2", names: ["db.example"] }, { address: r.gateway, names: ["host.docker.internal"] }],
        dns: { nameservers: [r.gateway], search: ["corp.example"], options: ["ndots:2"], upstreams: ["10.9.0.53"] },
      }),
    );
    const att = await net.connect({ network: NAME, container: "web", netns: c.netns!, ifname: "eth0", names: ["web"], defaultRoute: true, address: "10.231.77.10", upstreams: ["10.9.0.53"] });
    expect(att.address).toBe("10.231.77.10");
    await rt.start("web");
    const fib = await rt.exec("web", { argv: ["cat", "/proc/net/fib_trie"] });
    expect(fib.stdout).toMatch(/\|-- 10\.231\.77\.10\n\s+\/32 host LOCAL/);
    const hosts = (await rt.exec("web", { argv: ["cat", "/etc/hosts"] })).stdout;
    // its own line (the hostname, a short id here, first), then the extra hosts in order
    expect(hosts.split("\n").slice(-4)).toEqual([`10.231.77.10\t${c.id.slice(0, 12)} web`, "10.9.0.2\tdb.example", "10.231.77.1\thost.docker.internal", ""]);
    const resolv = (await rt.exec("web", { argv: ["cat", "/etc/resolv.conf"] })).stdout;
    expect(resolv).toBe("# berth: the resolvers of this container's networks\n# berth: other names are forwarded to 10.9.0.53\nnameserver 10.231.77.1\nsearch corp.example\noptions ndots:2\n");

    // the address goes with the container: then another may have it
    await rt.remove("web", { force: true });
    await net.release("web");
    expect((await net.reserve(NAME, "api", { address: "10.231.77.10" })).address).toBe("10.231.77.10");
    await net.release("api");
  });
});
