import { describe, expect, it } from "vitest";
import { checkHost, Firewall, type FirewallCommand, type FirewallRun } from "./firewall.js";
import {
  checkNetworks,
  checkPortRules,
  networkChains,
  ownerChain,
  ownerChains,
  parseRules,
  planBase,
  planPorts,
  type FirewallNetwork,
  type Observed,
  type PortRule,
} from "./firewall-rules.js";

const front: FirewallNetwork = { name: "front", bridge: "berth1", subnet: "10.88.1.0/24", internal: false };
const back: FirewallNetwork = { name: "back", bridge: "berth2", subnet: "10.88.2.0/24", internal: true };
const web = ownerChain("container/web");

/**
 * An in-memory iptables enough for the Firewall: `-S` per table, and `iptables-restore
 * --noflush` with -N/-F/-X/-A/-I/-D, one transaction per COMMIT, refusing what the kernel
 * refuses (missing chains or rules, deleting a chain in use).
 */
class FakeHost {
  tables: Record<string, Map<string, string[]>> = {
    filter: new Map([["INPUT", []], ["FORWARD", []], ["OUTPUT", []]]),
    nat: new Map([["PREROUTING", []], ["INPUT", []], ["OUTPUT", []], ["POSTROUTING", []]]),
    raw: new Map([["PREROUTING", []], ["OUTPUT", []]]),
  };
  builtins = new Set(["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"]);
  sysctls = new Map<string, string>([["net.ipv4.ip_forward", "1"]]);
  calls: { cmd: FirewallCommand; args: string[]; input?: string }[] = [];
  conntrackFlows = 0;

  run: FirewallRun = async (cmd, args, input) => {
    this.calls.push({ cmd, args, ...(input === undefined ? {} : { input }) });
    if (cmd === "iptables") {
      if (args[0] === "-V") return "iptables v1.8.9 (nf_tables)\n";
      expect(args[0]).toBe("-w");
      expect(args.slice(1, 2).concat(args.slice(3))).toEqual(["-t", "-S"]);
      return this.save(args[2]!);
    }
    if (cmd === "iptables-restore") {
      expect(args).toEqual(["-w", "--noflush"]);
      this.restore(input ?? "");
      return "";
    }
    if (cmd === "sysctl") {
      if (args[0] === "-n") {
        const v = this.sysctls.get(args[1]!);
        if (v === undefined) throw new Error(`sysctl: cannot stat /proc/sys/${args[1]}`);
        return `${v}\n`;
      }
      const [k, v] = args[1]!.split("=");
      this.sysctls.set(k!, v!);
      return "";
    }
    if (this.conntrackFlows === 0) throw new Error("run conntrack: conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.");
    return "";
  };

  save(table: string): string {
    const t = this.tables[table]!;
    const lines: string[] = [];
    for (const c of t.keys()) lines.push(this.builtins.has(c) ? `-P ${c} ACCEPT` : `-N ${c}`);
    for (const [c, rules] of t) for (const r of rules) lines.push(`-A ${c} ${r}`);
    return lines.join("\n") + "\n";
  }

