import { afterEach, describe, expect, it, vi } from "vitest";
import { unavailable } from "../../../lib/errors.js";
import { containerObject, containerYaml, startHarness, type Harness } from "../../testing.js";
import { defaultNetworkName } from "../../store/keys.js";
import { networkPlanOf, portRequestsOf } from "./networking.js";

const network = (name: string, ...spec: string[]) => [`apiVersion: berth/v1`, `kind: Network`, `metadata: {name: ${name}}`, ...(spec.length ? ["spec:", ...spec.map((l) => `  ${l}`)] : [])].join("\n") + "\n---\n";

describe("networkPlanOf and portRequestsOf", () => {
  it("a container naming no network joins its stack's default one; host, none and container: are kept", () => {
    expect(networkPlanOf(containerObject("web"), "shop")).toEqual({ mode: "bridge", networks: [{ name: "shop-default", aliases: [], implicit: true }] });
    expect(networkPlanOf(containerObject("web", { networkMode: "bridge" }), "shop")).toMatchObject({ mode: "bridge", networks: [{ name: "shop-default" }] });
    expect(networkPlanOf(containerObject("web", { networks: [{ name: "front", aliases: ["www"] }] }), "shop")).toEqual({ mode: "bridge", networks: [{ name: "front", aliases: ["www"], implicit: false }] });
    expect(networkPlanOf(containerObject("web", { networkMode: "host" }), "shop")).toEqual({ mode: "host" });
    expect(networkPlanOf(containerObject("web", { networkMode: "container:db" }), "shop")).toEqual({ mode: "container", container: "db" });
  });

  it("a long stack name still gives a valid, distinct default network name", () => {
    const a = defaultNetworkName("a".repeat(60));
    const b = defaultNetworkName("a".repeat(59) + "b");
    expect(a).toMatch(/^[a-z0-9][-a-z0-9]{0,61}[a-z0-9]$/);
    expect(a).not.toBe(b);
  });

  it("publishAll adds every EXPOSEd port not published already, on a free host port; sctp is refused; an IPv6 host address is kept", () => {
    const obj = containerObject("web", { publishAll: true, ports: [{ containerPort: 80, hostPort: 8080, protocol: "tcp" }] });
    expect(portRequestsOf(obj, { "80/tcp": {}, "53/udp": {}, "9000": {}, "7/sctp": {} })).toEqual([
      { protocol: "tcp", hostPort: 8080, containerPort: 80 },
      { protocol: "udp", hostPort: 0, containerPort: 53 },
      { protocol: "tcp", hostPort: 0, containerPort: 9000 },
    ]);
    expect(() => portRequestsOf(containerObject("x", { ports: [{ containerPort: 5, protocol: "sctp" }] }))).toThrow(/sctp ports are not supported/);
    expect(portRequestsOf(containerObject("x", { ports: [{ containerPort: 5, hostIP: "::1", protocol: "tcp" }] }))).toEqual([{ protocol: "tcp", hostIP: "::1", hostPort: 0, containerPort: 5 }]);
  });
});

