/**
 * A loaded Compose project (project.ts) as berth manifest objects, in berth's input form, so
 * that the manifest pipeline validates and normalizes them exactly as hand-written ones.
 *
 * Naming (Compose v2's, with berth's names being DNS labels, so `_` becomes `-`): the stack
 * is the project name; service `web` of project `shop` is Container `shop-web`
 * (`container_name` overrides), reachable as `web` on each of its networks (an alias, as
 * Compose adds); network `front` is Network `shop-front` and the project's default network
 * `shop-default` (Compose's `shop_default`); volume `data` is Volume `shop-data`; a `name:`
 * is taken as written and `external` resources are used by name without an object. `build`
 * becomes Image `shop-web` producing the service's `image` (default `shop-web`).
 *
 * Everything valid in Compose that berth cannot honour is reported at its place: an error
 * when ignoring it would change what runs, a warning when it is harmless on one host (a
 * Swarm-only setting, `version:`). `grants` lists what hands a container the host.
 *
 * Over 400 lines on purpose: one concern, the mapping of each service key to berth's
 * fields, with the "not supported" table beside it so that nothing is dropped silently;
 * loading, interpolation and the schema are in project.ts, interpolate.ts and schema.ts.
 */
import * as path from "node:path";
import { berthPathsOf, hostBindErrors, type BerthPaths } from "../host-binds.js";
import type { Mount, PortMapping } from "../model.js";
import { Problems, type Seg } from "../problems.js";
import { parseMountShortSyntax } from "../short-syntax/mounts.js";
import { parsePortShortSyntax } from "../short-syntax/ports.js";
import { parseEnvFile } from "./env-file.js";
import { asDict, type ComposeProject, type ProjectLoader } from "./project.js";

type Obj = Record<string, unknown>;

/** One berth object made from the project, with where its fields came from. */
export interface ConvertedObject {
  value: { apiVersion: "berth/v1"; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Obj };
  /** The model path it was made from (`services.web`). */
  at: Seg;
  /** berth path prefix → model path, most specific first when looked up. */
  trace: [Seg, Seg][];
}

export interface HostGrant {
  object: string;
  what: string;
  at: Seg;
}

export interface Conversion {
  stack: string;
  objects: ConvertedObject[];
  grants: HostGrant[];
}

/** The stack of a project: its name as a berth name (`my_app` → `my-app`). */
export function stackOfProject(name: string): string {
  return berthName(name);
}

/** A DNS label from a Compose name: lowercase, runs of other characters as '-'. */
export function berthName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Service keys berth converts; the others are reported. */
const HANDLED = new Set([
  "image", "build", "pull_policy", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "tmpfs",
  "networks", "network_mode", "restart", "healthcheck", "depends_on", "working_dir", "user", "hostname", "stop_signal",
  "stop_grace_period", "labels", "read_only", "cap_add", "cap_drop", "privileged", "init", "mem_limit", "cpus", "pids_limit",
  "deploy", "secrets", "configs", "profiles", "container_name", "extends", "scale", "extra_hosts", "dns", "dns_search", "dns_opt",
  "tty", "stdin_open",
]);
/** Service keys that change nothing berth does on one host: ignored with a warning. */
const HARMLESS: Record<string, string> = {
  logging: "berth keeps each container's logs itself",
  develop: "development watch mode is not part of berth",
  attach: "berth up shows every container's logs",
  platform: "berth runs images for the host's platform",
  mem_reservation: "a reservation is a soft guarantee; on one host it changes nothing berth enforces",
  labels_file: "",
};

/** Byte sizes as Docker reads them (go-units RAMInBytes): binary multiples, case-insensitive, optional 'b'/'ib'. */
export function composeBytes(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp])?(i?b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] ?? "").toLowerCase() as ""];
  return Math.floor(Number(m[1]) * mult);
}

