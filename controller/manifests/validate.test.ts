import { describe, expect, it } from "vitest";
import { container, diagnose } from "./testing.js";

// container() puts spec lines from line 7 on; `image: busybox` is line 6.
describe("envelope", () => {
  it("names the missing and the wrong parts of the envelope", () => {
    expect(diagnose("kind: Volume\nmetadata: {name: v}\n")).toEqual(['t.yaml:1:1: error: volume/v: apiVersion: missing required field "apiVersion"']);
    expect(diagnose("apiVersion: v1\nkind: Volume\nmetadata: {name: v}\n")).toEqual([
      't.yaml:1:13: error: volume/v: apiVersion: expected "berth/v1", got "v1"',
    ]);
    expect(diagnose("apiVersion: berth/v1\nkind: Pod\nmetadata: {name: v}\n")).toEqual([
      't.yaml:2:7: error: pod/v: kind: unknown kind "Pod": expected one of Image, Volume, Network, Container, HealthCheck',
    ]);
    expect(diagnose("apiVersion: berth/v1\nkind: volume\nmetadata: {name: v}\n")).toEqual([
      't.yaml:2:7: error: volume/v: kind: unknown kind "volume": expected one of Image, Volume, Network, Container, HealthCheck; did you mean "Volume"?',
    ]);
    expect(diagnose("- a\n- b\n")).toEqual(["t.yaml:1:1: error: expected a mapping with apiVersion, kind, metadata and spec, got a list"]);
    expect(diagnose("apiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\nstatus: {}\n")).toEqual([
      't.yaml:4:1: error: volume/v: status: unknown field "status"; known fields: apiVersion, kind, metadata, spec',
    ]);
  });

  it.each([
    ["web/app", "expected a name of lowercase letters"],
    ["..", "expected a name of lowercase letters"],
    ["a;rm -rf /", "expected a name of lowercase letters"],
    ["$(reboot)", "expected a name of lowercase letters"],
    ["a".repeat(64), "expected at most 63 characters, got 64"],
    ["-web", "expected a name of lowercase letters"],
  ])("refuses the name %j", (name, message) => {
    const out = diagnose(`apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: ${JSON.stringify(name)}\n`);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^t\.yaml:4:9: error: volume\/.*: metadata\.name: /);
    expect(out[0]).toContain(message);
  });

  it("refuses a NUL in a name (escaped in YAML)", () => {
    expect(diagnose('apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: "a\\0b"\n')[0]).toMatch(/^t\.yaml:4:9: .*metadata\.name: expected a name of lowercase/);
  });

  it("suggests the obvious valid name", () => {
    expect(diagnose("apiVersion: berth/v1\nkind: Volume\nmetadata: {name: My_Data}\n")[0]).toMatch(/did you mean "my-data"\?$/);
  });

  it("validates label keys and values", () => {
    const out = diagnose("apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: v\n  labels:\n    ok.example.com/x: y\n    'bad key': y\n    k: 'bad value!'\n");
    expect(out).toEqual([
      `t.yaml:7:5: error: volume/v: metadata.labels["bad key"]: invalid key "bad key": expected a label key: an optional DNS prefix and '/', then letters, digits, '-', '_' or '.'`,
      `t.yaml:8:8: error: volume/v: metadata.labels.k: expected a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got "bad value!"`,
    ]);
  });

  it("reports every error of a file at once, across documents", () => {
    const out = diagnose(container("  imagee: x\n") + "---\n" + container("  ports: [0]\n", "b"));
    expect(out).toEqual([
      't.yaml:7:3: error: container/web: spec.imagee: unknown field "imagee"; did you mean "image"?',
      "t.yaml:15:11: error: container/b: spec.ports[0]: expected an integer from 1 to 65535, got 0",
    ]);
  });

  it("reports schema and semantic errors of one object together", () => {
    const noImage = "apiVersion: berth/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  imagee: busybox\n  ports: ['8080:70000']\n";
    expect(diagnose(noImage)).toEqual([
      't.yaml:5:3: error: container/web: spec.imagee: unknown field "imagee"; did you mean "image"?',
      "t.yaml:6:11: error: container/web: spec.ports[0]: port 70000 is out of range: expected 1 to 65535",
    ]);
    expect(diagnose(container("  imagee: x\n  ports: ['8080:70000']\n  restartPolicy: {name: always, maxRetries: 2}\n"))).toEqual([
      't.yaml:7:3: error: container/web: spec.imagee: unknown field "imagee"; did you mean "image"?',
      "t.yaml:8:11: error: container/web: spec.ports[0]: port 70000 is out of range: expected 1 to 65535",
      "t.yaml:9:45: error: container/web: spec.restartPolicy.maxRetries: maxRetries applies only to on-failure, not always",
    ]);
    // A semantic error under a field that has a schema error is not repeated.
    expect(diagnose(container("  ports: ['8080:70000', true]\n"))).toEqual([
      "t.yaml:7:11: error: container/web: spec.ports[0]: port 70000 is out of range: expected 1 to 65535",
      't.yaml:7:25: error: container/web: spec.ports[1]: expected a port mapping such as "80", "8080:80", "127.0.0.1:8080:80/udp" or "8000-8010:8000-8010", got true',
    ]);
  });

  it("refuses two objects of the same kind and name, pointing at the first", () => {
    const out = diagnose("apiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\n---\napiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\n");
    expect(out).toEqual(["t.yaml:7:18: error: volume/v: metadata.name: volume/v is defined twice; first at t.yaml:1:1; rename or remove one of them"]);
    // Same name, different kind: fine.
    expect(diagnose("apiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\n---\napiVersion: berth/v1\nkind: Network\nmetadata: {name: v}\n")).toEqual([]);
  });
});