  restore(input: string): void {
    let name = "";
    let work = new Map<string, string[]>();
    for (const line of input.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("*")) {
        name = line.slice(1);
        work = new Map([...this.tables[name]!].map(([c, r]) => [c, [...r]]));
        continue;
      }
      if (line === "COMMIT") {
        this.tables[name] = work;
        continue;
      }
      const m = /^-([NFXAID]) (\S+)(?: (.*))?$/.exec(line);
      if (!m) throw new Error(`restore: bad line ${line}`);
      const [, op, chain, rest = ""] = m as unknown as [string, string, string, string | undefined];
      const rules = work.get(chain);
      if (op === "N") {
        if (rules) throw new Error(`restore: chain ${chain} exists`);
        work.set(chain, []);
        continue;
      }
      if (!rules) throw new Error(`restore: no chain ${chain} (${line})`);
      if (op === "F") rules.length = 0;
      else if (op === "X") {
        if (rules.length > 0) throw new Error(`restore: chain ${chain} not empty`);
        for (const r of [...work.values()].flat()) if (r.endsWith(`-j ${chain}`)) throw new Error(`restore: chain ${chain} in use`);
        work.delete(chain);
      } else {
        let spec = rest;
        let pos = rules.length;
        if (op === "I") {
          const n = /^([0-9]+) (.*)$/.exec(rest);
          pos = n ? Number(n[1]) - 1 : 0;
          if (n) spec = n[2]!;
        }
        const target = / -j (\S+)$/.exec(` ${spec}`)?.[1] ?? / -j (\S+) /.exec(` ${spec}`)?.[1];
        if (target?.startsWith("BERTH-") && !work.has(target)) throw new Error(`restore: no chain ${target}`);
        if (op === "D") {
          const i = rules.indexOf(spec);
          if (i < 0) throw new Error(`restore: no rule ${line}`);
          rules.splice(i, 1);
        } else rules.splice(pos, 0, spec);
      }
    }
  }

  dump(): string {
    return ["filter", "nat", "raw"].map((t) => `*${t}\n${this.save(t)}`).join("");
  }
}

const observedOf = (h: FakeHost): Observed => ({ filter: parseRules(h.save("filter")), nat: parseRules(h.save("nat")), raw: parseRules(h.save("raw")) });

