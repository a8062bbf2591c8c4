import { describe, expect, it } from "vitest";
import type { ContainerObject, HealthCheckObject, ImageObject, NetworkObject, VolumeObject } from "./model.js";
import { container, load } from "./testing.js";

function one<T>(text: string): T {
  const r = load(text);
  expect(r.diagnostics).toEqual([]);
  expect(r.objects).toHaveLength(1);
  return r.objects[0] as T;
}
const ctr = (spec: string) => one<ContainerObject>(container(spec)).spec;

describe("Container normalization", () => {
  it("applies Docker's defaults", () => {
    const s = ctr("");
    expect(s).toEqual({
      image: "docker.io/library/busybox:latest",
      env: [],
      envFiles: [],
      ports: [],
      publishAll: false,
      mounts: [],
      networks: [],
      restartPolicy: { name: "no", maxRetries: 0, backoff: { initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 } },
      healthcheckDisabled: false,
      onUnhealthy: "none",
      dependsOn: [],
      resources: {},
      stopGracePeriodMs: 10_000,
      readOnlyRootfs: false,
      capAdd: [],
      capDrop: [],
      privileged: false,
    });
  });

  it("init, extraHosts, dns, dnsSearch and dnsOptions are absent unless set", () => {
    const s = ctr("  init: false\n  extraHosts: []\n  dns: []\n");
    for (const k of ["init", "extraHosts", "dns", "dnsSearch", "dnsOptions"]) expect(s).not.toHaveProperty(k);
    const t = ctr("  init: true\n  dns: [1.1.1.1, '2606:4700::1111']\n  dnsSearch: [corp.example.]\n  dnsOptions: ['ndots:2', edns0]\n");
    expect(t).toMatchObject({ init: true, dns: ["1.1.1.1", "2606:4700::1111"], dnsSearch: ["corp.example"], dnsOptions: ["ndots:2", "edns0"] });
  });

  it("reads extraHosts as Docker's --add-host: name:address, name=address, bracketed IPv6, host-gateway, and the map form", () => {
    expect(ctr("  extraHosts: ['db:10.0.0.2', 'v6=::1', 'w6:[fe80::1]', 'gw:host-gateway']\n").extraHosts).toEqual([
      { name: "db", address: "10.0.0.2" },
      { name: "v6", address: "::1" },
      { name: "w6", address: "fe80::1" },
      { name: "gw", address: "host-gateway" },
    ]);
    expect(ctr("  extraHosts: {db: 10.0.0.2, both: ['10.0.0.3', '::1']}\n").extraHosts).toEqual([
      { name: "db", address: "10.0.0.2" },
      { name: "both", address: "10.0.0.3" },
      { name: "both", address: "::1" },
    ]);
  });

  it("keeps a network's static ipv4Address and dependsOn's restart and required only when they differ from the defaults", () => {
    const s = ctr("  networks: [{name: front, ipv4Address: 172.28.0.10}, back]\n  dependsOn: [{name: db, restart: true, required: false}, {name: cache, restart: false, required: true}]\n");
    expect(s.networks).toEqual([{ name: "front", aliases: [], ipv4Address: "172.28.0.10" }, { name: "back", aliases: [] }]);
    expect(s.dependsOn).toEqual([
      { name: "db", condition: "started", restart: true, required: false },
      { name: "cache", condition: "started" },
    ]);
  });

  it("expands every short port form", () => {
    expect(ctr("  ports: [80, '8080:80', '127.0.0.1:5353:53/udp', '127.0.0.1::9000', '[::1]:8443:443', '7000-7001:8000-8001']\n").ports).toEqual([
      { containerPort: 80, protocol: "tcp" },
      { containerPort: 80, hostPort: 8080, protocol: "tcp" },
      { containerPort: 53, hostPort: 5353, hostIP: "127.0.0.1", protocol: "udp" },
      { containerPort: 9000, hostIP: "127.0.0.1", protocol: "tcp" },
      { containerPort: 443, hostPort: 8443, hostIP: "::1", protocol: "tcp" },
      { containerPort: 8000, hostPort: 7000, protocol: "tcp" },
      { containerPort: 8001, hostPort: 7001, protocol: "tcp" },
    ]);
    expect(ctr("  ports: [{containerPort: 80, hostPort: 8080, hostIP: 127.0.0.1, protocol: udp}]\n").ports).toEqual([
      { containerPort: 80, hostPort: 8080, hostIP: "127.0.0.1", protocol: "udp" },
    ]);
  });

  it("expands short mounts, resolving bind sources against the manifest's directory", () => {
    expect(ctr("  mounts: ['data:/var/lib/x:ro', './site:/www', '../up:/up:rw', '/abs/path:/in/', '/anon']\n").mounts).toEqual([
      { type: "volume", source: "data", target: "/var/lib/x", readOnly: true },
      { type: "bind", source: "/base/site", target: "/www", readOnly: false },
      { type: "bind", source: "/up", target: "/up", readOnly: false },
      { type: "bind", source: "/abs/path", target: "/in", readOnly: false },
      { type: "volume", target: "/anon", readOnly: false },
    ]);
    expect(ctr("  mounts: [{type: tmpfs, target: /t, size: 64Mi, mode: '1777', readOnly: true}]\n").mounts).toEqual([
      { type: "tmpfs", target: "/t", readOnly: true, sizeBytes: 64 * 1024 * 1024, mode: 0o1777 },
    ]);
  });

  it("reads restart policies in both forms", () => {
    expect(ctr("  restartPolicy: on-failure:5\n").restartPolicy).toMatchObject({ name: "on-failure", maxRetries: 5 });
    expect(ctr("  restartPolicy: unless-stopped\n").restartPolicy.name).toBe("unless-stopped");
    expect(ctr('  restartPolicy: "no"\n').restartPolicy.name).toBe("no");
    expect(ctr("  restartPolicy: no\n").restartPolicy.name).toBe("no"); // YAML 1.2: a string, not false
    expect(ctr("  restartPolicy: {name: on-failure, maxRetries: 2, backoff: {initial: 1s, max: 2m, resetAfter: 30s}}\n").restartPolicy).toEqual({
      name: "on-failure",
      maxRetries: 2,
      backoff: { initialMs: 1000, maxMs: 120_000, resetAfterMs: 30_000 },
    });
  });

  it("restarts unhealthy containers by default only when a restart policy is set", () => {
    expect(ctr("  restartPolicy: always\n").onUnhealthy).toBe("restart");
    expect(ctr("").onUnhealthy).toBe("none");
    expect(ctr("  restartPolicy: always\n  onUnhealthy: stop\n").onUnhealthy).toBe("stop");
  });

  it("accepts env as a map, a list of pairs or NAME=value strings", () => {
    expect(ctr("  env: {A: 1, B: true, C: null, D: x=y}\n").env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "true" },
      { name: "C", value: "" },
      { name: "D", value: "x=y" },
    ]);
    expect(ctr("  env: [{name: A, value: 1}, B=2=3, C]\n").env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "2=3" },
      { name: "C", value: "" },
    ]);
  });

  it("splits string commands like a shell, without running one", () => {
    const s = ctr(`  command: sh -c 'echo "a b"; exit 3'\n  args: "x y"\n`);
    expect(s.command).toEqual(["sh", "-c", 'echo "a b"; exit 3']);
    expect(s.args).toEqual(["x", "y"]);
  });

  it("normalizes healthchecks with Docker's defaults", () => {
    expect(ctr("  healthcheck: {http: {port: 8080}}\n").healthcheck).toEqual({
      probe: { type: "http", path: "/", port: 8080, scheme: "http", headers: {} },
      intervalMs: 30_000,
      timeoutMs: 30_000,
      retries: 3,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
    });
    expect(ctr("  healthcheck: {exec: [test, -f, /ok], interval: 1m30s, startPeriod: 500ms}\n").healthcheck).toMatchObject({
      probe: { type: "exec", argv: ["test", "-f", "/ok"] },
      intervalMs: 90_000,
      startPeriodMs: 500,
    });
    const d = ctr("  healthcheck: {disable: true}\n");
    expect(d.healthcheck).toBeUndefined();
    expect(d.healthcheckDisabled).toBe(true);
  });

  it("normalizes dependencies, resources, signals and capabilities", () => {
    const s = ctr("  dependsOn: [db, {name: init, condition: completed}]\n  resources: {memory: 512m, cpus: '1.5', pids: 100}\n  stopSignal: INT\n  capAdd: [net_admin]\n  capDrop: [ALL]\n  networks: [a, {name: b, aliases: [api]}]\n");
    expect(s.dependsOn).toEqual([
      { name: "db", condition: "started" },
      { name: "init", condition: "completed" },
    ]);
    expect(s.resources).toEqual({ memoryBytes: 512 * 1024 * 1024, cpus: 1.5, pids: 100 });
    expect(s.stopSignal).toBe("SIGINT");
    expect(s.capAdd).toEqual(["CAP_NET_ADMIN"]);
    expect(s.capDrop).toEqual(["ALL"]);
    expect(s.networks).toEqual([
      { name: "a", aliases: [] },
      { name: "b", aliases: ["api"] },
    ]);
  });

  it("keeps the source position of each object", () => {
    const r = load("# lead\n" + container(""));
    expect(r.objects[0]!.source).toEqual({ file: "t.yaml", line: 2, column: 1 });
  });
});