describe("container networking on the fake runtime", () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("a container whose declared network is not ready waits for it, naming it — no reconcile error — and is made once it is", async () => {
    h = await startHarness();
    const create = vi.spyOn(h.networks, "create").mockRejectedValueOnce(unavailable("create network front: the bridge is busy"));
    await h.apply(network("front") + containerYaml("web").replace("spec:\n", "spec:\n  networks: [{name: front}]\n"), { stack: "shop" });
    const st = await h.status("web");
    expect(st.phase).not.toBe("Running");
    expect(st.reason).toBe("Waiting");
    expect(st.message).toMatch(/waits for network front: .*the bridge is busy/);
    expect(h.events("ReconcileError", "container/web")).toEqual([]);
    expect(h.containers.calls.filter((c) => c.method === "create")).toEqual([]);
    // The network's retry succeeds: its reconcile enqueues the container, which is made and started.
    await h.advance(2_000, 50);
    expect(create.mock.calls.length).toBeGreaterThan(1);
    expect((await h.status("web")).phase).toBe("Running");
  });

  it("a static ipv4Address is reserved and connected as asked; extraHosts (host-gateway: the first network's gateway) and dns reach the create spec", async () => {
    h = await startHarness();
    const reserve = vi.spyOn(h.networks, "reserve");
    const connect = vi.spyOn(h.networks, "connect");
    const yaml = containerYaml("web").replace(
      "spec:\n",
      "spec:\n  networks: [{name: front, ipv4Address: 127.89.0.10}]\n  extraHosts: ['db.example:10.9.0.2', 'host.docker.internal:host-gateway']\n  dns: [10.9.0.53]\n  dnsSearch: [corp.example]\n",
    );
    await h.apply(network("front") + yaml, { stack: "shop" });
    expect((await h.status("web")).phase).toBe("Running");
    expect(reserve).toHaveBeenCalledWith("front", "web", { address: "127.89.0.10" });
    expect(connect.mock.calls[0]![0]).toMatchObject({ network: "front", container: "web", address: "127.89.0.10", upstreams: ["10.9.0.53"] });
    const spec = h.containers.specOf("web");
    const gateway = (await h.networks.inspect("front")).gateway;
    expect(spec.extraHosts).toEqual([
      { address: "10.9.0.2", names: ["db.example"] },
      { address: gateway, names: ["host.docker.internal"] },
    ]);
    expect(spec.dns).toEqual({ nameservers: [gateway], search: ["corp.example"], options: ["ndots:0"], upstreams: ["10.9.0.53"] });
  });

  it("extraHosts host-gateway without a network waits, naming it", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web").replace("spec:\n", "spec:\n  networkMode: none\n  extraHosts: ['gw:host-gateway']\n"), { stack: "shop" });
    expect((await h.status("web")).message).toMatch(/extraHosts gw:host-gateway needs a network/);
  });

  it("containers of a stack share its default network, made on demand and removed with its last container", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web") + containerYaml("api"), { stack: "shop" });
    expect((await h.status("web")).phase).toBe("Running");
    const net = await h.networks.inspect("shop-default");
    expect(net.containers).toEqual(["api", "web"]);
    expect(net.labels).toMatchObject({ "berth.dev/default-network": "true" });
    const web = await h.status("web");
    expect(web.networkMode).toBe("bridge");
    expect(web.networks).toEqual([{ network: "shop-default", address: expect.stringMatching(/^127\.89\.0\.\d+\/24$/), gateway: "127.89.0.1", aliases: [] }]);
    // resolv.conf and hosts of the created container: the gateway's resolver, its own address
    const spec = h.containers.specOf("web");
    expect(spec.networkMode).toBe("bridge");
    expect(spec.dns).toEqual({ nameservers: ["127.89.0.1"], search: [], options: ["ndots:0"] });
    expect(spec.hosts).toEqual([{ address: web.networks![0]!.address.split("/")[0], names: ["web"] }]);

    await h.apply(containerYaml("api"), { stack: "shop", prune: true });
    expect((await h.networks.inspect("shop-default")).containers).toEqual(["api"]);
    await h.apply("", { stack: "shop", prune: true });
    await expect(h.networks.inspect("shop-default")).rejects.toThrow(/no such network/);
  });

  it("a declared Network is created with its settings and shown on status; its containers wait for it and join it with their aliases", async () => {
    h = await startHarness();
    await h.apply(network("back", "subnet: 10.99.0.0/24", "internal: true") + containerYaml("db", "networks: [{name: back, aliases: [database]}]"));
    const st = (await h.controller.api.get("Network", "back")).status;
    expect(st).toMatchObject({ ready: true, subnet: "10.99.0.0/24", gateway: "10.99.0.1", internal: true });
    expect((await h.status("db")).phase).toBe("Running");
    expect(await h.networks.attachments("db")).toEqual([expect.objectContaining({ network: "back", ifname: "eth0", names: ["db", "database"] })]);
    expect(h.networks.networks.has("s-default")).toBe(false);
  });

  it("a container on a network nobody declares waits with a status that says so", async () => {
    h = await startHarness();
    await h.apply(containerYaml("db", "networks: [ghost]"));
    const st = await h.status("db");
    expect(st.phase).toBe("Pending");
    expect(st.message).toMatch(/network ghost is not declared/);
    await h.apply(network("ghost") + containerYaml("db", "networks: [ghost]"));
    await h.advance(2_000, 100);
    expect((await h.status("db")).phase).toBe("Running");
  });

  it("changing ports re-publishes them in place: same container id, new host port, no recreate", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web", "ports: ['127.0.0.1:8080:80', '53/udp']"));
    const before = await h.status("web");
    expect(before.ports).toEqual([
      { protocol: "tcp", hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80 },
      { protocol: "udp", hostIP: "0.0.0.0", hostPort: 32768, containerPort: 53 },
    ]);
    await h.apply(containerYaml("web", "ports: ['127.0.0.1:9090:80', '53/udp']"));
    const after = await h.status("web");
    expect(after.containerId).toBe(before.containerId);
    // the random port of the mapping asked for again is kept
    expect(after.ports).toEqual([
      { protocol: "tcp", hostIP: "127.0.0.1", hostPort: 9090, containerPort: 80 },
      { protocol: "udp", hostIP: "0.0.0.0", hostPort: 32768, containerPort: 53 },
    ]);
    expect(h.events("Recreated")).toHaveLength(0);
    expect(h.events("Published").map((e) => e.message)).toEqual(["published 127.0.0.1:8080->80/tcp, 32768->53/udp", "published 127.0.0.1:9090->80/tcp, 32768->53/udp"]);
    const publishes = h.networks.calls.publish;
    await h.advance(5_000, 500); // resyncs publish nothing new
    expect(h.networks.calls.publish).toBe(publishes);
  });

  it("a host port another container publishes is a clear error on status; the first keeps it", async () => {
    h = await startHarness();
    await h.apply(containerYaml("a", "ports: ['8080:80']"), { stack: "one" });
    await h.apply(containerYaml("b", "ports: ['8080:80']"), { stack: "two" });
    expect((await h.status("a")).ports).toEqual([{ protocol: "tcp", hostIP: "0.0.0.0", hostPort: 8080, containerPort: 80 }]);
    const b = await h.status("b");
    expect(b.message).toMatch(/8080\/tcp: the port is already in use/);
    expect(b.phase).toBe("Pending");
  });

  it("container:<name> waits for that container to run, then shares its namespace and is recreated with it", async () => {
    h = await startHarness();
    await h.apply(containerYaml("side", "networkMode: 'container:main'"));
    expect((await h.status("side")).message).toMatch(/waiting for container main to run/);
    await h.apply(containerYaml("main") + containerYaml("side", "networkMode: 'container:main'"));
    await h.advance(2_000, 100);
    const main = await h.status("main");
    expect((await h.status("side")).phase).toBe("Running");
    expect(h.containers.specOf("side").networkMode).toBe(`container:${main.containerId}`);
    const sideId = (await h.status("side")).containerId;
    // main is recreated (a new namespace): side follows
    await h.apply(containerYaml("main", "env: {X: '2'}") + containerYaml("side", "networkMode: 'container:main'"));
    await h.advance(2_000, 100);
    expect((await h.status("main")).containerId).not.toBe(main.containerId);
    expect((await h.status("side")).containerId).not.toBe(sideId);
    expect(h.containers.specOf("side").networkMode).toBe(`container:${(await h.status("main")).containerId}`);
  });

  it("a recreated container keeps its address; a deleted one releases it and its ports", async () => {
    h = await startHarness();
    await h.apply(containerYaml("web", "ports: ['8080:80']"));
    const addr = (await h.status("web")).networks![0]!.address;
    await h.apply(containerYaml("web", "ports: ['8080:80']", "env: {B: '1'}"));
    expect((await h.status("web")).networks![0]!.address).toBe(addr);
    await h.apply("", { prune: true });
    expect(await h.networks.published("web")).toEqual({ requested: [], published: [] });
    expect(await h.networks.attachments()).toEqual([]);
  });

  it("host and none containers touch no network", async () => {
    h = await startHarness();
    await h.apply(containerYaml("h", "networkMode: host") + containerYaml("n", "networkMode: none"));
    expect((await h.status("h")).phase).toBe("Running");
    expect(h.containers.specOf("h").networkMode).toBe("host");
    expect(h.containers.specOf("n").networkMode).toBe("none");
    expect(await h.networks.list()).toEqual([]);
  });
});

