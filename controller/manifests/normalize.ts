import { isIP } from "node:net";
import * as path from "node:path";
import { canonicalCapability } from "../../lib/capabilities.js";
import { isImageReference, normalizeReference } from "../../lib/reference.js";
import { splitShellWords } from "../../lib/shell-words.js";
import { normalizeSignal } from "../../lib/signals.js";
import { parseDuration, parseSize } from "../../lib/units.js";
import type {
  ContainerSpecInput,
  HealthcheckInput,
  HealthCheckSpecInput,
  ImageSpecInput,
  Kind,
  NetworkSpecInput,
  VolumeSpecInput,
} from "../../schemas/index.js";
import {
  DEFAULTS,
  type AnyObject,
  type ContainerSpec,
  type Healthcheck,
  type HealthCheckSpec,
  type ImageSpec,
  type Mount,
  type NetworkSpec,
  type PortMapping,
  type Probe,
  type RestartPolicy,
  type RestartPolicyName,
  type VolumeSpec,
} from "./model.js";
import type { FieldError } from "./validate.js";

export interface NormalizeOptions {
  /** Directory relative paths (bind sources, build contexts, archives) are resolved against. */
  baseDir: string;
  /** Accept `privileged: true` (off unless the operator allows it). */
  allowPrivileged: boolean;
}

type Seg = (string | number)[];

/** Collects errors at field paths while normalizing. */
class Problems {
  readonly errors: FieldError[] = [];
  add(path: Seg, message: string, suggestion?: string) {
    this.errors.push({ path, message, ...(suggestion ? { suggestion } : {}) });
  }
}

const MIN_MEMORY = 6 * 1024 * 1024; // Docker refuses less than 6MiB, and so do we.
const MAX_PORT_RANGE = 1000;

/**
 * Turns a schema-valid object into its canonical form, checking what a schema cannot say
 * (port ranges, mount targets, exclusive fields, privileged). Returns the object, or errors
 * at field paths when it is not acceptable.
 */
