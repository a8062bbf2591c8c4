/**
 * The firewall of bridge networks and published ports on the real kernel (issue 9), with
 * real iptables (nf_tables) — entirely inside network namespaces this test makes:
 * - "h" plays the berth host: two bridges (networks A and B), ip_forward, the Firewall's
 *   iptables/sysctl/conntrack all run here (nsenter), plus a few foreign rules and a
 *   DOCKER-USER-style chain berth must leave alone;
 * - "c1" on A and "c2" on B run a TCP+UDP echo server that answers "<port> <peer address>";
 * - "r" is a remote host routed through h (a /30 veth), with its own echo server.
 * The root namespace's rules, sysctls and interfaces are never touched; every namespace is
 * deleted afterwards (and the test asserts none is left).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandRunner, Firewall, type FirewallRun, type PortRule } from "../../runtime/networks/firewall.js";
import { ownerChain, PREFIX, type FirewallNetwork } from "../../runtime/networks/firewall-rules.js";
import { hostLacks, which } from "../helpers/host.js";

const lacking = hostLacks("root", "iptables", "conntrack") ?? (which("ip") && which("nsenter") ? undefined : "needs iproute2 and nsenter");
const execFileP = promisify(execFile);

const SERVER = `
const net = require("node:net"), dgram = require("node:dgram");
const ports = process.argv.slice(1).map(Number);
let n = 0;
const ready = () => { if (++n === ports.length * 2) console.log("ready"); };
for (const p of ports) {
  net.createServer((s) => s.end(p + " " + s.remoteAddress.replace(/^::ffff:/, "") + "\\n")).listen(p, "0.0.0.0", ready);
  const u = dgram.createSocket("udp4");
  u.on("message", (m, r) => u.send(p + " " + r.address + "\\n", r.port, r.address));
  u.bind(p, "0.0.0.0", ready);
}`;

// Prints the reply, "ERR <code>" or "TIMEOUT" (after 2.5 s) and exits.
const CLIENT = `
const [proto, host, port, sport] = process.argv.slice(1);
const done = (s) => { process.stdout.write(s); process.exit(0); };
setTimeout(() => done("TIMEOUT"), 2500);
if (proto === "tcp") {
  const c = require("node:net").connect({ host, port: +port });
  let d = "";
  c.on("data", (x) => (d += x));
  c.on("end", () => done(d.trim()));
  c.on("error", (e) => done("ERR " + e.code));
} else {
  const u = require("node:dgram").createSocket("udp4");
  u.on("error", (e) => done("ERR " + e.code));
  u.on("message", (m) => done(String(m).trim()));
  const send = () => u.send("hi", +port, host);
  if (sport) u.bind(+sport, send); else send();
}`;

describe.skipIf(lacking)("bridge network firewall on the kernel", () => {
  const tag = randomBytes(3).toString("hex");
  const x = randomInt(1, 250);
  const ns = { h: `berth-fw-${tag}-h`, c1: `berth-fw-${tag}-c1`, c2: `berth-fw-${tag}-c2`, r: `berth-fw-${tag}-r` };
  const netA: FirewallNetwork = { name: "a", bridge: `bfw${tag}a`, subnet: `10.213.${x}.0/24`, internal: false };
  const netB: FirewallNetwork = { name: "b", bridge: `bfw${tag}b`, subnet: `10.215.${x}.0/24`, internal: false };
  const gwA = `10.213.${x}.1`;
  const c1 = `10.213.${x}.2`;
  const c2 = `10.215.${x}.2`;
  const hostR = `10.214.${x}.1`; // h's address towards r
  const remote = `10.214.${x}.2`;
  const servers: ChildProcess[] = [];
  let restores = 0;
  let flushes = 0;

  const nsPath = (n: string) => `/run/netns/${n}`;
  const run = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: "pipe", timeout: 15_000 });
  const inH = (...argv: string[]) => run("nsenter", `--net=${nsPath(ns.h)}`, "--", ...argv);
  const hostRun = commandRunner(["nsenter", `--net=${nsPath(ns.h)}`, "--"]);
  const countingRun: FirewallRun = (cmd, args, input) => {
    if (cmd === "iptables-restore") restores++;
    if (cmd === "conntrack") flushes++;
    return hostRun(cmd, args, input);
  };
  const newFirewall = () => new Firewall({ run: countingRun });
  const probe = async (from: string, proto: "tcp" | "udp", host: string, port: number, sport?: number): Promise<string> => {
    const { stdout } = await execFileP("nsenter", [`--net=${nsPath(from)}`, "--", process.execPath, "-e", CLIENT, proto, host, String(port), ...(sport ? [String(sport)] : [])], { timeout: 10_000 });
    return stdout;
  };
  /** iptables-save of h without comments and counters. */
  const saved = () =>
    inH("iptables-save")
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .map((l) => l.replace(/\[[0-9]+:[0-9]+\]/, "[0:0]"))
      .join("\n");
  const sysctlH = (key: string) => inH("cat", `/proc/sys/${key}`).trim();
  const startServer = (where: string, ports: number[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn("nsenter", [`--net=${nsPath(where)}`, "--", process.execPath, "-e", SERVER, ...ports.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
      servers.push(child);
      const timer = setTimeout(() => reject(new Error(`server in ${where} not ready`)), 10_000);
      child.stdout!.on("data", (d: Buffer) => {
        if (String(d).includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => reject(new Error(`server in ${where} exited ${code}`)));
    });
  const webPorts = (hostPort = 8080, udpTarget = 53): PortRule[] => [
    { protocol: "tcp", hostPort, containerIP: c1, containerPort: 80 },
    { protocol: "tcp", hostIP: "127.0.0.1", hostPort: 8081, containerIP: c1, containerPort: 80 },
    { protocol: "udp", hostIP: "0.0.0.0", hostPort: 5353, containerIP: c1, containerPort: udpTarget },
  ];
  let baseline = "";

  beforeAll(async () => {
    for (const n of Object.values(ns)) run("ip", "netns", "add", n);
    run("ip", "-n", ns.h, "link", "set", "lo", "up");
    inH("sysctl", "-qw", "net.ipv4.ip_forward=1");
    for (const [net, gw] of [[netA, gwA], [netB, `10.215.${x}.1`]] as const) {
      run("ip", "-n", ns.h, "link", "add", net.bridge, "type", "bridge");
      run("ip", "-n", ns.h, "addr", "add", `${gw}/24`, "dev", net.bridge);
      run("ip", "-n", ns.h, "link", "set", net.bridge, "up");
    }
    const veth = (hostIf: string, peerNs: string, hostAddr: string | undefined, bridge: string | undefined, peerAddr: string, gw: string) => {
      run("ip", "-n", ns.h, "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", peerNs);
      if (bridge) run("ip", "-n", ns.h, "link", "set", hostIf, "master", bridge);
      if (hostAddr) run("ip", "-n", ns.h, "addr", "add", hostAddr, "dev", hostIf);
      run("ip", "-n", ns.h, "link", "set", hostIf, "up");
      run("ip", "-n", peerNs, "addr", "add", peerAddr, "dev", "eth0");
      run("ip", "-n", peerNs, "link", "set", "eth0", "up");
      run("ip", "-n", peerNs, "route", "add", "default", "via", gw);
    };
    veth(`vfw${tag}1`, ns.c1, undefined, netA.bridge, `${c1}/24`, gwA);
    veth(`vfw${tag}2`, ns.c2, undefined, netB.bridge, `${c2}/24`, `10.215.${x}.1`);
    veth(`vfw${tag}r`, ns.r, `${hostR}/30`, undefined, `${remote}/30`, hostR);
    for (const n of [ns.c1, ns.c2]) run("ip", "-n", n, "link", "set", "lo", "up");
    // r keeps lo down (no local 127/8 routes) and routes 127/8 to h: an attacker on the LAN.
    run("nsenter", `--net=${nsPath(ns.r)}`, "--", "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1");
    run("ip", "-n", ns.r, "route", "add", "127.0.0.0/8", "via", hostR);
    // Someone else's rules on the host, which berth must keep as they are.
    execFileSync("nsenter", [`--net=${nsPath(ns.h)}`, "--", "iptables-restore", "-w", "--noflush"], {
      input: "*filter\n:DOCKER-USER - [0:0]\n-A INPUT -i lo -j ACCEPT\n-A FORWARD -j DOCKER-USER\nCOMMIT\n*nat\n-A POSTROUTING -s 192.0.2.0/24 -j MASQUERADE\nCOMMIT\n*raw\n-A PREROUTING -d 198.51.100.1/32 -j DROP\nCOMMIT\n",
    });
    baseline = saved();
    await Promise.all([startServer(ns.c1, [80, 53, 54]), startServer(ns.c2, [80]), startServer(ns.r, [80])]);
  });

  afterAll(() => {
    for (const s of servers) s.kill("SIGKILL");
    for (const n of Object.values(ns)) {
      try {
        run("ip", "netns", "del", n);
      } catch {
        /* not made */
      }
    }
    expect(run("ip", "netns", "list")).not.toContain(`berth-fw-${tag}`);
  });

  it("programs networks and ports; a second round writes nothing (rules are in iptables' own form)", async () => {
    const fw = newFirewall();
    await fw.ensureBase();
    await fw.syncNetworks([netA, netB]);
    await fw.setPorts("container/c1", netA, webPorts());
    restores = 0;
    flushes = 0;
    const again = newFirewall();
    await again.ensureBase();
    await again.syncNetworks([netB, netA]);
    await again.setPorts("container/c1", netA, webPorts());
    expect(restores).toBe(0);
    expect(flushes).toBe(0); // re-applying the same UDP mapping (a restart) keeps its live flows
    const forward = inH("iptables", "-w", "-S", "FORWARD").trim().split("\n");
    expect(forward).toEqual(["-P FORWARD ACCEPT", `-A FORWARD -j ${PREFIX}-USER`, `-A FORWARD -j ${PREFIX}-FORWARD`, "-A FORWARD -j DOCKER-USER"]);
    expect(sysctlH(`net/ipv4/conf/${netA.bridge}/route_localnet`)).toBe("1");
    expect(sysctlH(`net/ipv4/conf/${netB.bridge}/route_localnet`)).toBe("0");
    expect(sysctlH("net/ipv4/conf/all/route_localnet")).toBe("0");
    expect(await fw.owners()).toEqual(["container/c1"]);
  });

  it("a published port is reachable from the remote with its real source address (DNAT, no SNAT)", async () => {
    expect(await probe(ns.r, "tcp", hostR, 8080)).toBe(`80 ${remote}`);
  });

  it("from the host itself, 127.0.0.1 reaches 0.0.0.0 and 127.0.0.1 publishes", async () => {
    expect(await probe(ns.h, "tcp", "127.0.0.1", 8080)).toBe(`80 ${gwA}`);
    expect(await probe(ns.h, "tcp", "127.0.0.1", 8081)).toBe(`80 ${gwA}`);
  });

  it("a 127.0.0.1 publish is not reachable from the remote, neither at the host's address nor at 127.0.0.1 routed via the host", async () => {
    expect(await probe(ns.r, "tcp", hostR, 8081)).toBe("ERR ECONNREFUSED");
    expect(await probe(ns.r, "tcp", "127.0.0.1", 8081)).toBe("TIMEOUT");
    expect(await probe(ns.r, "tcp", "127.0.0.1", 8080)).toBe("TIMEOUT");
    // Without berth's raw guard it would be (moby#41872): remove the owner's raw jump...
    const jump = `-m comment --comment "container/c1" -j ${ownerChain("container/c1")}`;
    inH("iptables", "-w", "-t", "raw", "-D", `${PREFIX}-PORTS`, ...["-m", "comment", "--comment", "container/c1", "-j", ownerChain("container/c1")]);
    expect(await probe(ns.r, "tcp", "127.0.0.1", 8081)).toBe(`80 ${remote}`);
    // ...and setPorts puts it back.
    await newFirewall().setPorts("container/c1", netA, webPorts());
    expect(inH("iptables", "-w", "-t", "raw", "-S", `${PREFIX}-PORTS`)).toContain(jump);
    expect(await probe(ns.r, "tcp", "127.0.0.1", 8081)).toBe("TIMEOUT");
  });

  it("the remote cannot reach a container's address directly, though the host routes it", async () => {
    expect(await probe(ns.h, "tcp", c1, 80)).toBe(`80 ${gwA}`); // the route is there
    expect(await probe(ns.r, "tcp", c1, 80)).toBe("TIMEOUT");
    expect(await probe(ns.r, "tcp", gwA, 22)).toBe("TIMEOUT"); // nor the bridge's own address
    // It is the raw guard that stops it (the accept of the published port 80 would let it in):
    inH("iptables", "-w", "-t", "raw", "-D", `${PREFIX}-RAW`, "-d", netA.subnet, "!", "-i", netA.bridge, "-j", "DROP");
    expect(await probe(ns.r, "tcp", c1, 80)).toBe(`80 ${remote}`);
    await newFirewall().syncNetworks([netA, netB]);
    expect(await probe(ns.r, "tcp", c1, 80)).toBe("TIMEOUT");
  });

  it("a UDP mapping answers, and re-targeting it deletes the stale flow", async () => {
    expect(await probe(ns.r, "udp", hostR, 5353, 40053)).toBe(`53 ${remote}`);
    await newFirewall().setPorts("container/c1", netA, webPorts(8080, 54));
    // same client port: without deleting the conntrack flow it would still reach port 53
    expect(await probe(ns.r, "udp", hostR, 5353, 40053)).toBe(`54 ${remote}`);
  });

  it("moving a host port: the old one stops, the new one works; [] removes the chains", async () => {
    const fw = newFirewall();
    await fw.setPorts("container/c1", netA, webPorts(8090));
    expect(await probe(ns.r, "tcp", hostR, 8080)).toBe("ERR ECONNREFUSED");
    expect(await probe(ns.r, "tcp", hostR, 8090)).toBe(`80 ${remote}`);
    await fw.setPorts("container/c1", netA, []);
    expect(await probe(ns.r, "tcp", hostR, 8090)).toBe("ERR ECONNREFUSED");
    expect(await probe(ns.h, "tcp", "127.0.0.1", 8081)).toBe("ERR ECONNREFUSED");
    for (const t of ["filter", "nat", "raw"]) expect(inH("iptables", "-w", "-t", t, "-S")).not.toContain(`${PREFIX}-P-`);
    expect(sysctlH(`net/ipv4/conf/${netA.bridge}/route_localnet`)).toBe("0");
    expect(await fw.owners()).toEqual([]);
    await fw.setPorts("container/c1", netA, webPorts());
  });

  it("containers on different networks cannot reach each other; both reach the remote", async () => {
    expect(await probe(ns.c1, "tcp", remote, 80)).toBe(`80 ${hostR}`); // masqueraded
    expect(await probe(ns.c2, "tcp", remote, 80)).toBe(`80 ${hostR}`);
    expect(await probe(ns.c1, "tcp", c2, 80)).toBe("TIMEOUT");
    expect(await probe(ns.c2, "tcp", c1, 80)).toBe("TIMEOUT");
  });

  it("an internal network reaches nothing beyond its bridge", async () => {
    const fw = newFirewall();
    await fw.syncNetworks([netA, { ...netB, internal: true }]);
    expect(await probe(ns.c2, "tcp", remote, 80)).toBe("TIMEOUT");
    expect(await probe(ns.c2, "udp", remote, 80)).toBe("TIMEOUT");
    expect(await probe(ns.c1, "tcp", remote, 80)).toBe(`80 ${hostR}`);
    await expect(fw.setPorts("container/c2", { ...netB, internal: true }, [{ protocol: "tcp", hostPort: 9000, containerIP: c2, containerPort: 80 }])).rejects.toMatchObject({ kind: "InvalidArgument" });
    await fw.syncNetworks([netA, netB]);
    expect(await probe(ns.c2, "tcp", remote, 80)).toBe(`80 ${hostR}`);
  });

  it("with FORWARD policy DROP (Docker's, a firewall's) berth's traffic still flows and the policy stays", async () => {
    inH("iptables", "-w", "-P", "FORWARD", "DROP");
    try {
      const fw = newFirewall();
      await fw.ensureBase();
      await fw.syncNetworks([netA, netB]);
      await fw.setPorts("container/c1", netA, webPorts());
      expect(await probe(ns.r, "tcp", hostR, 8080)).toBe(`80 ${remote}`);
      expect(await probe(ns.r, "udp", hostR, 5353)).toBe(`53 ${remote}`);
      expect(await probe(ns.c1, "tcp", remote, 80)).toBe(`80 ${hostR}`);
      expect(await probe(ns.h, "tcp", "127.0.0.1", 8081)).toBe(`80 ${gwA}`);
      expect(inH("iptables", "-w", "-S", "FORWARD").split("\n")[0]).toBe("-P FORWARD DROP");
    } finally {
      inH("iptables", "-w", "-P", "FORWARD", "ACCEPT");
    }
  });

  it("six restarts give byte-identical rules; teardown restores the baseline", async () => {
    const rounds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const fw = newFirewall();
      await fw.ensureBase();
      await fw.syncNetworks(i % 2 ? [netA, netB] : [netB, netA]);
      await fw.setPorts("container/c1", netA, webPorts());
      await fw.setPorts("container/c2", netB, [{ protocol: "tcp", hostIP: hostR, hostPort: 9000, containerIP: c2, containerPort: 80 }]);
      rounds.push(saved());
    }
    for (const r of rounds) expect(r).toBe(rounds[0]);
    expect(rounds[0]!.match(new RegExp(`-A FORWARD -j ${PREFIX}-FORWARD`, "g"))).toHaveLength(1);
    expect(rounds[0]!.match(new RegExp(`-A PREROUTING -m addrtype --dst-type LOCAL -j ${PREFIX}-DNAT`, "g"))).toHaveLength(1);
    expect(await probe(ns.r, "tcp", hostR, 9000)).toBe(`80 ${remote}`);
    const fw = newFirewall();
    const rules = await fw.rules();
    expect(rules.find((r) => r.table === "nat")!.lines).toContain(`-A OUTPUT -m addrtype --dst-type LOCAL -j ${PREFIX}-DNAT`);
    await fw.teardown();
    expect(saved()).toContain(`:${PREFIX}-USER`);
    expect(saved()).not.toContain(`${PREFIX}-FORWARD`);
    await fw.teardown({ all: true });
    expect(saved()).toBe(baseline);
    expect(sysctlH(`net/ipv4/conf/${netA.bridge}/route_localnet`)).toBe("0");
    expect(await probe(ns.r, "tcp", hostR, 8080)).toBe("ERR ECONNREFUSED");
  });
});
