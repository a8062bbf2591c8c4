/**
 * A bridge and veth attachments on the real kernel (issue 9, first step): two network
 * namespaces made by this test join a bridge made by this test, with addresses from the
 * address manager, and reach each other and the gateway. Traffic stays inside them.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach, detach, ensureBridge, gatewayCidr, removeBridge } from "../../runtime/networks/bridge.js";
import { parseCidr } from "../../runtime/networks/cidr.js";
import { Ipam } from "../../runtime/networks/ipam.js";
import { hostLacks, which } from "../helpers/host.js";

const lacking = hostLacks("root", "busybox") ?? (which("ip") ? undefined : "needs iproute2 (apt-get install iproute2)");

describe.skipIf(lacking)("bridge networks on the kernel", () => {
  const tag = randomBytes(4).toString("hex");
  const bridge = `bt${tag}`;
  const ns = [`berth-t-${tag}-a`, `berth-t-${tag}-b`];
  const hostIfs = [`bv${tag}a`, `bv${tag}b`];
  let dir: string;
  let ipam: Ipam;

  const hostRoutes = () =>
    (JSON.parse(execFileSync("ip", ["-j", "route", "show"], { encoding: "utf8" })) as { dst: string }[])
      .map((r) => r.dst)
      .filter((d) => d !== "default")
      .map((d) => parseCidr(d.includes("/") ? d : `${d}/32`));
  const ping = (from: string, to: string) => {
    try {
      execFileSync("ip", ["netns", "exec", from, "busybox", "ping", "-c", "1", "-W", "2", to], { stdio: "pipe", timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "berth-net-"));
    ipam = await Ipam.open(path.join(dir, "ipam.json"), { pools: [{ base: "10.250.0.0/16", size: 24 }], reserved: hostRoutes });
    for (const n of ns) execFileSync("ip", ["netns", "add", n]);
  });
  afterAll(async () => {
    for (const h of hostIfs) await detach(h).catch(() => {});
    await removeBridge(bridge).catch(() => {});
    for (const n of ns) {
      try {
        execFileSync("ip", ["netns", "del", n]);
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("two namespaces on one bridge reach each other and the gateway; detaching cuts them off", async () => {
    const net = await ipam.allocateNetwork("front");
    const prefix = net.subnet.split("/")[1];
    await ensureBridge(bridge, gatewayCidr(net.subnet, net.gateway));
    await ensureBridge(bridge, gatewayCidr(net.subnet, net.gateway)); // idempotent
    const addrs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const a = await ipam.allocateAddress("front", `container/${ns[i]}`);
      addrs.push(a);
      await attach(bridge, `/run/netns/${ns[i]}`, { ifname: "eth0", hostIfname: hostIfs[i]!, address: `${a}/${prefix}`, gateway: net.gateway });
    }
    // attaching again (a retried reconcile) replaces the pair, with the same result
    await attach(bridge, `/run/netns/${ns[1]}`, { ifname: "eth0", hostIfname: hostIfs[1]!, address: `${addrs[1]}/${prefix}`, gateway: net.gateway });
    const route = execFileSync("ip", ["-n", ns[0]!, "route", "show", "default"], { encoding: "utf8" });
    expect(route).toContain(`default via ${net.gateway} dev eth0`);
    expect(ping(ns[0]!, addrs[1]!)).toBe(true);
    expect(ping(ns[1]!, addrs[0]!)).toBe(true);
    expect(ping(ns[0]!, net.gateway)).toBe(true);
    await detach(hostIfs[1]!);
    await detach(hostIfs[1]!); // idempotent
    expect(ping(ns[0]!, addrs[1]!)).toBe(false);
  });

  it("refuses bad names and addresses before running anything", async () => {
    await expect(ensureBridge("a-name-that-is-too-long", "10.0.0.1/24")).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(ensureBridge(bridge, "10.0.0.1")).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(attach(bridge, "relative/path", { ifname: "eth0", hostIfname: "bvx", address: "10.0.0.2/24" })).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(attach(bridge, "/run/netns/x", { ifname: "eth0;rm", hostIfname: "bvx", address: "10.0.0.2/24" })).rejects.toMatchObject({ kind: "InvalidArgument" });
  });
});