export function normalizeObject(
  value: Record<string, unknown>,
  options: NormalizeOptions,
): { object?: AnyObject; errors: FieldError[] } {
  const p = new Problems();
  const kind = value.kind as Kind;
  const meta = value.metadata as { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  const metadata = { name: meta.name, labels: { ...(meta.labels ?? {}) }, annotations: { ...(meta.annotations ?? {}) } };
  const rawSpec = (value.spec ?? {}) as Record<string, unknown>;
  let spec: unknown;
  switch (kind) {
    case "Image":
      spec = normalizeImage(rawSpec as ImageSpecInput, options, p);
      break;
    case "Container":
      spec = normalizeContainer(rawSpec as ContainerSpecInput, options, p);
      break;
    case "Volume":
      spec = normalizeVolume(rawSpec as VolumeSpecInput, p);
      break;
    case "Network":
      spec = normalizeNetwork(rawSpec as NetworkSpecInput, p);
      break;
    case "HealthCheck":
      spec = normalizeHealthCheck(rawSpec as HealthCheckSpecInput, p);
      break;
  }
  if (p.errors.length) return { errors: p.errors };
  return { object: { apiVersion: "berth/v1", kind, metadata, spec } as AnyObject, errors: [] };
}

const S = (...segs: Seg) => ["spec", ...segs];

/** The normalized reference; an invalid one (already a schema error) is kept as written. */
function ref(text: unknown): string {
  return typeof text === "string" && isImageReference(text) ? normalizeReference(text) : String(text ?? "");
}

function resolvePath(base: string, p: string): string {
  return path.resolve(base, p);
}

function ms(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : parseDuration(text);
}

// ---------------------------------------------------------------- Image

function normalizeImage(s: ImageSpecInput, o: NormalizeOptions, p: Problems): ImageSpec | undefined {
  let source: ImageSpec["source"] | undefined;
  if (s.pull) source = { type: "pull", reference: ref(s.pull) };
  else if (s.build) {
    const b = s.build;
    if (b.dockerfile && b.dockerfileInline) p.add(S("build"), "only one of dockerfile or dockerfileInline may be set");
    source = {
      type: "build",
      context: resolvePath(o.baseDir, b.context),
      args: stringMap(b.args),
      ...(b.dockerfile ? { dockerfile: b.dockerfile } : {}),
      ...(b.dockerfileInline ? { dockerfileInline: b.dockerfileInline } : {}),
      ...(b.target ? { target: b.target } : {}),
    };
    if (b.dockerfile && (path.isAbsolute(b.dockerfile) || b.dockerfile.split("/").includes(".."))) {
      p.add(S("build", "dockerfile"), "expected a path inside the build context (no leading '/', no '..')");
    }
  } else if (s.import) {
    const i = s.import;
    source = {
      type: "import",
      path: resolvePath(o.baseDir, i.path),
      format: i.format ?? "auto",
      ...(i.config ? { config: { ...i.config, env: stringMap(i.config.env) } } : {}),
    };
    if (i.config?.stopSignal && !normalizeSignal(i.config.stopSignal)) {
      p.add(S("import", "config", "stopSignal"), `unknown signal ${JSON.stringify(i.config.stopSignal)}`);
    }
  }
  const reference = s.reference ?? s.pull;
  if (!reference) {
    p.add(S("reference"), `missing required field "reference": an image from ${s.build ? "build" : "import"} needs the name:tag it produces`);
    return undefined;
  }
  if (!source) return undefined;
  return { reference: ref(reference), source, pullPolicy: s.pullPolicy ?? "ifNotPresent" };
}

function stringMap(m: Record<string, string | number | boolean> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}

// ---------------------------------------------------------------- Container

function argv(v: string | string[] | undefined, at: Seg, p: Problems): string[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v;
  try {
    return splitShellWords(v);
  } catch (err) {
    p.add(at, `cannot split into arguments: ${(err as Error).message}`, "write it as a list of strings");
    return undefined;
  }
}

function normalizeContainer(s: ContainerSpecInput, o: NormalizeOptions, p: Problems): ContainerSpec {
  const restartPolicy = normalizeRestart(s.restartPolicy, p);
  const command = argv(s.command, S("command"), p);
  const args = argv(s.args, S("args"), p);
  const env = normalizeEnv(s.env, p);
  const ports = (s.ports ?? []).flatMap((port, i) => normalizePort(port, S("ports", i), p));
  checkPortConflicts(ports, S("ports"), p);
  const mounts = (s.mounts ?? []).flatMap((m, i) => normalizeMount(m, S("mounts", i), o, p));
  const targets = new Map<string, number>();
  (s.mounts ?? []).forEach((_, i) => {
    const m = mounts[i];
    if (!m) return;
    const prev = targets.get(m.target);
    if (prev !== undefined) p.add(S("mounts", i, "target"), `${m.target} is already mounted by mounts[${prev}]`);
    else targets.set(m.target, i);
  });
  const networks = (s.networks ?? []).map((n) => (typeof n === "string" ? { name: n, aliases: [] } : { name: n.name, aliases: n.aliases ?? [] }));
  networks.forEach((n, i) => {
    if (networks.findIndex((x) => x.name === n.name) !== i) p.add(S("networks", i), `network "${n.name}" is listed twice`);
  });
  if (s.networkMode && s.networkMode !== "bridge" && networks.length) {
    p.add(S("networkMode"), `networkMode ${s.networkMode} cannot be combined with networks`, "remove one of them");
  }
  if (s.networkMode === "host" && ports.length) {
    p.add(S("ports"), "ports cannot be published with networkMode host: the container already uses the host's ports", "remove ports");
  }

  let healthcheck: Healthcheck | undefined;
  let healthcheckDisabled = false;
  if (s.healthcheck) {
    if (s.healthcheck.disable) healthcheckDisabled = true;
    else healthcheck = normalizeHealthcheck(s.healthcheck, S("healthcheck"), p);
  }
  const dependsOn = (s.dependsOn ?? []).map((d) =>
    typeof d === "string" ? { name: d, condition: "started" as const } : { name: d.name, condition: d.condition ?? ("started" as const) },
  );
  dependsOn.forEach((d, i) => {
    if (dependsOn.findIndex((x) => x.name === d.name) !== i) p.add(S("dependsOn", i), `"${d.name}" is listed twice`);
  });

  const resources: ContainerSpec["resources"] = {};
  if (s.resources?.memory !== undefined) {
    resources.memoryBytes = parseSize(s.resources.memory);
    if (resources.memoryBytes < MIN_MEMORY) p.add(S("resources", "memory"), `memory limit must be at least 6MiB, got ${resources.memoryBytes} bytes`);
  }
  if (s.resources?.cpus !== undefined) {
    resources.cpus = Number(s.resources.cpus);
    if (!(resources.cpus > 0)) p.add(S("resources", "cpus"), `expected a number of CPUs greater than 0, got ${JSON.stringify(s.resources.cpus)}`);
  }
  if (s.resources?.pids !== undefined) resources.pids = s.resources.pids;

  let stopSignal: string | undefined;
  if (s.stopSignal !== undefined) {
    stopSignal = normalizeSignal(s.stopSignal);
    if (!stopSignal) p.add(S("stopSignal"), `unknown signal ${JSON.stringify(s.stopSignal)}`, "use e.g. SIGTERM, SIGINT, SIGQUIT");
  }
  const caps = (list: string[] | undefined, field: string) =>
    (list ?? []).map((c, i) => {
      const canon = canonicalCapability(c);
      if (!canon) p.add(S(field, i), `unknown capability ${JSON.stringify(c)}`);
      return canon ?? c;
    });
  const capAdd = caps(s.capAdd, "capAdd");
  const capDrop = caps(s.capDrop, "capDrop");
  if (s.privileged && !o.allowPrivileged) {
    p.add(S("privileged"), "privileged containers are refused: they have full control of the host", "run berth with --allow-privileged to permit them");
  }
  const onUnhealthy = s.onUnhealthy ?? (restartPolicy.name === "no" ? "none" : "restart");

  const spec: ContainerSpec = {
    image: ref(s.image),
    env,
    envFiles: (s.envFiles ?? []).map((f) => resolvePath(o.baseDir, f)),
    ports,
    mounts,
    networks,
    restartPolicy,
    healthcheckDisabled,
    onUnhealthy,
    dependsOn,
    resources,
    stopGracePeriodMs: ms(s.stopGracePeriod, DEFAULTS.stopGracePeriodMs),
    readOnlyRootfs: s.readOnlyRootfs ?? false,
    capAdd,
    capDrop,
    privileged: s.privileged ?? false,
  };
  if (command) spec.command = command;
  if (args) spec.args = args;
  if (s.workingDir) spec.workingDir = path.posix.normalize(s.workingDir);
  if (s.user) spec.user = s.user;
  if (s.hostname) spec.hostname = s.hostname;
  if (s.networkMode) spec.networkMode = s.networkMode;
  if (healthcheck) spec.healthcheck = healthcheck;
  if (stopSignal) spec.stopSignal = stopSignal;
  return spec;
}

function normalizeRestart(r: ContainerSpecInput["restartPolicy"], p: Problems): RestartPolicy {
  const backoff: RestartPolicy["backoff"] = { ...DEFAULTS.restartBackoff };
  if (r === undefined) return { name: "no", maxRetries: 0, backoff };
  if (typeof r === "string") {
    const [name, n] = r.split(":") as [RestartPolicyName, string | undefined];
    return { name, maxRetries: n === undefined ? 0 : Number(n), backoff };
  }
  if (r.maxRetries !== undefined && r.name !== "on-failure") {
    p.add(S("restartPolicy", "maxRetries"), `maxRetries applies only to on-failure, not ${r.name}`);
  }
  if (r.backoff) {
    backoff.initialMs = ms(r.backoff.initial, backoff.initialMs);
    backoff.maxMs = ms(r.backoff.max, backoff.maxMs);
    backoff.resetAfterMs = ms(r.backoff.resetAfter, backoff.resetAfterMs);
    if (backoff.initialMs <= 0) p.add(S("restartPolicy", "backoff", "initial"), "expected a delay greater than 0");
    if (backoff.maxMs < backoff.initialMs) p.add(S("restartPolicy", "backoff", "max"), "expected max to be at least initial");
  }
  return { name: r.name, maxRetries: r.maxRetries ?? 0, backoff };
}

function normalizeEnv(e: ContainerSpecInput["env"], p: Problems): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  if (e === undefined) return out;
  if (Array.isArray(e)) {
    e.forEach((item, i) => {
      const entry =
        typeof item === "string"
          ? item.includes("=")
            ? { name: item.slice(0, item.indexOf("=")), value: item.slice(item.indexOf("=") + 1) }
            : { name: item, value: "" }
          : { name: item.name, value: item.value === undefined ? "" : String(item.value) };
      if (out.some((x) => x.name === entry.name)) p.add(S("env", i), `variable ${entry.name} is set twice`);
      out.push(entry);
    });
  } else {
    for (const [name, value] of Object.entries(e)) out.push({ name, value: value === null ? "" : String(value) });
  }
  return out;
}