describe("Container", () => {
  it("accepts the minimal container", () => expect(diagnose(container(""))).toEqual([]));

  it.each([
    ["  ports: [70000]\n", "7:11: error: container/web: spec.ports[0]: expected an integer from 1 to 65535, got 70000"],
    ["  ports: ['80:80:80:80']\n", '7:11: error: container/web: spec.ports[0]: expected a port mapping such as "80", "8080:80", "127.0.0.1:8080:80/udp" or "8000-8010:8000-8010", got "80:80:80:80"'],
    ["  ports: ['8080:70000']\n", "7:11: error: container/web: spec.ports[0]: port 70000 is out of range: expected 1 to 65535"],
    ["  ports: ['8000-8002:80-81']\n", "7:11: error: container/web: spec.ports[0]: host port range 8000-8002 has 3 ports but container range 80-81 has 2"],
    ["  ports: ['999.1.1.1:80:80']\n", '7:11: error: container/web: spec.ports[0]: expected an IP address before the host port, got "999.1.1.1"'],
    ["  ports: [{containerPort: 80, hostPort: 99999}]\n", "7:41: error: container/web: spec.ports[0].hostPort: expected an integer from 0 to 65535, got 99999"],
    ["  ports: [{hostPort: 80}]\n", '7:11: error: container/web: spec.ports[0].containerPort: missing required field "containerPort"'],
    ["  ports: ['8080:80', '8080:81']\n", "7:10: error: container/web: spec.ports: host port 8080/tcp is published twice"],
    ["  mounts: ['data:relative']\n", '7:12: error: container/web: spec.mounts[0]: expected an absolute path in the container, got "relative"'],
    ["  mounts: ['data:/a/../etc']\n", '7:12: error: container/web: spec.mounts[0]: mount target must not contain \'..\', got "/a/../etc"'],
    ["  mounts: ['Data_Vol:/x']\n", '7:12: error: container/web: spec.mounts[0]: volume name "Data_Vol" is not valid: expected lowercase letters, digits and \'-\'; for a host directory, start the path with / or ./'],
    ["  mounts: ['a:/x', 'b:/x']\n", "7:20: error: container/web: spec.mounts[1].target: /x is already mounted by mounts[0]"],
    ["  mounts: [{type: bind, target: /x}]\n", '7:12: error: container/web: spec.mounts[0].source: missing required field "source": the host path to bind'],
    ["  mounts: [{type: volume, source: d, target: /x, size: 1Mi}]\n", "7:56: error: container/web: spec.mounts[0].size: size applies only to tmpfs mounts"],
    ["  mounts: [{type: nfs, target: /x}]\n", "7:19: error: container/web: spec.mounts[0].type: expected one of volume, bind, tmpfs, got \"nfs\""],
    ["  restartPolicy: on-failure:x\n", '7:18: error: container/web: spec.restartPolicy: expected no, always, unless-stopped, on-failure or on-failure:N, got "on-failure:x"'],
    ["  restartPolicy: {name: always, maxRetries: 3}\n", "7:45: error: container/web: spec.restartPolicy.maxRetries: maxRetries applies only to on-failure, not always"],
    ["  restartPolicy: {name: on-failure, backoff: {initial: 10s, max: 1s}}\n", "7:66: error: container/web: spec.restartPolicy.backoff.max: expected max to be at least initial"],
    ["  restartPolicy: {name: alway}\n", '7:25: error: container/web: spec.restartPolicy.name: expected one of no, on-failure, always, unless-stopped, got "alway"; did you mean "always"?'],
    ["  healthcheck: {interval: 10s}\n", "7:16: error: container/web: spec.healthcheck: exactly one of exec, shell, http or tcp is required; or set disable: true"],
    ["  healthcheck: {exec: ['true'], tcp: {port: 1}}\n", "7:16: error: container/web: spec.healthcheck: only one of exec, shell, http or tcp may be set, found exec and tcp"],
    ["  healthcheck: {shell: 'true', interval: 10}\n", "7:42: error: container/web: spec.healthcheck.interval: expected a string, got 10"],
    ["  healthcheck: {shell: 'true', interval: 10sec}\n", '7:42: error: container/web: spec.healthcheck.interval: expected a duration such as 500ms, 10s or 1m30s, got "10sec"'],
    ["  healthcheck: {http: {port: 80, path: healthz}}\n", '7:40: error: container/web: spec.healthcheck.http.path: expected a path starting with \'/\', got "healthz"'],
    ["  healthcheck: {shell: 'true', retries: 0}\n", "7:41: error: container/web: spec.healthcheck.retries: expected an integer from 1 to 1000, got 0"],
    ["  onUnhealthy: kill\n", '7:16: error: container/web: spec.onUnhealthy: expected one of restart, stop, none, got "kill"'],
    ["  dependsOn: [web]\n", "7:15: error: container/web: spec.dependsOn[0]: a container cannot depend on itself"],
    ["  dependsOn: [{name: db, condition: ready}]\n", '7:37: error: container/web: spec.dependsOn[0].condition: expected one of started, healthy, completed, got "ready"'],
    ["  networks: [{name: front, ipv4Address: 172.28.0.300}]\n", '7:41: error: container/web: spec.networks[0].ipv4Address: expected an IPv4 address such as 172.28.0.10, got "172.28.0.300"'],
    ["  extraHosts: ['db']\n", '7:16: error: container/web: spec.extraHosts[0]: expected "name:address" or "name=address" (address an IP or host-gateway), got "db"'],
    ["  extraHosts: ['db:10.0.0.300']\n", '7:16: error: container/web: spec.extraHosts[0]: invalid address "10.0.0.300" for host db; use an IPv4 or IPv6 address, or host-gateway'],
    ["  dns: [dns.google]\n", '7:9: error: container/web: spec.dns[0]: expected an IP address, got "dns.google"'],
    ["  dnsOptions: ['ndots 2']\n", '7:16: error: container/web: spec.dnsOptions[0]: expected a resolver option such as ndots:2 or edns0, got "ndots 2"'],
    ["  networkMode: container:db\n  dns: [1.1.1.1]\n", "8:8: error: container/web: spec.dns: dns cannot be set with networkMode container:db: the container uses the other's resolv.conf; remove dns"],
    ["  stdinOnce: true\n", "7:14: error: container/web: spec.stdinOnce: stdinOnce needs stdin: true (there is no stdin to close otherwise); add stdin: true"],
    ["  resources: {memory: 1Mi}\n", "7:23: error: container/web: spec.resources.memory: memory limit must be at least 6MiB, got 1048576 bytes"],
    ["  resources: {memory: lots}\n", '7:23: error: container/web: spec.resources.memory: expected a size such as 64Mi, 512m, 1G or a number of bytes, got "lots"'],
    ["  resources: {cpus: -1}\n", "7:21: error: container/web: spec.resources.cpus: expected a number greater than 0, got -1"],
    ["  resources: {cpus: '0'}\n", "7:21: error: container/web: spec.resources.cpus: expected a number of CPUs greater than 0, got \"0\""],
    ["  resources: {pids: 0}\n", "7:21: error: container/web: spec.resources.pids: expected an integer at least 1, got 0"],
    ["  stopSignal: SIGNOPE\n", '7:15: error: container/web: spec.stopSignal: unknown signal "SIGNOPE"; use e.g. SIGTERM, SIGINT, SIGQUIT'],
    ["  capAdd: [NET_ADMN]\n", '7:12: error: container/web: spec.capAdd[0]: unknown capability "NET_ADMN"'],
    ["  privileged: true\n", "7:15: error: container/web: spec.privileged: privileged containers are refused: they have full control of the host; run berth with --allow-privileged to permit them"],
    ["  networkMode: host\n  networks: [front]\n", "7:16: error: container/web: spec.networkMode: networkMode host cannot be combined with networks; remove one of them"],
    ["  networkMode: bridged\n", '7:16: error: container/web: spec.networkMode: expected host, none, bridge or container:<name>, got "bridged"'],
    ["  networkMode: host\n  ports: ['80:80']\n", "8:10: error: container/web: spec.ports: ports cannot be published with networkMode host: the container already uses the host's ports; remove ports"],
    ["  user: 'root; rm -rf /'\n", '7:9: error: container/web: spec.user: expected "uid", "uid:gid", "name" or "name:group", got "root; rm -rf /"'],
    ["  command: \"sh -c 'echo\"\n", "7:12: error: container/web: spec.command: cannot split into arguments: unterminated single quote; write it as a list of strings"],
    ["  env: {'A=B': x}\n", `7:9: error: container/web: spec.env["A=B"]: invalid key "A=B": expected an environment variable name without '='`],
    ["  env: [{name: A, value: 1}, A=2]\n", "7:30: error: container/web: spec.env[1]: variable A is set twice"],
    ["  env: 'A=1'\n", '7:8: error: container/web: spec.env: expected a map of NAME: value, or a list of {name, value} or NAME=value, got "A=1"'],
    ["  workingDir: srv\n", '7:15: error: container/web: spec.workingDir: expected an absolute path, got "srv"'],
    ["  readOnlyRootfs: 'yes'\n", '7:19: error: container/web: spec.readOnlyRootfs: expected true or false, got "yes"'],
  ])("%j", (spec, want) => {
    expect(diagnose(container(spec))).toEqual([`t.yaml:${want}`]);
  });

  it("checks the image reference", () => {
    const text = "apiVersion: berth/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: 'Bad Image'\n";
    expect(diagnose(text)).toEqual([
      't.yaml:5:10: error: container/web: spec.image: expected an image reference such as busybox, busybox:1.36 or localhost:5000/team/app:1.0, got "Bad Image"',
    ]);
  });

  it("allows privileged containers when the operator allows them", () => {
    expect(diagnose(container("  privileged: true\n"), { allowPrivileged: true })).toEqual([]);
  });

  it("finds dependency cycles across the set", () => {
    const text = [container("  dependsOn: [b]\n", "a"), container("  dependsOn: [c]\n", "b"), container("  dependsOn: [a]\n", "c")].join("---\n");
    expect(diagnose(text)).toEqual(["t.yaml:7:15: error: container/a: spec.dependsOn[0]: dependency cycle: a → b → c → a"]);
  });

  it("finds host ports published by two containers", () => {
    const text = [container("  ports: ['127.0.0.1:8080:80']\n", "a"), container("  ports: ['8080:80']\n", "b"), container("  ports: ['127.0.0.2:9090:80']\n", "c"), container("  ports: ['127.0.0.3:9090:80']\n", "d")].join("---\n");
    expect(diagnose(text)).toEqual(["t.yaml:15:10: error: container/b: spec.ports: host port 8080/tcp is also published by container/a"]);
  });
});