describe("rule generation", () => {
  it("writes the network chains for a normal and an internal network", () => {
    const c = networkChains(checkNetworks([back, front]));
    expect(c.filter["BERTH-FORWARD"]).toEqual([
      "-A BERTH-FORWARD -j BERTH-ISOLATION",
      "-A BERTH-FORWARD -j BERTH-PORTS",
      "-A BERTH-FORWARD -o berth1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A BERTH-FORWARD -i berth1 ! -o berth1 -m conntrack --ctstate INVALID -j DROP",
      "-A BERTH-FORWARD -i berth1 -o berth1 -j ACCEPT",
      "-A BERTH-FORWARD -i berth1 ! -o berth1 -j ACCEPT",
      "-A BERTH-FORWARD ! -i berth1 -o berth1 -j DROP",
      "-A BERTH-FORWARD -o berth2 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A BERTH-FORWARD -i berth2 ! -o berth2 -m conntrack --ctstate INVALID -j DROP",
      "-A BERTH-FORWARD -i berth2 -o berth2 -j ACCEPT",
      "-A BERTH-FORWARD -i berth2 ! -o berth2 -j DROP",
      "-A BERTH-FORWARD ! -i berth2 -o berth2 -j DROP",
    ]);
    expect(c.filter["BERTH-ISOLATION"]).toEqual(["-A BERTH-ISOLATION -i berth1 ! -o berth1 -j BERTH-ISOLATION-2", "-A BERTH-ISOLATION -i berth2 ! -o berth2 -j BERTH-ISOLATION-2"]);
    expect(c.filter["BERTH-ISOLATION-2"]).toEqual(["-A BERTH-ISOLATION-2 -o berth1 -j DROP", "-A BERTH-ISOLATION-2 -o berth2 -j DROP"]);
    expect(c.nat["BERTH-POSTROUTING"]).toEqual(["-A BERTH-POSTROUTING -s 10.88.1.0/24 ! -o berth1 -j MASQUERADE", "-A BERTH-POSTROUTING -s 127.0.0.0/8 -o berth1 -j MASQUERADE"]);
    expect(c.raw["BERTH-RAW"]).toEqual([
      "-A BERTH-RAW -i lo -j RETURN",
      "-A BERTH-RAW -j BERTH-PORTS",
      "-A BERTH-RAW -d 10.88.1.0/24 ! -i berth1 -j DROP",
      "-A BERTH-RAW -s 127.0.0.0/8 -i berth1 -j DROP",
      "-A BERTH-RAW -d 127.0.0.0/8 -i berth1 -j DROP",
      "-A BERTH-RAW -d 10.88.2.0/24 ! -i berth2 -j DROP",
      "-A BERTH-RAW -s 127.0.0.0/8 -i berth2 -j DROP",
      "-A BERTH-RAW -d 127.0.0.0/8 -i berth2 -j DROP",
    ]);
  });

  it("writes an owner's chains: DNAT per mapping, one accept per container port, loopback guards", () => {
    const rules = checkPortRules("container/web", front, [
      { protocol: "udp", hostPort: 5353, containerIP: "10.88.1.2", containerPort: 53 },
      { protocol: "tcp", hostIP: "127.0.0.1", hostPort: 8081, containerIP: "10.88.1.2", containerPort: 80 },
      { protocol: "tcp", hostIP: "0.0.0.0", hostPort: 8080, containerIP: "10.88.1.2", containerPort: 80 },
      { protocol: "tcp", hostIP: "192.168.1.5", hostPort: 443, containerIP: "10.88.1.2", containerPort: 443 },
    ]);
    const o = ownerChains("container/web", front, rules);
    expect(o.chain).toMatch(/^BERTH-P-[0-9a-f]{10}$/);
    expect(o.chain).toBe(web);
    expect(o.rules.nat).toEqual([
      `-A ${web} ! -i berth1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.1.2:80`,
      `-A ${web} -d 127.0.0.1/32 ! -i berth1 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 10.88.1.2:80`,
      `-A ${web} -d 192.168.1.5/32 ! -i berth1 -p tcp -m tcp --dport 443 -j DNAT --to-destination 10.88.1.2:443`,
      `-A ${web} ! -i berth1 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.88.1.2:53`,
    ]);
    expect(o.rules.filter).toEqual([
      `-A ${web} -d 10.88.1.2/32 ! -i berth1 -o berth1 -p tcp -m tcp --dport 80 -j ACCEPT`,
      `-A ${web} -d 10.88.1.2/32 ! -i berth1 -o berth1 -p tcp -m tcp --dport 443 -j ACCEPT`,
      `-A ${web} -d 10.88.1.2/32 ! -i berth1 -o berth1 -p udp -m udp --dport 53 -j ACCEPT`,
    ]);
    expect(o.rules.raw).toEqual([
      `-A ${web} -d 127.0.0.0/8 ! -i lo -p tcp -m tcp --dport 8080 -j DROP`,
      `-A ${web} -d 127.0.0.0/8 ! -i lo -p tcp -m tcp --dport 8081 -j DROP`,
      `-A ${web} -d 127.0.0.0/8 ! -i lo -p udp -m udp --dport 5353 -j DROP`,
    ]);
    expect(o.jumps).toEqual({
      filter: `-A BERTH-PORTS -m comment --comment "container/web" -j ${web}`,
      nat: `-A BERTH-DNAT -m comment --comment "container/web" -j ${web}`,
      raw: `-A BERTH-PORTS -m comment --comment "container/web" -j ${web}`,
    });
  });

  it("plans the hooks on top, once each, and nothing when they are in place", () => {
    const h = new FakeHost();
    h.tables.filter!.set("FORWARD", ["-j DOCKER-USER", "-j BERTH-FORWARD", "-j BERTH-FORWARD"]);
    h.tables.filter!.set("DOCKER-USER", []);
    h.tables.filter!.set("BERTH-FORWARD", []);
    const plan = planBase(observedOf(h));
    expect(plan.restore.filter).toBe(
      [
        "*filter",
        "-N BERTH-USER",
        "-N BERTH-ISOLATION",
        "-N BERTH-ISOLATION-2",
        "-N BERTH-PORTS",
        "-D FORWARD -j BERTH-FORWARD",
        "-D FORWARD -j BERTH-FORWARD",
        "-I FORWARD 1 -j BERTH-FORWARD",
        "-I FORWARD 1 -j BERTH-USER",
        "COMMIT",
        "",
      ].join("\n"),
    );
    h.restore(Object.values(plan.restore).join(""));
    expect(h.tables.filter!.get("FORWARD")).toEqual(["-j BERTH-USER", "-j BERTH-FORWARD", "-j DOCKER-USER"]);
    expect(h.tables.nat!.get("OUTPUT")).toEqual(["-m addrtype --dst-type LOCAL -j BERTH-DNAT"]);
    expect(planBase(observedOf(h)).restore).toEqual({});
  });

  it("refuses bad input before producing anything", () => {
    const bad = (n: Partial<FirewallNetwork>) => () => checkNetworks([{ ...front, ...n }]);
    expect(bad({ bridge: "br;rm -rf" })).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
    expect(bad({ bridge: "a-bridge-name-too-long" })).toThrow(/interface name/);
    expect(bad({ bridge: "lo" })).toThrow(/interface name/);
    expect(bad({ subnet: "10.88.1.1/24" })).toThrow(/host bits/);
    expect(bad({ subnet: "10.88.1.0" })).toThrow(/CIDR/);
    expect(bad({ name: "" })).toThrow(/name/);
    expect(() => checkNetworks([front, { ...back, subnet: "10.88.0.0/16" }])).toThrow(/overlaps network front/);
    expect(() => checkNetworks([front, { ...back, bridge: "berth1" }])).toThrow(/bridge berth1/);
    const rule: PortRule = { protocol: "tcp", hostPort: 8080, containerIP: "10.88.1.2", containerPort: 80 };
    const badRule = (r: Partial<PortRule> | Record<string, unknown>, net = front) => () => checkPortRules("container/web", net, [{ ...rule, ...r } as PortRule]);
    expect(badRule({ protocol: "sctp" as "tcp" })).toThrow(/protocol "sctp"/);
    expect(badRule({ hostPort: 0 })).toThrow(/host port 0/);
    expect(badRule({ hostPort: 65536 })).toThrow(/host port 65536/);
    expect(badRule({ containerPort: 1.5 })).toThrow(/container port 1.5/);
    expect(badRule({ hostIP: "127.1" })).toThrow(/IPv4/);
    expect(badRule({ containerIP: "10.88.2.2" })).toThrow(/not in network front's subnet/);
    expect(badRule({}, back)).toThrow(/internal/);
    expect(() => checkPortRules("container/web", front, [rule, { ...rule, hostIP: "127.0.0.1" }])).toThrow(/tcp 127.0.0.1:8080 is listed twice/);
    expect(checkPortRules("container/web", front, [rule, { ...rule, protocol: "udp" }])).toHaveLength(2);
    expect(checkPortRules("container/web", back, [])).toEqual([]);
  });

  it("plans a Conflict for a host port another owner publishes", () => {
    const h = new FakeHost();
    const o = ownerChains("container/a", front, checkPortRules("container/a", front, [{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: 8080, containerIP: "10.88.1.2", containerPort: 80 }]));
    h.tables.nat!.set(o.chain, o.rules.nat.map((l) => l.replace(/^-A \S+ /, "")));
    const rule: PortRule = { protocol: "tcp", hostPort: 8080, containerIP: "10.88.1.3", containerPort: 80 };
    expect(() => planPorts(observedOf(h), "container/b", front, [rule])).toThrow(expect.objectContaining({ kind: "Conflict" }));
    expect(() => planPorts(observedOf(h), "container/b", front, [{ ...rule, hostIP: "127.0.0.2" }])).not.toThrow();
    expect(() => planPorts(observedOf(h), "container/b", front, [{ ...rule, protocol: "udp" }])).not.toThrow();
  });
});

describe("Firewall on a fake host", () => {
  const ports = (ip: string, hostIP?: string): PortRule[] => [
    { protocol: "tcp", hostPort: 8080, containerIP: ip, containerPort: 80, ...(hostIP ? { hostIP } : {}) },
    { protocol: "udp", hostPort: 5353, containerIP: ip, containerPort: 53 },
  ];

  it("converges to the same rules after six restarts, one hook each", async () => {
    const h = new FakeHost();
    h.tables.filter!.set("FORWARD", ["-j DOCKER-USER"]);
    h.tables.filter!.set("DOCKER-USER", []);
    let first = "";
    for (let i = 0; i < 6; i++) {
      const fw = new Firewall({ run: h.run });
      await fw.ensureBase();
      await fw.syncNetworks(i % 2 ? [front, back] : [back, front]);
      await fw.setPorts("container/web", front, ports("10.88.1.2"));
      await fw.setPorts("container/api", front, [{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: 9000, containerIP: "10.88.1.3", containerPort: 9000 }]);
      if (i === 0) first = h.dump();
      else expect(h.dump()).toBe(first);
    }
    expect(h.tables.filter!.get("FORWARD")).toEqual(["-j BERTH-USER", "-j BERTH-FORWARD", "-j DOCKER-USER"]);
    expect(h.tables.nat!.get("PREROUTING")).toEqual(["-m addrtype --dst-type LOCAL -j BERTH-DNAT"]);
    expect(h.tables.nat!.get("BERTH-DNAT")).toHaveLength(2);
    expect(await new Firewall({ run: h.run }).owners()).toEqual(["container/api", "container/web"]);
    // converged: a further round writes nothing
    h.calls = [];
    const fw = new Firewall({ run: h.run });
    await fw.syncNetworks([front, back]);
    expect(h.calls.filter((c) => c.cmd === "iptables-restore")).toEqual([]);
  });

  it("replaces only the owner's chains, flushes UDP flows, and follows route_localnet", async () => {
    const h = new FakeHost();
    const fw = new Firewall({ run: h.run });
    await fw.syncNetworks([front]);
    await fw.setPorts("container/web", front, [{ protocol: "tcp", hostIP: "192.168.1.5", hostPort: 8080, containerIP: "10.88.1.2", containerPort: 80 }]);
    expect(h.sysctls.get("net/ipv4/conf/berth1/route_localnet")).toBeUndefined(); // not reachable at 127.0.0.1
    await fw.setPorts("container/web", front, ports("10.88.1.2", "192.168.1.5"));
    expect(h.sysctls.get("net/ipv4/conf/berth1/route_localnet")).toBe("1"); // udp 5353 is on every address
    await fw.setPorts("container/api", front, [{ protocol: "tcp", hostIP: "10.0.0.1", hostPort: 9000, containerIP: "10.88.1.3", containerPort: 9000 }]);
    const api = h.tables.nat!.get(ownerChain("container/api"));
    h.calls = [];
    await fw.setPorts("container/web", front, [{ protocol: "udp", hostPort: 5354, containerIP: "10.88.1.2", containerPort: 53 }]);
    const restores = h.calls.filter((c) => c.cmd === "iptables-restore").map((c) => c.input!);
    expect(restores.join("")).not.toContain(ownerChain("container/api"));
    expect(h.tables.nat!.get(ownerChain("container/api"))).toEqual(api);
    expect(h.calls.filter((c) => c.cmd === "conntrack").map((c) => c.args)).toEqual([
      ["-D", "-p", "udp", "--orig-port-dst", "5353"],
      ["-D", "-p", "udp", "--orig-port-dst", "5354"],
    ]);
    expect(h.tables.nat!.get(web)).toEqual(["! -i berth1 -p udp -m udp --dport 5354 -j DNAT --to-destination 10.88.1.2:53"]);
    await fw.setPorts("container/web", front, []);
    expect(h.tables.nat!.has(web) || h.tables.filter!.has(web) || h.tables.raw!.has(web)).toBe(false);
    expect(h.tables.nat!.get("BERTH-DNAT")).toEqual([`-m comment --comment "container/api" -j ${ownerChain("container/api")}`]);
    expect(await fw.owners()).toEqual(["container/api"]);
  });

  it("sets route_localnet on the bridge only while a loopback-reachable mapping exists", async () => {
    const h = new FakeHost();
    const fw = new Firewall({ run: h.run });
    await fw.syncNetworks([front]);
    const key = "net/ipv4/conf/berth1/route_localnet";
    await fw.setPorts("container/web", front, ports("10.88.1.2", "127.0.0.1"));
    expect(h.sysctls.get(key)).toBe("1");
    await fw.setPorts("container/api", front, [{ protocol: "tcp", hostPort: 9000, containerIP: "10.88.1.3", containerPort: 9000 }]);
    await fw.setPorts("container/web", front, []);
    expect(h.sysctls.get(key)).toBe("1"); // api's 0.0.0.0:9000 is loopback-reachable
    await new Firewall({ run: h.run }).setPorts("container/api", front, []); // after a restart, from the kernel's rules
    expect(h.sysctls.get(key)).toBe("0");
    expect([...h.sysctls.keys()].filter((k) => k.includes("/all/"))).toEqual([]);
  });

  it("serializes concurrent calls", async () => {
    const h = new FakeHost();
    const fw = new Firewall({ run: h.run });
    await Promise.all([
      fw.syncNetworks([front]),
      ...Array.from({ length: 8 }, (_, i) => fw.setPorts(`container/c${i}`, front, [{ protocol: "tcp", hostPort: 8000 + i, containerIP: `10.88.1.${i + 2}`, containerPort: 80 }])),
    ]);
    expect(h.tables.nat!.get("BERTH-DNAT")).toHaveLength(8);
    expect(h.tables.filter!.get("FORWARD")).toEqual(["-j BERTH-USER", "-j BERTH-FORWARD"]);
  });

  it("tears down everything but BERTH-USER, or everything with all", async () => {
    const h = new FakeHost();
    const before = h.dump();
    const fw = new Firewall({ run: h.run });
    await fw.syncNetworks([front, back]);
    await fw.setPorts("container/web", front, ports("10.88.1.2"));
    h.tables.filter!.get("BERTH-USER")!.push("-s 10.9.9.9/32 -j DROP");
    expect((await fw.rules()).find((r) => r.table === "filter")!.lines).toContain("-A BERTH-USER -s 10.9.9.9/32 -j DROP");
    await fw.teardown();
    expect(h.tables.filter!.get("FORWARD")).toEqual(["-j BERTH-USER"]);
    expect([...h.tables.filter!.keys()].filter((c) => c.startsWith("BERTH-"))).toEqual(["BERTH-USER"]);
    expect(h.sysctls.get("net/ipv4/conf/berth1/route_localnet")).toBe("0");
    await fw.teardown({ all: true });
    expect(h.dump()).toBe(before);
    await fw.teardown({ all: true }); // idempotent
  });

  it("refuses bad input without running anything", async () => {
    const h = new FakeHost();
    const fw = new Firewall({ run: h.run });
    await expect(fw.setPorts("container/web; rm", front, [])).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(fw.syncNetworks([{ ...front, bridge: "$(x)" }])).rejects.toMatchObject({ kind: "InvalidArgument" });
    expect(h.calls).toEqual([]);
  });

  it("reports host facts for doctor", async () => {
    const h = new FakeHost();
    expect(await checkHost(h.run)).toEqual({ ipForward: true, brNetfilter: undefined, backend: "nf_tables", problems: [] });
    h.sysctls.set("net.ipv4.ip_forward", "0");
    h.sysctls.set("net.bridge.bridge-nf-call-iptables", "1");
    const c = await checkHost(h.run);
    expect(c).toMatchObject({ ipForward: false, brNetfilter: true });
    expect(c.problems).toEqual([expect.stringContaining("net.ipv4.ip_forward is 0")]);
  });
});