function parseRange(text: string): [number, number] {
  const [a, b] = text.split("-");
  return [Number(a), Number(b ?? a)];
}

function normalizePort(port: string | number | { containerPort: number; hostPort?: number; hostIP?: string; protocol?: "tcp" | "udp" | "sctp" }, at: Seg, p: Problems): PortMapping[] {
  if (typeof port === "number") return [{ containerPort: port, protocol: "tcp" }];
  if (port === null || (typeof port !== "string" && typeof port !== "object")) return []; // a schema error already
  if (typeof port === "object") {
    if (port.hostIP !== undefined && !isIP(port.hostIP)) {
      p.add([...at, "hostIP"], `expected an IP address, got ${JSON.stringify(port.hostIP)}`);
      return [];
    }
    const m: PortMapping = { containerPort: port.containerPort, protocol: port.protocol ?? "tcp" };
    if (port.hostPort) m.hostPort = port.hostPort;
    if (port.hostIP) m.hostIP = port.hostIP;
    return [m];
  }
  // [ip:][hostPorts:]containerPorts[/proto]
  let rest = port;
  let protocol: PortMapping["protocol"] = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    protocol = rest.slice(slash + 1) as PortMapping["protocol"];
    rest = rest.slice(0, slash);
  }
  let hostIP: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    hostIP = rest.slice(1, close);
    rest = rest.slice(close + 2);
  } else {
    const parts = rest.split(":");
    if (parts.length === 3) {
      hostIP = parts[0];
      rest = parts.slice(1).join(":");
    }
  }
  if (hostIP !== undefined && !isIP(hostIP)) {
    p.add(at, `expected an IP address before the host port, got ${JSON.stringify(hostIP)}`);
    return [];
  }
  const parts = rest.split(":");
  const containerText = parts[parts.length - 1]!;
  const hostText = parts.length > 1 ? parts[0]! : "";
  const [c0, c1] = parseRange(containerText);
  const hostRange = hostText ? parseRange(hostText) : undefined;
  const bad = [c0, c1, ...(hostRange ?? [])].find((n) => !(n >= 1 && n <= 65535));
  if (bad !== undefined) {
    p.add(at, `port ${bad} is out of range: expected 1 to 65535`);
    return [];
  }
  if (c1 < c0 || (hostRange && hostRange[1] < hostRange[0])) {
    p.add(at, `port range ${JSON.stringify(port)} ends before it starts`);
    return [];
  }
  const count = c1 - c0 + 1;
  if (count > MAX_PORT_RANGE) {
    p.add(at, `port range of ${count} ports is over the limit of ${MAX_PORT_RANGE}`);
    return [];
  }
  if (hostRange && hostRange[1] - hostRange[0] + 1 !== count) {
    p.add(at, `host port range ${hostText} has ${hostRange[1] - hostRange[0] + 1} ports but container range ${containerText} has ${count}`);
    return [];
  }
  const out: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    const m: PortMapping = { containerPort: c0 + i, protocol };
    if (hostRange) m.hostPort = hostRange[0] + i;
    if (hostIP) m.hostIP = hostIP;
    out.push(m);
  }
  return out;
}