describe("deleting a network", () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("is refused while a container uses it, naming the containers; once they are gone it is removed", async () => {
    h = await startHarness();
    await h.apply(network("back") + containerYaml("db", "networks: [back]") + containerYaml("api", "networks: [back]"));
    await expect(h.controller.api.delete("Network", "back")).rejects.toThrow("delete network back: it is in use by container/api, container/db; delete them first");
    expect((await h.controller.api.get("Network", "back")).status).toMatchObject({ ready: true });
    await h.controller.api.delete("Container", "db");
    await h.controller.api.delete("Container", "api");
    await h.settle();
    await h.controller.api.delete("Network", "back");
    await h.settle();
    expect(await h.networks.list()).toEqual([]);
  });

  it("pruned with its containers in one apply, it waits for them to go (status InUse meanwhile), then goes", async () => {
    h = await startHarness();
    await h.apply(network("back") + containerYaml("db", "networks: [back]", "stopGracePeriod: 5s"));
    h.containers.setStopBehavior("db", "ignore-term");
    await h.apply("", { prune: true });
    await h.advance(2_000, 500);
    // db is still stopping (it ignores SIGTERM for its 5s grace period): the network waits
    expect((await h.networks.inspect("back")).containers).toEqual(["db"]);
    await h.advance(8_000, 500);
    expect(await h.networks.list()).toEqual([]);
    expect(h.events("Removed").map((e) => e.object)).toEqual(["container/db", "network/back"]);
  });
});