describe("Image", () => {
  const image = (spec: string, name = "img") => `apiVersion: berth/v1\nkind: Image\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
  it.each([
    ["  pull: busybox:1.36\n"],
    ["  reference: localhost/app:1\n  build: {context: ., dockerfile: docker/Dockerfile, args: {V: 1}, target: prod}\n"],
    ["  reference: localhost/app:1\n  build: {context: ., dockerfileInline: 'FROM scratch'}\n"],
    ["  reference: localhost/app:1\n  import: {path: ./a.tar}\n  pullPolicy: never\n"],
    ["  reference: localhost/app:1\n  import: {path: ./rootfs.tgz, format: rootfs, config: {cmd: [sh], env: {A: 1}}}\n"],
  ])("accepts %j", (spec) => expect(diagnose(image(spec))).toEqual([]));

  it.each([
    ["  pullPolicy: always\n", "t.yaml:6:3: error: image/img: spec: exactly one of pull, build or import is required"],
    ["  pull: busybox\n  import: {path: a.tar}\n", "t.yaml:6:3: error: image/img: spec: only one of pull, build or import may be set, found pull and import"],
    ["  build: {context: .}\n", 't.yaml:6:3: error: image/img: spec.reference: missing required field "reference": an image from build needs the name:tag it produces'],
    ["  reference: x:1\n  build: {context: ., dockerfile: ../../etc/passwd}\n", "t.yaml:7:35: error: image/img: spec.build.dockerfile: expected a path inside the build context (no leading '/', no '..')"],
    ["  reference: x:1\n  build: {context: ., dockerfile: D, dockerfileInline: 'FROM x'}\n", "t.yaml:7:10: error: image/img: spec.build: only one of dockerfile or dockerfileInline may be set"],
    ["  reference: x:1\n  import: {path: a.tar, format: zip}\n", 't.yaml:7:33: error: image/img: spec.import.format: expected one of auto, docker-archive, oci-archive, oci-dir, rootfs, got "zip"'],
    ["  pull: 'upper/CASE'\n", 't.yaml:6:9: error: image/img: spec.pull: expected an image reference such as busybox, busybox:1.36 or localhost:5000/team/app:1.0, got "upper/CASE"'],
    ["  pull: busybox\n  pullPolicy: IfNotPresent\n", 't.yaml:7:15: error: image/img: spec.pullPolicy: expected one of always, ifNotPresent, never, got "IfNotPresent"; did you mean "ifNotPresent"?'],
  ])("%j", (spec, want) => expect(diagnose(image(spec))).toEqual([want]));

  it("refuses two images producing the same reference", () => {
    const out = diagnose(image("  pull: busybox\n", "a") + "---\n" + image("  reference: busybox:latest\n  import: {path: b.tar}\n", "b"));
    expect(out).toEqual(["t.yaml:13:3: error: image/b: spec: image docker.io/library/busybox:latest is also produced by image/a at t.yaml:1:1"]);
  });
});

describe("Volume, Network, HealthCheck", () => {
  const obj = (kind: string, spec: string) => `apiVersion: berth/v1\nkind: ${kind}\nmetadata:\n  name: x\nspec:\n${spec}`;
  it("accepts empty specs for Volume and Network", () => {
    expect(diagnose("apiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\nspec:\n")).toEqual([]);
    expect(diagnose("apiVersion: berth/v1\nkind: Network\nmetadata: {name: n}\nspec: {}\n")).toEqual([]);
  });
  it.each([
    ["Volume", "  driver: nfs\n", 't.yaml:6:11: error: volume/x: spec.driver: expected "local", got "nfs"'],
    ["Volume", "  options: {type: tmpfs, size: huge}\n", 't.yaml:6:32: error: volume/x: spec.options.size: expected a size such as 64Mi, 512m, 1G or a number of bytes, got "huge"'],
    ["Volume", "  options: {sise: 1Mi}\n", 't.yaml:6:13: error: volume/x: spec.options.sise: unknown field "sise"; did you mean "size"?'],
    ["Network", "  subnet: 10.0.0.0/33\n", 't.yaml:6:11: error: network/x: spec.subnet: expected a subnet in CIDR notation such as 10.89.0.0/24, got "10.0.0.0/33"'],
    ["Network", "  subnet: 10.0.0.1/24\n", 't.yaml:6:11: error: network/x: spec.subnet: 10.0.0.1/24 has host bits set; did you mean "10.0.0.0/24"?'],
    ["Network", "  subnet: 10.0.0.0/24\n  gateway: 10.0.1.1\n", "t.yaml:7:12: error: network/x: spec.gateway: gateway 10.0.1.1 is outside subnet 10.0.0.0/24"],
    ["Network", "  subnet: 10.0.0.0/24\n  gateway: 10.0.0.255\n", "t.yaml:7:12: error: network/x: spec.gateway: gateway 10.0.0.255 is the network or broadcast address of 10.0.0.0/24"],
    ["Network", "  gateway: 10.0.0.1\n", "t.yaml:6:12: error: network/x: spec.gateway: gateway needs a subnet; add spec.subnet"],
    ["Network", "  internal: 1\n", "t.yaml:6:13: error: network/x: spec.internal: expected true or false, got 1"],
    ["HealthCheck", "  target: {}\n  tcp: {port: 1}\n", "t.yaml:6:11: error: healthcheck/x: spec.target: exactly one of name or selector is required"],
    ["HealthCheck", "  target: {name: a, selector: {matchLabels: {a: b}}}\n  tcp: {port: 1}\n", "t.yaml:6:11: error: healthcheck/x: spec.target: exactly one of name or selector is required"],
    ["HealthCheck", "  target: {selector: {matchLabels: {}}}\n  tcp: {port: 1}\n", "t.yaml:6:36: error: healthcheck/x: spec.target.selector.matchLabels: an empty selector would match every container; name at least one label"],
    ["HealthCheck", "  target: {name: a}\n", "t.yaml:6:3: error: healthcheck/x: spec: exactly one of exec, shell, http or tcp is required; or set disable: true"],
    ["HealthCheck", "  tcp: {port: 1}\n", 't.yaml:6:3: error: healthcheck/x: spec.target: missing required field "target"'],
    ["HealthCheck", "  target: {name: a}\n  tcp: {port: 1}\n  onUnhealthy: reboot\n", 't.yaml:8:16: error: healthcheck/x: spec.onUnhealthy: expected one of restart, stop, none, got "reboot"'],
  ])("%s %j", (kind, spec, want) => expect(diagnose(obj(kind, spec))).toEqual([want]));
});