function checkPortConflicts(ports: PortMapping[], at: Seg, p: Problems) {
  const seen = new Set<string>();
  for (const m of ports) {
    if (m.hostPort === undefined) continue;
    const key = `${m.hostIP ?? "*"}:${m.hostPort}/${m.protocol}`;
    if (seen.has(key)) p.add(at, `host port ${m.hostPort}/${m.protocol} is published twice`);
    seen.add(key);
  }
}

type MountInput = NonNullable<ContainerSpecInput["mounts"]>[number];

function checkTarget(target: string, at: Seg, p: Problems): string | undefined {
  if (!target.startsWith("/")) {
    p.add(at, `expected an absolute path in the container, got ${JSON.stringify(target)}`);
    return undefined;
  }
  if (target.split("/").includes("..")) {
    p.add(at, `mount target must not contain '..', got ${JSON.stringify(target)}`);
    return undefined;
  }
  const norm = path.posix.normalize(target).replace(/\/+$/, "") || "/";
  if (norm === "/") {
    p.add(at, "cannot mount over the container's root directory");
    return undefined;
  }
  return norm;
}

const isPathLike = (s: string) => s.startsWith("/") || s.startsWith("./") || s.startsWith("../") || s === "." || s === ".." || s.startsWith("~");

function normalizeMount(m: MountInput, at: Seg, o: NormalizeOptions, p: Problems): Mount[] {
  if (m === null || (typeof m !== "string" && typeof m !== "object")) return []; // a schema error already
  if (typeof m === "string") {
    const parts = m.split(":");
    let readOnly = false;
    if (parts.length > 1 && (parts[parts.length - 1] === "ro" || parts[parts.length - 1] === "rw")) {
      readOnly = parts.pop() === "ro";
    }
    if (parts.length === 1) {
      const target = checkTarget(parts[0]!, at, p);
      return target ? [{ type: "volume", target, readOnly }] : [];
    }
    const [source, rawTarget] = parts as [string, string];
    const target = checkTarget(rawTarget, at, p);
    if (!target) return [];
    if (source.startsWith("~")) {
      p.add(at, "'~' is not expanded in bind sources", "write the absolute path");
      return [];
    }
    if (isPathLike(source)) return [{ type: "bind", source: resolvePath(o.baseDir, source), target, readOnly }];
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(source)) {
      p.add(at, `volume name ${JSON.stringify(source)} is not valid: expected lowercase letters, digits and '-'`, "for a host directory, start the path with / or ./");
      return [];
    }
    return [{ type: "volume", source, target, readOnly }];
  }
  const target = checkTarget(m.target, [...at, "target"], p);
  if (!target) return [];
  const readOnly = m.readOnly ?? false;
  if (m.type !== "tmpfs" && (m.size !== undefined || m.mode !== undefined)) {
    p.add([...at, m.size !== undefined ? "size" : "mode"], `${m.size !== undefined ? "size" : "mode"} applies only to tmpfs mounts`);
  }
  switch (m.type) {
    case "tmpfs": {
      if (m.source !== undefined) p.add([...at, "source"], "tmpfs mounts take no source");
      const t: Mount = { type: "tmpfs", target, readOnly };
      if (m.size !== undefined) t.sizeBytes = parseSize(m.size);
      if (m.mode !== undefined) t.mode = parseInt(m.mode, 8);
      return [t];
    }
    case "bind":
      if (!m.source) {
        p.add([...at, "source"], 'missing required field "source": the host path to bind');
        return [];
      }
      return [{ type: "bind", source: resolvePath(o.baseDir, m.source), target, readOnly }];
    case "volume":
      if (m.source !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(m.source)) {
        p.add([...at, "source"], `volume name ${JSON.stringify(m.source)} is not valid: expected lowercase letters, digits and '-'`);
        return [];
      }
      return [m.source ? { type: "volume", source: m.source, target, readOnly } : { type: "volume", target, readOnly }];
  }
}

