/**
 * Bridge networks end to end (issue 9): a real `berth daemon` child process, real bridges,
 * veths, namespaces, the embedded resolver and iptables rules (chains of this project's test
 * prefix, BERTH_FIREWALL_PREFIX=BTE from vitest.config.ts). Traffic goes only to 127.0.0.0/8
 * and to the bridges, containers and the one namespace ("remote", routed through the host
 * on a /30 this test picks) that this test made. After the suite nothing of it is left: no
 * bridge, veth, namespace, rule or address reservation (asserted).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as dgram from "node:dgram";
import dnsPacket from "dns-packet";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOf, httpGet, portOpen, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";
import { netLeftovers } from "../helpers/net-cleanup.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups", "iptables", "conntrack");

/** A manifest of containers (and networks): `ctr("web", "ports: ['80']")`. */
const ctr = (name: string, ...spec: string[]) =>
  [`---`, `apiVersion: berth/v1`, `kind: Container`, `metadata: {name: ${name}}`, `spec:`, `  image: localhost/busybox:latest`, `  stopGracePeriod: 1s`, ...spec.map((l) => `  ${l}`)].join("\n") + "\n";
const netw = (name: string, ...spec: string[]) => [`---`, `apiVersion: berth/v1`, `kind: Network`, `metadata: {name: ${name}}`, ...(spec.length ? ["spec:", ...spec.map((l) => `  ${l}`)] : [])].join("\n") + "\n";
const sleeper = ["command: [sh, -c, 'sleep 3600 & wait']"];
const httpd = (dir: string) => [`command: [httpd, -f, -p, '80', -h, /www]`, `mounts: ['${dir}:/www:ro']`];

/** Runs argv on the host with a bound time; resolves with the exit code and output. */
function sh(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 124) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

/** The BTE rules of iptables-save (this project's chains), as lines. */
const ourRules = () =>
  execFileSync("iptables-save", { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes("BTE-") && !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, ""));