const asBool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : v === "true" ? true : v === "false" ? false : undefined);
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export class ComposeConverter {
  private readonly objects: ConvertedObject[] = [];
  private readonly grants: HostGrant[] = [];
  private readonly stack: string;
  private readonly model: Obj;
  private readonly usedNetworks = new Set<string>();

  constructor(
    private readonly project: ComposeProject,
    private readonly loader: ProjectLoader,
    private readonly o: { berthPaths?: Partial<BerthPaths> } = {},
  ) {
    this.stack = stackOfProject(project.name);
    this.model = project.model;
  }

  private report(at: Seg, message: string, severity: "error" | "warning" = "error", suggestion?: string, key = false) {
    this.loader.error(this.loader.place(this.model, at, key), at, message, suggestion, severity);
  }

  private unsupported(at: Seg, what: string, why: string, severity: "error" | "warning" = "error") {
    this.report(at, `${what} is not supported by berth${why ? `: ${why}` : ""}${severity === "warning" ? "; ignored" : ""}`, severity, undefined, true);
  }

  convert(): Conversion {
    const m = this.model;
    if (m.version !== undefined) this.report(["version"], "version is obsolete in the Compose Specification; ignored", "warning", undefined, true);
    if (m.models !== undefined) this.unsupported(["models"], "models", "");
    for (const k of Object.keys(m)) {
      if (!["version", "name", "services", "networks", "volumes", "secrets", "configs", "include", "models"].includes(k) && !k.startsWith("x-")) {
        this.unsupported([k], k, "");
      }
    }
    const services = (isObj(m.services) ? m.services : {}) as Record<string, Obj>;
    for (const [name, svc] of Object.entries(services)) {
      if (this.project.disabled.has(name)) continue;
      this.service(name, svc, services);
    }
    this.networks();
    this.volumes();
    return { stack: this.stack, objects: this.objects, grants: this.grants };
  }

  containerName(service: string): string {
    const svc = (this.model.services as Record<string, Obj>)[service];
    return typeof svc?.container_name === "string" ? svc.container_name : `${this.stack}-${berthName(service)}`;
  }

  private networkName(key: string): string {
    const n = (isObj(this.model.networks) ? (this.model.networks as Record<string, Obj | null>)[key] : undefined) ?? undefined;
    if (isObj(n) && typeof n.name === "string") return n.name;
    return `${this.stack}-${berthName(key)}`;
  }

  private volumeName(key: string): string {
    const v = isObj(this.model.volumes) ? (this.model.volumes as Record<string, Obj | null>)[key] : undefined;
    if (isObj(v) && typeof v.name === "string") return v.name;
    return `${this.stack}-${berthName(key)}`;
  }

  // ---------------------------------------------------------------- services

  private service(name: string, svc: Obj, services: Record<string, Obj>) {
    const at: Seg = ["services", name];
    const spec: Obj = {};
    const trace: [Seg, Seg][] = [];
    const set = (field: string, value: unknown, from: Seg) => {
      spec[field] = value;
      trace.push([["spec", field], from]);
    };
    if (!DNS_LABEL.test(name)) {
      this.report(at, `service name ${JSON.stringify(name)} cannot be a berth name: berth's names and the aliases its resolver answers are DNS labels (lowercase letters, digits and '-')`, "error", berthName(name) ? `rename the service to "${berthName(name)}"` : undefined, true);
    }
    for (const k of Object.keys(svc)) {
      if (HANDLED.has(k) || k.startsWith("x-")) continue;
      if (k in HARMLESS) this.unsupported([...at, k], k, HARMLESS[k]!, "warning");
      else this.unsupported([...at, k], k, unsupportedWhy(k));
    }
    const cname = this.containerName(name);
    for (const k of ["pid", "ipc"] as const) {
      if (svc[k] === "host") this.grants.push({ object: `container/${cname}`, what: `${k}: host (the host's ${k === "pid" ? "processes" : "IPC namespace"})`, at: [...at, k] });
    }

    // image / build
    const pullPolicy = typeof svc.pull_policy === "string" ? svc.pull_policy : undefined;
    const imageRef = typeof svc.image === "string" ? svc.image : undefined;
    if (svc.build !== undefined) {
      const b = typeof svc.build === "string" ? { context: svc.build } : (svc.build as Obj);
      const bat: Seg = [...at, "build"];
      const bspec: Obj = {};
      if (typeof b.context === "string" && /^[a-z][a-z0-9+.-]*:\/\/|^git@/i.test(b.context)) this.unsupported([...bat, "context"], "a remote build context", "build from a directory");
      bspec.context = b.context;
      if (typeof b.dockerfile === "string") bspec.dockerfile = b.dockerfile;
      if (typeof b.dockerfile_inline === "string") bspec.dockerfileInline = b.dockerfile_inline;
      if (b.args !== undefined) {
        const args: Record<string, string> = {};
        for (const [k, v] of Object.entries(asDict(b.args, "args").values)) {
          const value = v ?? this.project.env(k);
          if (value !== undefined && value !== null) args[k] = String(value);
        }
        bspec.args = args;
      }
      if (typeof b.target === "string") bspec.target = b.target;
      for (const k of Object.keys(b)) {
        if (["context", "dockerfile", "dockerfile_inline", "args", "target"].includes(k) || k.startsWith("x-")) continue;
        if (["cache_from", "cache_to", "labels", "pull", "no_cache"].includes(k)) this.unsupported([...bat, k], `build.${k}`, "", "warning");
        else this.unsupported([...bat, k], `build.${k}`, "");
      }
      const ispec: Obj = { reference: imageRef ?? `${this.stack}-${berthName(name)}`, build: bspec };
      if (pullPolicy === "always" || pullPolicy === "build") ispec.pullPolicy = "always";
      else if (pullPolicy === "never") ispec.pullPolicy = "never";
      this.objects.push({
        value: { apiVersion: "berth/v1", kind: "Image", metadata: { name: cname }, spec: ispec },
        at: bat,
        trace: [[["spec", "reference"], imageRef ? [...at, "image"] : bat], [["spec", "build"], bat], [["metadata"], at]],
      });
      set("image", ispec.reference, imageRef ? [...at, "image"] : bat);
    } else if (imageRef !== undefined) {
      set("image", imageRef, [...at, "image"]);
      const policy = pullPolicy === undefined ? undefined : ({ always: "always", never: "never", missing: "ifNotPresent", if_not_present: "ifNotPresent" } as Record<string, string>)[pullPolicy];
      if (pullPolicy !== undefined && policy === undefined) this.unsupported([...at, "pull_policy"], `pull_policy ${pullPolicy}`, pullPolicy === "build" ? "the service has no build section" : "berth pulls always, if missing, or never");
      if (policy && policy !== "ifNotPresent") {
        this.objects.push({
          value: { apiVersion: "berth/v1", kind: "Image", metadata: { name: cname }, spec: { pull: imageRef, pullPolicy: policy } },
          at: [...at, "pull_policy"],
          trace: [[[], [...at, "pull_policy"]]],
        });
      }
    } else {
      this.report(at, `service ${name} has neither image nor build`, "error", "add image: or build:", true);
    }

    if (svc.entrypoint !== undefined && svc.entrypoint !== null) set("command", svc.entrypoint, [...at, "entrypoint"]);
    if (svc.command !== undefined && svc.command !== null) set("args", svc.command, [...at, "command"]);

    // environment: env_file, then environment over it
    const env = new Map<string, { value: string; from: Seg }>();
    if (svc.env_file !== undefined) {
      const files = ([] as unknown[]).concat(svc.env_file);
      files.forEach((f, i) => {
        const fat: Seg = Array.isArray(svc.env_file) ? [...at, "env_file", i] : [...at, "env_file"];
        const spec = typeof f === "string" ? { path: f, required: true, format: undefined } : (f as { path: string; required?: unknown; format?: string });
        if (spec.format !== undefined && spec.format !== "raw") this.unsupported([...fat, "format"], `env_file format ${spec.format}`, "");
        const text = this.loader.readFile(spec.path);
        if (text === undefined) {
          if (asBool(spec.required) !== false) this.report(fat, `env file ${spec.path} not found`, "error", "create it, or set required: false");
          return;
        }
        if (spec.format === "raw") {
          text.split(/\r?\n/).forEach((l) => {
            const eq = l.indexOf("=");
            if (eq > 0) env.set(l.slice(0, eq), { value: l.slice(eq + 1), from: fat });
          });
          return;
        }
        const r = parseEnvFile(text, this.project.env);
        for (const e of r.errors) this.loader.diagnostics.push({ severity: "error", file: this.loader.display(spec.path), line: e.line, column: e.column, path: "", message: e.message });
        for (const e of r.entries) env.set(e.name, { value: e.value, from: fat });
      });
    }
    if (svc.environment !== undefined) {
      const d = asDict(svc.environment, "environment");
      for (const [k, v] of Object.entries(d.values)) {
        const value = v === null || v === undefined ? this.project.env(k) : String(v);
        const from: Seg = [...at, "environment", d.keys[k]!];
        env.delete(k);
        if (value !== undefined) env.set(k, { value, from });
      }
    }
    if (env.size) {
      const list: { name: string; value: string }[] = [];
      for (const [k, v] of env) {
        trace.push([["spec", "env", list.length], v.from]);
        list.push({ name: k, value: v.value });
      }
      spec.env = list;
    }

    // ports
    if (Array.isArray(svc.ports) && svc.ports.length) {
      const ports: Obj[] = [];
      svc.ports.forEach((p, i) => {
        const pat: Seg = [...at, "ports", i];
        for (const m of this.port(p, pat)) {
          trace.push([["spec", "ports", ports.length], pat]);
          ports.push({ containerPort: m.containerPort, ...(m.hostPort !== undefined ? { hostPort: m.hostPort } : {}), ...(m.hostIP ? { hostIP: m.hostIP } : {}), protocol: m.protocol });
        }
      });
      spec.ports = ports;
    }

    // mounts: volumes, tmpfs, secrets, configs
    const mounts: Mount[] = [];
    const mountFrom: Seg[] = [];
    const addMounts = (ms: Mount[], from: Seg) => ms.forEach((x) => (mounts.push(x), mountFrom.push(from)));
    if (Array.isArray(svc.volumes)) svc.volumes.forEach((v, i) => addMounts(this.volume(v, [...at, "volumes", i], name), [...at, "volumes", i]));
    if (svc.tmpfs !== undefined) {
      const list = ([] as unknown[]).concat(svc.tmpfs);
      list.forEach((t, i) => addMounts(this.tmpfs(String(t), Array.isArray(svc.tmpfs) ? [...at, "tmpfs", i] : [...at, "tmpfs"]), Array.isArray(svc.tmpfs) ? [...at, "tmpfs", i] : [...at, "tmpfs"]));
    }
    for (const kind of ["secrets", "configs"] as const) {
      if (!Array.isArray(svc[kind])) continue;
      (svc[kind] as unknown[]).forEach((s, i) => addMounts(this.fileMount(kind, s, [...at, kind, i]), [...at, kind, i]));
    }
    if (mounts.length) {
      spec.mounts = mounts.map((x, i) => {
        trace.push([["spec", "mounts", i], mountFrom[i]!]);
        if (x.type === "tmpfs") return { type: "tmpfs", target: x.target, ...(x.readOnly ? { readOnly: true } : {}), ...(x.sizeBytes !== undefined ? { size: x.sizeBytes } : {}), ...(x.mode !== undefined ? { mode: x.mode.toString(8).padStart(4, "0") } : {}) };
        return { type: x.type, ...(x.source !== undefined ? { source: x.source } : {}), target: x.target, ...(x.readOnly ? { readOnly: true } : {}) };
      });
      hostBindErrors(mounts, undefined, { allowHostBinds: false, berthPaths: berthPathsOf(this.o.berthPaths) }).forEach((e) => {
        const i = e.path[2] as number;
        this.grants.push({ object: `container/${cname}`, what: `bind of ${(mounts[i] as { source: string }).source}: ${e.message}`, at: mountFrom[i]! });
      });
    }

    // networks
    const mode = typeof svc.network_mode === "string" ? svc.network_mode : undefined;
    const dependsOn: Obj[] = [];
    if (mode !== undefined) {
      const nat: Seg = [...at, "network_mode"];
      if (mode === "host" || mode === "none" || mode === "bridge") set("networkMode", mode, nat);
      else if (mode.startsWith("service:") || mode.startsWith("container:")) {
        const target = mode.startsWith("service:") ? mode.slice(8) : mode.slice(10);
        if (mode.startsWith("service:") && !services[target]) this.report(nat, `network_mode refers to undefined service ${target}`);
        const other = mode.startsWith("service:") ? this.containerName(target) : target;
        set("networkMode", `container:${other}`, nat);
        if (mode.startsWith("service:")) dependsOn.push({ name: other, condition: "started" });
      } else this.unsupported(nat, `network_mode ${mode}`, "berth has host, none, bridge, service:NAME and container:NAME");
      if (mode === "host") this.grants.push({ object: `container/${cname}`, what: "network_mode: host (the host's network stack)", at: nat });
      if (svc.networks !== undefined) this.report([...at, "networks"], "networks cannot be combined with network_mode", "error", undefined, true);
    } else {
      const d = svc.networks === undefined ? { values: { default: null } as Obj, keys: {} as Record<string, string | number> } : asDict(svc.networks, "networks");
      const nets: Obj[] = [];
      for (const [key, cfg] of Object.entries(d.values)) {
        const nat: Seg = svc.networks === undefined ? at : [...at, "networks", d.keys[key]!];
        const declared = key === "default" || (isObj(this.model.networks) && key in (this.model.networks as Obj));
        if (!declared) {
          this.report(nat, `service ${name} refers to undefined network ${key}`, "error", "declare it under the top-level networks:");
          continue;
        }
        this.usedNetworks.add(key);
        const aliases = [name];
        if (isObj(cfg)) {
          if (Array.isArray(cfg.aliases)) for (const a of cfg.aliases) if (typeof a === "string" && !aliases.includes(a)) aliases.push(a);
          if (typeof cfg.ipv4_address === "string") this.staticAddress(key, cfg.ipv4_address, [...nat, "ipv4_address"]);
          for (const k of Object.keys(cfg)) {
            if (k === "aliases" || k === "ipv4_address" || k.startsWith("x-")) continue;
            if (k === "priority" || k === "gw_priority") this.unsupported([...nat, k], `networks.${key}.${k}`, "the order of networks is the order they are listed", "warning");
            else this.unsupported([...nat, k], `networks.${key}.${k}`, k === "ipv4_address" || k === "ipv6_address" ? "berth allocates each container's address itself" : "");
          }
        }
        trace.push([["spec", "networks", nets.length], nat]);
        const ipv4 = isObj(cfg) && typeof cfg.ipv4_address === "string" ? { ipv4Address: cfg.ipv4_address } : {};
        nets.push({ name: this.networkName(key), aliases: aliases.filter((a) => a !== cname), ...ipv4 });
      }
      if (nets.length) spec.networks = nets;
    }

    // restart
    const deploy = isObj(svc.deploy) ? svc.deploy : undefined;
    if (svc.restart !== undefined) set("restartPolicy", svc.restart === false ? "no" : String(svc.restart), [...at, "restart"]);
    else if (isObj(deploy?.restart_policy)) {
      const rp = deploy.restart_policy as Obj;
      const rat: Seg = [...at, "deploy", "restart_policy"];
      const cond = String(rp.condition ?? "any");
      const name2 = cond === "none" ? "no" : cond === "on-failure" ? "on-failure" : "always";
      const r: Obj = { name: name2 };
      if (rp.max_attempts !== undefined) {
        if (name2 === "on-failure") r.maxRetries = Number(rp.max_attempts);
        else this.unsupported([...rat, "max_attempts"], `max_attempts with condition ${cond}`, "berth limits restarts only with on-failure");
      }
      if (typeof rp.delay === "string") r.backoff = { initial: rp.delay };
      if (rp.window !== undefined) this.unsupported([...rat, "window"], "restart_policy.window", "berth resets its restart backoff after 10s of running (restartPolicy.backoff.resetAfter)");
      set("restartPolicy", r, rat);
    }

    // healthcheck
    if (isObj(svc.healthcheck)) this.healthcheck(svc.healthcheck, [...at, "healthcheck"], set);

    // depends_on
    if (svc.depends_on !== undefined) {
      const d = asDict(svc.depends_on, "depends_on");
      for (const [dep, cfg] of Object.entries(d.values)) {
        const dat: Seg = [...at, "depends_on", d.keys[dep]!];
        const c = (isObj(cfg) ? cfg : {}) as { condition?: string; restart?: unknown; required?: unknown };
        const required = asBool(c.required) !== false;
        const extra = { ...(asBool(c.restart) === true ? { restart: true } : {}), ...(required ? {} : { required: false }) };
        if (!services[dep] || this.project.disabled.has(dep)) {
          if (!required) {
            this.report(dat, `${dep} is ${services[dep] ? "disabled by its profiles" : "not defined"} and not required: not waited for`, "warning");
            continue;
          }
          this.report(dat, services[dep] ? `service ${name} depends on ${dep}, which is disabled by its profiles` : `service ${name} depends on undefined service ${dep}`, "error", services[dep] ? `enable one of its profiles (--profile ${(services[dep]!.profiles as string[])[0]})` : undefined);
          continue;
        }
        const condition = ({ service_started: "started", service_healthy: "healthy", service_completed_successfully: "completed" } as Record<string, string>)[c.condition ?? "service_started"];
        const target = this.containerName(dep);
        if (dependsOn.some((x) => x.name === target)) continue;
        trace.push([["spec", "dependsOn", dependsOn.length], dat]);
        dependsOn.push({ name: target, condition, ...extra });
      }
    }
    if (dependsOn.length) spec.dependsOn = dependsOn;

    if (svc.working_dir !== undefined) set("workingDir", svc.working_dir, [...at, "working_dir"]);
    if (svc.user !== undefined) set("user", String(svc.user), [...at, "user"]);
    if (svc.hostname !== undefined) set("hostname", svc.hostname, [...at, "hostname"]);
    if (svc.stop_signal !== undefined) set("stopSignal", svc.stop_signal, [...at, "stop_signal"]);
    if (svc.stop_grace_period !== undefined) set("stopGracePeriod", svc.stop_grace_period, [...at, "stop_grace_period"]);
    if (svc.read_only !== undefined) set("readOnlyRootfs", asBool(svc.read_only), [...at, "read_only"]);
    // docker compose's tty / stdin_open: the process on a terminal, stdin kept open (berth attach)
    if (asBool(svc.tty)) set("tty", true, [...at, "tty"]);
    if (asBool(svc.stdin_open)) set("stdin", true, [...at, "stdin_open"]);
    if (svc.cap_add !== undefined) {
      set("capAdd", svc.cap_add, [...at, "cap_add"]);
      for (const c of svc.cap_add as string[]) {
        if (/^(CAP_)?(ALL|SYS_ADMIN|SYS_MODULE|SYS_PTRACE|SYS_RAWIO|DAC_READ_SEARCH)$/i.test(c)) this.grants.push({ object: `container/${cname}`, what: `cap_add ${c}`, at: [...at, "cap_add"] });
      }
    }
    if (svc.cap_drop !== undefined) set("capDrop", svc.cap_drop, [...at, "cap_drop"]);
    if (asBool(svc.privileged)) {
      set("privileged", true, [...at, "privileged"]);
      this.grants.push({ object: `container/${cname}`, what: "privileged: true (every capability and device of the host)", at: [...at, "privileged"] });
    }
    if (asBool(svc.init) === true) set("init", true, [...at, "init"]);
    if (svc.extra_hosts !== undefined) set("extraHosts", svc.extra_hosts, [...at, "extra_hosts"]);
    for (const [k, field] of [["dns", "dns"], ["dns_search", "dnsSearch"], ["dns_opt", "dnsOptions"]] as const) {
      if (svc[k] !== undefined) set(field, ([] as unknown[]).concat(svc[k]).map(String), [...at, k]);
    }
    if (svc.scale !== undefined && Number(svc.scale) !== 1) this.unsupported([...at, "scale"], `scale: ${svc.scale}`, "berth runs one container per service");

    // resources
    const resources: Obj = {};
    const limits = isObj(deploy?.resources) && isObj((deploy!.resources as Obj).limits) ? ((deploy!.resources as Obj).limits as Obj) : {};
    const lat: Seg = [...at, "deploy", "resources", "limits"];
    const mem = svc.mem_limit ?? limits.memory;
    if (mem !== undefined) {
      const from: Seg = svc.mem_limit !== undefined ? [...at, "mem_limit"] : [...lat, "memory"];
      const bytes = composeBytes(mem);
      if (bytes === undefined) this.report(from, `expected a size such as 512m or 1g, got ${JSON.stringify(mem)}`);
      else resources.memory = bytes;
      trace.push([["spec", "resources", "memory"], from]);
    }
    const cpus = svc.cpus ?? limits.cpus;
    if (cpus !== undefined) {
      resources.cpus = typeof cpus === "string" ? cpus : Number(cpus);
      trace.push([["spec", "resources", "cpus"], svc.cpus !== undefined ? [...at, "cpus"] : [...lat, "cpus"]]);
    }
    const pids = svc.pids_limit ?? limits.pids;
    if (pids !== undefined && Number(pids) !== -1 && Number(pids) !== 0) {
      resources.pids = Number(pids);
      trace.push([["spec", "resources", "pids"], svc.pids_limit !== undefined ? [...at, "pids_limit"] : [...lat, "pids"]]);
    }
    if (Object.keys(resources).length) spec.resources = resources;
    for (const k of Object.keys(limits)) if (!["memory", "cpus", "pids"].includes(k)) this.unsupported([...lat, k], `deploy.resources.limits.${k}`, "");
    if (deploy) this.deploy(deploy, [...at, "deploy"]);

    // labels: berth label syntax to labels, the rest as annotations
    const metadata: ConvertedObject["value"]["metadata"] = { name: cname };
    if (svc.labels !== undefined) {
      const labels: Record<string, string> = {};
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(asDict(svc.labels, "labels").values)) {
        const value = v === null || v === undefined ? "" : String(v);
        if (LABEL_KEY.test(k) && LABEL_VALUE.test(value)) labels[k] = value;
        else annotations[k] = value;
      }
      if (Object.keys(labels).length) metadata.labels = labels;
      if (Object.keys(annotations).length) {
        metadata.annotations = annotations;
        this.report([...at, "labels"], `labels ${Object.keys(annotations).join(", ")} are not valid berth labels (at most 63 letters, digits, '-', '_' or '.'): kept as annotations, which are not set on the container`, "warning", undefined, true);
      }
    }
    trace.push([["metadata"], svc.container_name !== undefined ? [...at, "container_name"] : at]);
    this.objects.push({ value: { apiVersion: "berth/v1", kind: "Container", metadata, spec }, at, trace });
  }

  private port(p: unknown, at: Seg): PortMapping[] {
    const problems = new Problems();
    let out: PortMapping[] = [];
    if (typeof p === "number") out = [{ containerPort: p, protocol: "tcp" }];
    else if (typeof p === "string") {
      // An IPv6 host address without brackets ("::1:6000:6000"): bracket it for the short-syntax parser.
      let s = p;
      const proto = s.includes("/") ? s.slice(s.lastIndexOf("/")) : "";
      const body = proto ? s.slice(0, -proto.length) : s;
      if (!body.startsWith("[") && body.split(":").length > 3) {
        const parts = body.split(":");
        s = `[${parts.slice(0, -2).join(":")}]:${parts.slice(-2).join(":")}${proto}`;
      }
      out = parsePortShortSyntax(s, at, problems);
    } else if (isObj(p)) {
      for (const k of Object.keys(p)) if (k === "app_protocol" || k === "name") this.unsupported([...at, k], `ports ${k}`, "berth publishes ports without a name or protocol hint", "warning");
      if (p.mode !== undefined && p.mode !== "host" && p.mode !== "ingress") this.unsupported([...at, "mode"], `ports mode ${p.mode}`, "");
      const ip = typeof p.host_ip === "string" ? (p.host_ip.includes(":") ? `[${p.host_ip}]:` : `${p.host_ip}:`) : "";
      const published = p.published === undefined || p.published === "" ? "" : String(p.published);
      const text = `${ip}${published || ip ? `${published}:` : ""}${p.target}${p.protocol ? `/${p.protocol}` : ""}`;
      out = parsePortShortSyntax(text, at, problems);
    }
    for (const e of problems.errors) this.report(e.path, e.message, "error", e.suggestion);
    return out;
  }

  private volume(v: unknown, at: Seg, service: string): Mount[] {
    const problems = new Problems();
    let out: Mount[] = [];
    const named = (source: string, sat: Seg): string | undefined => {
      const declared = isObj(this.model.volumes) && source in (this.model.volumes as Obj);
      if (!declared) {
        this.report(sat, `service ${service} refers to undefined volume ${source}`, "error", "declare it under the top-level volumes:");
        return undefined;
      }
      return this.volumeName(source);
    };
    if (typeof v === "string") {
      const parts = v.split(":");
      let mode = "";
      if (parts.length === 3 || (parts.length === 2 && !parts[1]!.startsWith("/"))) mode = parts.pop()!;
      const opts = mode ? mode.split(",") : [];
      let ro = false;
      for (const o of opts) {
        if (o === "ro") ro = true;
        else if (o === "rw") ro = false;
        else if (o === "z" || o === "Z") this.unsupported(at, `the volume option ${o}`, "berth does not relabel for SELinux", "warning");
        else if (o === "nocopy") this.unsupported(at, "the volume option nocopy", "", "error");
        else this.unsupported(at, `the volume option ${o}`, "");
      }
      if (parts.length === 1) out = parseMountShortSyntax(`${parts[0]}${ro ? ":ro" : ""}`, at, "/", problems);
      else {
        const [src, target] = parts as [string, string];
        const isPath = src.startsWith("/") || src.startsWith(".") || src.startsWith("~");
        const source = isPath ? src : named(src, at);
        if (source !== undefined) out = parseMountShortSyntax(`${source}:${target}${ro ? ":ro" : ""}`, at, "/", problems);
      }
    } else if (isObj(v)) {
      const type = String(v.type);
      const ro = asBool(v.read_only) ?? false;
      const target = String(v.target);
      for (const k of Object.keys(v)) {
        if (["type", "source", "target", "read_only", "bind", "volume", "tmpfs"].includes(k) || k.startsWith("x-")) continue;
        this.unsupported([...at, k], `volumes ${k}`, "", k === "consistency" ? "warning" : "error");
      }
      if (type === "bind" || type === "volume") {
        const sub = isObj(v[type]) ? (v[type] as Obj) : {};
        for (const k of Object.keys(sub)) {
          if (k === "create_host_path" || (k === "propagation" && sub[k] === "rprivate")) continue;
          if (k === "selinux") this.unsupported([...at, type, k], `${type}.${k}`, "berth does not relabel for SELinux", "warning");
          else this.unsupported([...at, type, k], `${type}.${k}`, "");
        }
        if (type === "bind") {
          if (typeof v.source !== "string") this.report(at, "a bind mount needs a source");
          else out = parseMountShortSyntax(`${v.source}:${target}${ro ? ":ro" : ""}`, at, "/", problems);
        } else {
          const source = typeof v.source === "string" && v.source !== "" ? named(v.source, [...at, "source"]) : "";
          if (source !== undefined) out = parseMountShortSyntax(`${source ? `${source}:` : ""}${target}${ro ? ":ro" : ""}`, at, "/", problems);
        }
      } else if (type === "tmpfs") {
        const t = isObj(v.tmpfs) ? (v.tmpfs as Obj) : {};
        out = this.tmpfsMount(target, ro, t.size, t.mode, at, problems);
        for (const k of Object.keys(t)) if (k !== "size" && k !== "mode") this.unsupported([...at, "tmpfs", k], `tmpfs.${k}`, "");
      } else {
        this.unsupported([...at, "type"], `volume type ${type}`, "berth mounts volumes, binds and tmpfs");
      }
    }
    for (const e of problems.errors) this.report(e.path, e.message, "error", e.suggestion);
    return out;
  }

  private tmpfsMount(target: string, ro: boolean, size: unknown, mode: unknown, at: Seg, problems: Problems): Mount[] {
    const [m] = parseMountShortSyntax(target, at, "/", problems);
    if (!m) return [];
    const t: Mount = { type: "tmpfs", target: m.target, readOnly: ro };
    if (size !== undefined) {
      const b = composeBytes(size);
      if (b === undefined) this.report([...at, "tmpfs", "size"], `expected a size such as 64m, got ${JSON.stringify(size)}`);
      else t.sizeBytes = b;
    }
    if (mode !== undefined) t.mode = typeof mode === "number" ? parseInt(String(mode), 8) : parseInt(String(mode), 8);
    return [t];
  }

  /** `tmpfs: /run` or `/run:size=64m,mode=1777`. */
  private tmpfs(s: string, at: Seg): Mount[] {
    const problems = new Problems();
    const [target, opts = ""] = [s.split(":")[0]!, s.split(":").slice(1).join(":")];
    let size: string | undefined;
    let mode: string | undefined;
    let ro = false;
    for (const o of opts.split(",").filter(Boolean)) {
      if (o.startsWith("size=")) size = o.slice(5);
      else if (o.startsWith("mode=")) mode = o.slice(5);
      else if (o === "ro") ro = true;
      else if (o === "rw") ro = false;
      else this.unsupported(at, `the tmpfs option ${o}`, "berth sets size, mode and ro");
    }
    const out = this.tmpfsMount(target, ro, size, mode, at, problems);
    for (const e of problems.errors) this.report(e.path, e.message, "error", e.suggestion);
    return out;
  }

  /** A service's secret or config: a read-only bind of its file. */
  private fileMount(kind: "secrets" | "configs", s: unknown, at: Seg): Mount[] {
    const ref = typeof s === "string" ? { source: s } : (s as { source: string; target?: string; uid?: unknown; gid?: unknown; mode?: unknown });
    const top = isObj(this.model[kind]) ? ((this.model[kind] as Obj)[ref.source] as Obj | undefined) : undefined;
    const one = kind === "secrets" ? "secret" : "config";
    if (!top) {
      this.report(typeof s === "string" ? at : [...at, "source"], `undefined ${one} ${ref.source}`, "error", `declare it under the top-level ${kind}:`);
      return [];
    }
    for (const k of ["uid", "gid", "mode"] as const) {
      if ((ref as Obj)[k] !== undefined) this.unsupported([...at, k], `${one} ${k}`, "the file is bound from the host with its own owner and mode", "warning");
    }
    if (typeof top.file !== "string") {
      const how = top.external ? "external" : top.environment !== undefined ? "environment" : top.content !== undefined ? "content" : "this";
      this.unsupported([kind, ref.source, how === "this" ? "" : how].filter(Boolean) as Seg, `a ${one} from ${how}`, `berth binds ${kind} from files (file:)`);
      return [];
    }
    const t = ref.target ?? ref.source;
    const target = t.startsWith("/") ? t : kind === "secrets" ? `/run/secrets/${t}` : `/${t}`;
    const problems = new Problems();
    const out = parseMountShortSyntax(`${top.file}:${target}:ro`, at, "/", problems);
    for (const e of problems.errors) this.report(e.path, e.message, "error", e.suggestion);
    return out;
  }

  private healthcheck(h: Obj, at: Seg, set: (field: string, value: unknown, from: Seg) => void) {
    const hc: Obj = {};
    if (asBool(h.disable) === true) {
      set("healthcheck", { disable: true }, [...at, "disable"]);
      return;
    }
    const test = h.test;
    if (test === undefined) {
      this.unsupported(at, "a healthcheck without test", "berth cannot change only the timing of the image's HEALTHCHECK; give test:");
      return;
    }
    if (typeof test === "string") hc.shell = test;
    else if (Array.isArray(test)) {
      const [kind, ...rest] = test as string[];
      if (kind === "NONE") {
        set("healthcheck", { disable: true }, [...at, "test"]);
        return;
      }
      if (kind === "CMD") hc.exec = rest;
      else if (kind === "CMD-SHELL") hc.shell = rest.join(" ");
      else {
        this.report([...at, "test", 0], `expected CMD, CMD-SHELL or NONE first in a healthcheck test list, got ${JSON.stringify(kind)}`);
        return;
      }
    }
    const dur = { interval: "interval", timeout: "timeout", start_period: "startPeriod", start_interval: "startInterval" } as const;
    for (const [k, b] of Object.entries(dur)) if (h[k] !== undefined) hc[b] = String(h[k]);
    if (h.retries !== undefined) hc.retries = Number(h.retries);
    set("healthcheck", hc, at);
  }

  private deploy(d: Obj, at: Seg) {
    for (const k of Object.keys(d)) {
      if (k === "resources") {
        const r = d.resources as Obj;
        for (const rk of Object.keys(r)) {
          if (rk === "limits") continue;
          if (rk === "reservations") this.unsupported([...at, "resources", rk], "deploy.resources.reservations", "a reservation is a soft guarantee that berth does not enforce on one host", "warning");
          else this.unsupported([...at, "resources", rk], `deploy.resources.${rk}`, "");
        }
      } else if (k === "restart_policy") {
        continue;
      } else if (k === "replicas") {
        if (Number(d.replicas) !== 1) this.unsupported([...at, k], `replicas: ${d.replicas}`, "berth runs one container per service");
      } else if (["placement", "update_config", "rollback_config", "endpoint_mode", "labels", "mode"].includes(k)) {
        if (k === "mode" && d.mode !== "replicated" && d.mode !== "global") this.unsupported([...at, k], `deploy.mode ${d.mode}`, "");
        else if (k !== "mode") this.unsupported([...at, k], `deploy.${k}`, "it is a Swarm setting, without effect on one host", "warning");
      } else if (!k.startsWith("x-")) {
        this.unsupported([...at, k], `deploy.${k}`, "");
      }
    }
  }

  /**
   * A service's ipv4_address checked against its network's declared ipam subnet and gateway
   * (what is known before anything runs; a taken address is the network driver's refusal).
   */
  private staticAddress(key: string, address: string, at: Seg) {
    const n = isObj(this.model.networks) ? ((this.model.networks as Record<string, Obj | null>)[key] ?? undefined) : undefined;
    const ipam = isObj(n) && isObj(n.ipam) ? (n.ipam as Obj) : undefined;
    const c = Array.isArray(ipam?.config) ? ((ipam!.config as Obj[])[0] ?? undefined) : undefined;
    const a = ipv4ToInt(address);
    if (a === undefined) {
      this.report(at, `expected an IPv4 address such as 172.28.0.10, got ${JSON.stringify(address)}`);
      return;
    }
    if (!isObj(c) || typeof c.subnet !== "string") return;
    const [base, bits] = [ipv4ToInt(c.subnet.split("/")[0]!), Number(c.subnet.split("/")[1])];
    if (base === undefined || !(bits >= 0 && bits <= 32)) return;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((a & mask) >>> 0) !== ((base & mask) >>> 0)) this.report(at, `ipv4_address ${address} is outside network ${key}'s subnet ${c.subnet}`);
    else if (a === ((base & mask) >>> 0) || a === ((base | ~mask) >>> 0)) this.report(at, `ipv4_address ${address} is the network or broadcast address of ${c.subnet}`);
    else if (a === (typeof c.gateway === "string" ? ipv4ToInt(c.gateway) : ((base & mask) >>> 0) + 1)) this.report(at, `ipv4_address ${address} is network ${key}'s gateway`);
  }

  // ---------------------------------------------------------------- networks, volumes

  private networks() {
    const declared = (isObj(this.model.networks) ? this.model.networks : {}) as Record<string, Obj | null>;
    const keys = new Set([...Object.keys(declared), ...(this.usedNetworks.has("default") ? ["default"] : [])]);
    for (const key of keys) {
      const n = declared[key] ?? {};
      const at: Seg = ["networks", key];
      if (asBool(n.external) === true) continue;
      const spec: Obj = {};
      for (const k of Object.keys(n)) {
        if (k === "name" || k.startsWith("x-")) continue;
        if (k === "driver") {
          if (n.driver !== "bridge") this.unsupported([...at, k], `network driver ${n.driver}`, "berth makes bridge networks");
        } else if (k === "internal") spec.internal = asBool(n.internal);
        else if (k === "ipam") {
          const ipam = n.ipam as Obj;
          const config = Array.isArray(ipam.config) ? (ipam.config as Obj[]) : [];
          if (config.length > 1) this.unsupported([...at, "ipam", "config", 1], "more than one ipam config", "a berth network has one subnet");
          const c = config[0];
          if (c?.subnet !== undefined) spec.subnet = c.subnet;
          if (c?.gateway !== undefined) spec.gateway = c.gateway;
          for (const ck of Object.keys(c ?? {})) if (ck !== "subnet" && ck !== "gateway") this.unsupported([...at, "ipam", "config", 0, ck], `ipam ${ck}`, "");
          for (const ik of Object.keys(ipam)) if (ik !== "config" && !(ik === "driver" && ipam.driver === "default")) this.unsupported([...at, "ipam", ik], `ipam ${ik}`, "");
        } else if (k === "attachable") {
          this.unsupported([...at, k], "attachable", "a Swarm setting", "warning");
        } else if (k === "labels") {
          this.unsupported([...at, k], "network labels", "", "warning");
        } else this.unsupported([...at, k], `networks ${k}`, "");
      }
      if (!this.usedNetworks.has(key) && key !== "default") {
        // Compose creates only networks that a service uses.
        continue;
      }
      this.objects.push({ value: { apiVersion: "berth/v1", kind: "Network", metadata: { name: this.networkName(key) }, spec }, at, trace: [[[], at]] });
    }
  }

  private volumes() {
    const declared = (isObj(this.model.volumes) ? this.model.volumes : {}) as Record<string, Obj | null>;
    for (const [key, v0] of Object.entries(declared)) {
      const v = v0 ?? {};
      const at: Seg = ["volumes", key];
      if (asBool(v.external) === true) continue;
      const spec: Obj = {};
      for (const k of Object.keys(v)) {
        if (k === "name" || k.startsWith("x-")) continue;
        if (k === "driver") {
          if (v.driver !== "local") this.unsupported([...at, k], `volume driver ${v.driver}`, "berth has local volumes");
        } else if (k === "driver_opts") {
          const o = v.driver_opts as Obj;
          const options: Obj = {};
          for (const [ok, ov] of Object.entries(o)) {
            if (ok === "type" || ok === "device" || ok === "o") options[ok] = String(ov);
            else this.unsupported([...at, k, ok], `driver_opts ${ok}`, "");
          }
          spec.options = options;
        } else if (k === "labels") this.unsupported([...at, k], "volume labels", "", "warning");
        else this.unsupported([...at, k], `volumes ${k}`, "");
      }
      this.objects.push({ value: { apiVersion: "berth/v1", kind: "Volume", metadata: { name: this.volumeName(key) }, spec }, at, trace: [[[], at]] });
    }
  }
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((x) => !/^[0-9]{1,3}$/.test(x) || Number(x) > 255)) return undefined;
  return parts.reduce((n, x) => ((n << 8) >>> 0) + Number(x), 0);
}

function unsupportedWhy(k: string): string {
  const why: Record<string, string> = {
    links: "use networks: services are reachable by name on their networks",
    external_links: "use networks: services are reachable by name on their networks",
    volumes_from: "name the volumes in each service",
    ulimits: "berth derives rlimits from the host's",
    devices: "",
    sysctls: "",
    pid: "containers have their own process namespace",
    ipc: "containers have their own IPC namespace",
    security_opt: "",
    shm_size: "",
  };
  return why[k] ?? "";
}

void path;