export function normalizeHealthcheck(h: HealthcheckInput, at: Seg, p: Problems): Healthcheck | undefined {
  const probes = (["exec", "shell", "http", "tcp"] as const).filter((k) => h[k] !== undefined);
  if (probes.length !== 1) {
    p.add(at, probes.length === 0 ? "exactly one of exec, shell, http or tcp is required" : `only one of exec, shell, http or tcp may be set, found ${probes.join(" and ")}`,
      probes.length === 0 ? "or set disable: true" : undefined);
    return undefined;
  }
  let probe: Probe;
  if (h.exec) probe = { type: "exec", argv: h.exec };
  else if (h.shell) probe = { type: "shell", command: h.shell };
  else if (h.http) probe = { type: "http", path: h.http.path ?? "/", port: h.http.port, scheme: h.http.scheme ?? "http", headers: { ...(h.http.headers ?? {}) } };
  else probe = { type: "tcp", port: h.tcp!.port };
  const d = DEFAULTS.healthcheck;
  const hc: Healthcheck = {
    probe,
    intervalMs: ms(h.interval, d.intervalMs),
    timeoutMs: ms(h.timeout, d.timeoutMs),
    retries: h.retries ?? d.retries,
    startPeriodMs: ms(h.startPeriod, d.startPeriodMs),
    startIntervalMs: ms(h.startInterval, d.startIntervalMs),
  };
  for (const f of ["interval", "timeout", "startInterval"] as const) {
    const key = `${f}Ms` as "intervalMs" | "timeoutMs" | "startIntervalMs";
    if (hc[key] < 1) p.add([...at, f], `expected a duration of at least 1ms, got ${JSON.stringify(h[f])}`);
  }
  return hc;
}