describe("other kinds", () => {
  it("Image: defaults the reference to the pull reference and resolves paths", () => {
    expect(one<ImageObject>("apiVersion: berth/v1\nkind: Image\nmetadata: {name: b}\nspec: {pull: busybox}\n").spec).toEqual({
      reference: "docker.io/library/busybox:latest",
      source: { type: "pull", reference: "docker.io/library/busybox:latest" },
      pullPolicy: "ifNotPresent",
    });
    expect(one<ImageObject>("apiVersion: berth/v1\nkind: Image\nmetadata: {name: b}\nspec:\n  reference: localhost/x:1\n  import: {path: ../a.tar}\n").spec.source).toEqual({
      type: "import",
      path: "/a.tar",
      format: "auto",
    });
    expect(one<ImageObject>("apiVersion: berth/v1\nkind: Image\nmetadata: {name: b}\nspec:\n  reference: localhost/x:1\n  build: {context: app, args: {V: 2}}\n").spec.source).toEqual({
      type: "build",
      context: "/base/app",
      args: { V: "2" },
    });
  });

  it("Volume, Network and HealthCheck", () => {
    expect(one<VolumeObject>("apiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\n").spec).toEqual({ driver: "local", options: {} });
    expect(one<VolumeObject>("apiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\nspec: {options: {type: tmpfs, size: 1Gi, mode: '0700'}}\n").spec.options).toEqual({
      type: "tmpfs",
      sizeBytes: 1024 ** 3,
      mode: 0o700,
    });
    expect(one<NetworkObject>("apiVersion: berth/v1\nkind: Network\nmetadata: {name: n}\nspec: {subnet: 10.1.2.0/24}\n").spec).toEqual({
      driver: "bridge",
      subnet: "10.1.2.0/24",
      internal: false,
    });
    expect(one<HealthCheckObject>("apiVersion: berth/v1\nkind: HealthCheck\nmetadata: {name: h}\nspec: {target: {selector: {matchLabels: {a: b}}}, tcp: {port: 5432}, retries: 5, onUnhealthy: stop}\n").spec).toEqual({
      target: { selector: { matchLabels: { a: "b" } } },
      check: { probe: { type: "tcp", port: 5432 }, intervalMs: 30_000, timeoutMs: 30_000, retries: 5, startPeriodMs: 0, startIntervalMs: 5_000 },
      onUnhealthy: "stop",
    });
  });
});