describe.skipIf(lacking)("bridge networks against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  const tag = randomBytes(3).toString("hex");
  const remote = `berth-t-remote-${tag}`;
  const x = 100 + (parseInt(tag.slice(0, 2), 16) % 100);
  const hostSide = `10.213.${x}.1`;
  const remoteSide = `10.213.${x}.2`;
  const hostIf = `bt${tag}h`;
  const servers: ChildProcess[] = [];
  /** The daemon's only upstream resolver: on 127.0.0.1, answering outside.test, counting queries. */
  const upstream = dgram.createSocket("udp4");
  const upstreamQueries: string[] = [];

  const apply = async (stack: string, text: string, o: { prune?: boolean } = {}) => {
    const f = path.join(env.base, `${stack}.yaml`);
    writeFileSync(f, text);
    const r = await cli(["apply", "--stack", stack, "-f", f, "--wait", "--timeout", "60s", ...(o.prune ? ["--prune"] : [])], { timeoutMs: 90_000 });
    if (r.code !== 0) {
      // what the failed containers said, and the daemon's view of them, go into the failure
      const failed = [...`${r.stdout}${r.stderr}`.matchAll(/container\/([a-z0-9-]+) failed/g)].map((m) => m[1]!);
      const said = await Promise.all(failed.map(async (n) => `--- logs ${n}:\n${await cli(["logs", n]).then((l) => (l.stdout + l.stderr).slice(-2000))}\n--- describe ${n}:\n${(await cli(["describe", "ctr", n])).stdout.slice(-3000)}`));
      expect.fail(`apply of ${stack} exited ${r.code}:\n${r.stdout}${r.stderr}\n${said.join("\n")}`);
    }
    return f;
  };
  const status = async (name: string) => {
    const r = await cli(["get", "ctr", name, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).status as { containerId: string; networks?: { network: string; address: string; gateway: string }[]; ports?: { hostIP: string; hostPort: number; containerPort: number; protocol: string }[] };
  };
  const ipOf = async (name: string) => (await status(name)).networks![0]!.address.split("/")[0]!;
  const execIn = (name: string, ...argv: string[]) => cli(["exec", name, "--", ...argv], { timeoutMs: 20_000 });
  /** busybox wget from inside a container (Debian's `wget -T` crashes: bounded by timeout). */
  const wgetIn = (name: string, url: string) => execIn(name, "timeout", "4", "wget", "-qO-", url);
  /** The body once the server answers (a container's process may not listen yet when it runs). */
  const bodyFrom = (name: string, url: string) =>
    until(`${name} to get ${url}`, async () => {
      const r = await wgetIn(name, url);
      return r.code === 0 ? r.stdout : undefined;
    }, 15_000, 200);
  const fromRemote = (url: string) => sh("ip", ["netns", "exec", remote, "timeout", "4", "busybox", "wget", "-qO-", url]);

  beforeAll(async () => {
    env = daemonEnv();
    for (const [dir, text] of [
      ["site-web", "shop-web\n"],
      ["site-other", "other\n"],
    ]) {
      mkdirSync(path.join(env.base, dir!));
      writeFileSync(path.join(env.base, dir!, "index.html"), text!);
    }
    // The namespace "remote" plays another host on a link to this one.
    execFileSync("ip", ["netns", "add", remote]);
    execFileSync("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", `${hostIf}r`]);
    execFileSync("ip", ["link", "set", `${hostIf}r`, "netns", remote]);
    execFileSync("ip", ["addr", "add", `${hostSide}/30`, "dev", hostIf]);
    execFileSync("ip", ["link", "set", hostIf, "up"]);
    execFileSync("ip", ["-n", remote, "addr", "add", `${remoteSide}/30`, "dev", `${hostIf}r`]);
    execFileSync("ip", ["-n", remote, "link", "set", `${hostIf}r`, "up"]);
    execFileSync("ip", ["-n", remote, "link", "set", "lo", "up"]);
    execFileSync("ip", ["-n", remote, "route", "add", "default", "via", hostSide]);
    upstream.on("message", (m, r) => {
      const q = dnsPacket.decode(m);
      const name = q.questions?.[0]?.name ?? "";
      upstreamQueries.push(name);
      const answers = name === "outside.test" && q.questions![0]!.type === "A" ? [{ type: "A" as const, name, ttl: 5, data: "127.0.0.9" }] : [];
      upstream.send(dnsPacket.encode({ type: "response", id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (answers.length || name === "outside.test" ? 0 : 3), questions: q.questions, answers }), r.port, r.address);
    });
    await new Promise<void>((r) => upstream.bind(0, "127.0.0.1", () => r()));
    process.env.BERTH_DNS_UPSTREAMS = `127.0.0.1:${upstream.address().port}`;
    daemon = await startCliDaemon(env);
    cli = cliOf(env);
    await apply("img", env.imageManifest);
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) s.kill("SIGKILL");
    upstream.close();
    process.env.BERTH_DNS_UPSTREAMS = "none";
    try {
      await stopAndCheckClean(daemon, env);
    } finally {
      execFileSync("ip", ["netns", "del", remote]);
      await sh("ip", ["link", "del", hostIf]);
    }
  });

  it("two containers of a stack with no Network object resolve and reach each other by name; hosts and resolv.conf say so", async () => {
    await apply("shop", ctr("web", ...httpd(path.join(env.base, "site-web"))) + ctr("client", ...sleeper));
    const web = await status("web");
    const client = await status("client");
    expect(web.networks).toEqual([{ network: "shop-default", address: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+\/\d+$/), gateway: client.networks![0]!.gateway, aliases: [] }]);
    expect(await bodyFrom("client", "http://web/")).toBe("shop-web\n");
    const lookup = await execIn("client", "nslookup", "web");
    expect(lookup.stdout).toContain(`Address: ${await ipOf("web")}`);
    expect((await execIn("client", "cat", "/etc/resolv.conf")).stdout).toContain(`nameserver ${client.networks![0]!.gateway}\n`);
    expect((await execIn("client", "cat", "/etc/hosts")).stdout).toMatch(new RegExp(`^${(await ipOf("client")).replace(/\./g, "\\.")}\\t\\S+ client$`, "m"));
    // a removed container is gone from the resolver at once, a new one is there at once
    await apply("shop", ctr("client", ...sleeper), { prune: true });
    await untilCli("web gone", () => cli(["get", "ctr", "web"]), (r) => r.code !== 0, 30_000);
    expect((await execIn("client", "nslookup", "web")).code).not.toBe(0);
    await apply("shop", ctr("web", ...httpd(path.join(env.base, "site-web"))) + ctr("client", ...sleeper));
    expect(await bodyFrom("client", "http://web/")).toBe("shop-web\n");
    // other names go to the host's resolvers (here: this test's, on 127.0.0.1)
    expect((await execIn("client", "nslookup", "outside.test")).stdout).toContain("Address: 127.0.0.9");
    expect(upstreamQueries).toContain("outside.test");
  });

  it("an HTTP healthcheck reaches a server bound only to the container's own address", async () => {
    await apply(
      "probe",
      ctr("bound", "command: [sh, -c, 'exec httpd -f -p $(hostname -i):80 -h /www']", `mounts: ['${path.join(env.base, "site-web")}:/www:ro']`, "healthcheck: {http: {path: /, port: 80}, interval: 1s, startInterval: 200ms, startPeriod: 10s}"),
    );
    await untilCli("bound healthy", () => cli(["get", "ctr", "bound", "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.health === "healthy", 30_000);
    // and it is not listening on its loopback: the probe went to its address
    expect((await wgetIn("bound", "http://127.0.0.1/")).code).not.toBe(0);
    expect((await cli(["delete", "-f", path.join(env.base, "probe.yaml")])).code).toBe(0);
  });

  it("a container on another network resolves neither them nor reaches them; aliases resolve on their network", async () => {
    await apply("other", netw("isolated") + ctr("outsider", ...sleeper, "networks: [isolated]") + ctr("db", ...httpd(path.join(env.base, "site-other")), "networks: [{name: isolated, aliases: [database]}]"));
    expect(await bodyFrom("outsider", "http://database/")).toBe("other\n");
    expect((await execIn("outsider", "nslookup", "web")).code).not.toBe(0);
    const wgetWeb = await wgetIn("outsider", `http://${await ipOf("web")}/`);
    expect(wgetWeb.code).not.toBe(0);
    expect(wgetWeb.stdout).toBe("");
    // nor the other way
    expect((await wgetIn("client", `http://${await ipOf("db")}/`)).code).not.toBe(0);
    expect((await execIn("client", "nslookup", "database")).code).not.toBe(0);
  });

  it("a container on two networks resolves the names of both through its first nameserver; each of the others only its own", async () => {
    await apply(
      "multi",
      netw("m-a") +
        netw("m-b") +
        ctr("ma", ...httpd(path.join(env.base, "site-web")), "networks: [m-a]") +
        ctr("mb", ...httpd(path.join(env.base, "site-other")), "networks: [{name: m-b, aliases: [bee]}]") +
        ctr("both", ...sleeper, "networks: [m-a, m-b]"),
    );
    const resolv = (await execIn("both", "cat", "/etc/resolv.conf")).stdout;
    expect(resolv.match(/^nameserver /gm)?.length).toBe(2);
    // busybox asks the first nameserver only: m-a's resolver answers m-b's names for it
    expect(await bodyFrom("both", "http://ma/")).toBe("shop-web\n");
    expect(await bodyFrom("both", "http://mb/")).toBe("other\n");
    expect(await bodyFrom("both", "http://bee/")).toBe("other\n");
    // ma is on m-a alone: mb's name is not its to know
    expect((await execIn("ma", "nslookup", "mb")).code).not.toBe(0);
    expect((await cli(["delete", "-f", path.join(env.base, "multi.yaml")])).code).toBe(0);
  });

  it("an internal network has no route out and forwards no DNS query out", async () => {
    await apply("sealed", netw("sealed", "internal: true") + ctr("inner", ...sleeper, "networks: [sealed]"));
    const routes = (await execIn("inner", "ip", "route")).stdout;
    expect(routes).not.toMatch(/default/);
    expect((await wgetIn("inner", `http://${await ipOf("web")}/`)).code).not.toBe(0);
    // the resolver answers its own names and never forwards (CVE-2024-29018): an outside
    // name fails at once, and the upstream never hears of it
    const before = upstreamQueries.length;
    const t0 = Date.now();
    const out = await execIn("inner", "nslookup", "outside.test");
    expect(out.code).not.toBe(0);
    expect(out.stdout).not.toContain("127.0.0.9");
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(upstreamQueries.length).toBe(before);
    expect((await execIn("inner", "nslookup", "inner")).stdout).toContain(`Address: ${await ipOf("inner")}`);
  });

  it("a port published on 127.0.0.1 serves the host but not a namespace routed through it; one on every address serves both", async () => {
    await apply("pub", ctr("pubweb", ...httpd(path.join(env.base, "site-web")), "ports: ['127.0.0.1:19180:80', '19181:80', '[::1]:19183:80']"));
    expect(await httpGet(19180)).toBe("shop-web\n");
    // IPv6 loopback: proxied by the daemon to the container's IPv4 address
    const v6 = await fetch("http://[::1]:19183/", { signal: AbortSignal.timeout(3_000) });
    expect(await v6.text()).toBe("shop-web\n");
    const local = await fromRemote(`http://${hostSide}:19180/`);
    expect(local.code).not.toBe(0);
    expect((await fromRemote(`http://${hostSide}:19181/`)).stdout).toBe("shop-web\n");
    // and the container's own address is not reachable from outside the host (Docker 28's raw drops)
    await sh("ip", ["-n", remote, "route", "add", (await status("pubweb")).networks![0]!.address.replace(/\.\d+\/\d+$/, ".0/24"), "via", hostSide]);
    expect((await fromRemote(`http://${await ipOf("pubweb")}/`)).code).not.toBe(0);
    // the doctor shows the rules berth owns
    const doctor = await cli(["doctor"], { env: { BERTH_FIREWALL_PREFIX: "BTE" } });
    expect(doctor.stdout).toMatch(/-A BTE-P-[0-9a-f]{10} -d 127\.0\.0\.1\/32 .*--dport 19180 -j DNAT --to-destination/);
  });

  it("UDP publish works; a random host port is reported (berth port, get -o wide) and works", async () => {
    await apply("udp", ctr("udp", ...sleeper, "ports: ['127.0.0.1:19153:5353/udp', '127.0.0.1::80', '[::1]:19154:5353/udp']"));
    const st = await status("udp");
    const netns = `/run/netns/berth-${st.containerId.slice(0, 16)}`;
    // a UDP echo server in the container's namespace (busybox has none): node, entered with nsenter
    const server = spawn("nsenter", [`--net=${netns}`, "--", process.execPath, "-e", "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));s.bind(5353,()=>console.log('ready'));"], { stdio: ["ignore", "pipe", "inherit"] });
    servers.push(server);
    await new Promise((r) => server.stdout!.once("data", r));
    const reply = await new Promise<string>((resolve, reject) => {
      const c = dgram.createSocket("udp4");
      const timer = setTimeout(() => (c.close(), reject(new Error("no UDP reply within 3s"))), 3_000);
      c.on("message", (m) => (clearTimeout(timer), c.close(), resolve(String(m))));
      c.send("ping", 19153, "127.0.0.1");
    });
    expect(reply).toBe("echo:ping");
    const reply6 = await new Promise<string>((resolve, reject) => {
      const c = dgram.createSocket("udp6");
      const timer = setTimeout(() => (c.close(), reject(new Error("no UDP reply over ::1 within 3s"))), 3_000);
      c.on("message", (m) => (clearTimeout(timer), c.close(), resolve(String(m))));
      c.send("ping6", 19154, "::1");
    });
    expect(reply6).toBe("echo:ping6");
    server.kill("SIGKILL");

    const random = st.ports!.find((p) => p.containerPort === 80)!;
    expect(random.hostIP).toBe("127.0.0.1");
    expect(random.hostPort).toBeGreaterThanOrEqual(1024);
    expect((await cli(["port", "udp", "80"])).stdout).toBe(`127.0.0.1:${random.hostPort}\n`);
    expect((await cli(["port", "udp"])).stdout).toBe(`5353/udp -> 127.0.0.1:19153\n80/tcp -> 127.0.0.1:${random.hostPort}\n5353/udp -> [::1]:19154\n`);
    expect((await cli(["get", "ctr", "udp", "-o", "wide"])).stdout).toContain(`127.0.0.1:19153->5353/udp, 127.0.0.1:${random.hostPort}->80/tcp`);
    // a TCP listener in the namespace answers through the random port
    const tcp = spawn("nsenter", [`--net=${netns}`, "--", process.execPath, "-e", "require('net').createServer(s=>s.end('tcp-ok\\n')).listen(80,()=>console.log('ready'))"], { stdio: ["ignore", "pipe", "inherit"] });
    servers.push(tcp);
    await new Promise((r) => tcp.stdout!.once("data", r));
    const body = await new Promise<string>((resolve, reject) => {
      let got = "";
      const s = net.connect({ host: "127.0.0.1", port: random.hostPort });
      s.setTimeout(3_000, () => (s.destroy(), reject(new Error("timeout"))));
      s.on("data", (d) => (got += d));
      s.on("end", () => resolve(got));
      s.on("error", reject);
    });
    expect(body).toBe("tcp-ok\n");
    tcp.kill("SIGKILL");
  });

  it("changing a port moves it without recreating the container", async () => {
    const id = (await status("pubweb")).containerId;
    await apply("pub", ctr("pubweb", ...httpd(path.join(env.base, "site-web")), "ports: ['127.0.0.1:19182:80', '19181:80', '[::1]:19183:80']"));
    await until("19182 to serve", async () => ((await portOpen(19182)) ? true : undefined), 10_000, 100);
    expect(await httpGet(19182)).toBe("shop-web\n");
    expect(await portOpen(19180, 500)).toBe(false);
    expect((await status("pubweb")).containerId).toBe(id);
  });

  it("daemon restarts (SIGTERM and kill -9) keep addresses and rules and add no duplicates", async () => {
    const before = { rules: ourRules().sort(), web: await ipOf("web"), pub: await status("pubweb") };
    expect(before.rules.length).toBeGreaterThan(20);
    for (const signal of ["SIGTERM", "SIGKILL", "SIGKILL", "SIGTERM", "SIGKILL", "SIGKILL"] as const) {
      await daemon!.stop(signal);
      daemon = await startCliDaemon(env);
    }
    await untilCli("pubweb running", () => cli(["get", "ctr", "pubweb", "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.phase === "Running");
    expect(ourRules().sort()).toEqual(before.rules);
    expect(await ipOf("web")).toBe(before.web);
    expect((await status("pubweb")).ports).toEqual(before.pub.ports);
    expect(await httpGet(19182)).toBe("shop-web\n");
    expect(await bodyFrom("client", "http://web/")).toBe("shop-web\n");
  });

  it("a kill -9 mid-apply leaves no orphan: the next daemon converges, and deleting everything leaves the host as it was", async () => {
    const f = path.join(env.base, "burst.yaml");
    writeFileSync(f, netw("burst") + ["a", "b", "c"].map((n) => ctr(n, ...sleeper, "networks: [burst]", `ports: ['127.0.0.1:1919${["a", "b", "c"].indexOf(n)}:80']`)).join(""));
    expect((await cli(["apply", "--stack", "burst", "-f", f])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 150));
    await daemon!.stop("SIGKILL");
    daemon = await startCliDaemon(env);
    await until("the burst to converge", async () => {
      const r = await cli(["get", "ctr", "-o", "json"]);
      const items = (JSON.parse(r.stdout) as { items: { metadata: { name: string }; status: { phase: string; message?: string } }[] }).items;
      const pending = items.filter((i) => i.status.phase !== "Running").map((i) => `${i.metadata.name}: ${i.status.phase} ${i.status.message ?? ""}`);
      if (pending.length) throw new Error(pending.join("; "));
      return true;
    }, 60_000, 250);
    expect((await status("c")).ports).toEqual([{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: 19192, containerPort: 80 }]);

    for (const stack of ["burst", "udp", "pub", "sealed", "other", "shop"]) {
      const r = await cli(["delete", "-f", path.join(env.base, `${stack}.yaml`)]);
      expect(r.code, r.stderr).toBe(0);
    }
    await untilCli("every container gone", () => cli(["get", "ctr"]), (r) => r.stdout === "", 60_000);
    // a network's bridge goes before its address range is released: both are awaited
    const ipamNetworks = () => Object.keys((JSON.parse(readFileSync(path.join(env.root, "networks", "ipam.json"), "utf8")) as { networks: Record<string, unknown> }).networks);
    await until("the networks to go", async () => ((await netLeftovers(env.root)).length === 0 && ipamNetworks().length === 0 ? true : undefined), 30_000, 250);
    expect(await netLeftovers(env.root)).toEqual([]);
    expect(ipamNetworks()).toEqual([]);
  });
});