// ---------------------------------------------------------------- Volume, Network, HealthCheck

function normalizeVolume(s: VolumeSpecInput, _p: Problems): VolumeSpec {
  const o = s.options ?? {};
  const options: VolumeSpec["options"] = {};
  if (o.type) options.type = o.type;
  if (o.device) options.device = o.device;
  if (o.o) options.o = o.o;
  if (o.size !== undefined) options.sizeBytes = parseSize(o.size);
  if (o.mode) options.mode = parseInt(o.mode, 8);
  if (o.uid !== undefined) options.uid = o.uid;
  if (o.gid !== undefined) options.gid = o.gid;
  return { driver: "local", options };
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

function normalizeNetwork(s: NetworkSpecInput, p: Problems): NetworkSpec {
  const spec: NetworkSpec = { driver: "bridge", internal: s.internal ?? false };
  if (s.subnet) {
    const [addr, bitsText] = s.subnet.split("/") as [string, string];
    const bits = Number(bitsText);
    const v = isIP(addr);
    if (v === 0 || (v === 4 && bits > 32) || (v === 6 && bits > 128)) {
      p.add(S("subnet"), `expected a subnet in CIDR notation such as 10.89.0.0/24, got ${JSON.stringify(s.subnet)}`);
    } else if (v === 4) {
      const base = ipv4ToInt(addr)!;
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if ((base & mask) >>> 0 !== base) {
        p.add(S("subnet"), `${s.subnet} has host bits set`, `did you mean "${intToIpv4((base & mask) >>> 0)}/${bits}"?`);
      }
      if (bits > 30) p.add(S("subnet"), `a /${bits} subnet has no room for a gateway and containers`, "use /30 or larger");
      if (s.gateway) {
        const gw = ipv4ToInt(s.gateway);
        if (gw === undefined) p.add(S("gateway"), `expected an IPv4 address, got ${JSON.stringify(s.gateway)}`);
        else if (((gw & mask) >>> 0) !== ((base & mask) >>> 0)) p.add(S("gateway"), `gateway ${s.gateway} is outside subnet ${s.subnet}`);
        else if (gw === base || gw === ((base | ~mask) >>> 0)) p.add(S("gateway"), `gateway ${s.gateway} is the network or broadcast address of ${s.subnet}`);
      }
    }
    spec.subnet = s.subnet;
  } else if (s.gateway) {
    p.add(S("gateway"), "gateway needs a subnet", "add spec.subnet");
  }
  if (s.gateway) spec.gateway = s.gateway;
  return spec;
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

function normalizeHealthCheck(s: HealthCheckSpecInput, p: Problems): HealthCheckSpec | undefined {
  const t = s.target;
  let target: HealthCheckSpec["target"] | undefined;
  if ((t.name === undefined) === (t.selector === undefined)) {
    p.add(S("target"), "exactly one of name or selector is required");
  } else if (t.name) target = { name: t.name };
  else {
    if (Object.keys(t.selector!.matchLabels).length === 0) p.add(S("target", "selector", "matchLabels"), "an empty selector would match every container", "name at least one label");
    target = { selector: { matchLabels: { ...t.selector!.matchLabels } } };
  }
  if (s.disable) p.add(S("disable"), "a HealthCheck object cannot be disabled", "delete the object, or set healthcheck.disable on the container");
  const check = normalizeHealthcheck(s, ["spec"], p);
  if (!target || !check) return undefined;
  return { target, check, ...(s.onUnhealthy ? { onUnhealthy: s.onUnhealthy } : {}) };
}
