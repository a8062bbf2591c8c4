import { invalidArgument } from "../../lib/errors.js";
import type { ContainerCreateSpec, ImageRuntimeConfig } from "../types.js";
import { ALL_CAPABILITIES, effectiveCapabilities } from "../../lib/capabilities.js";
import type { OciDeviceRule, OciMount, OciNamespace, OciRlimit, OciSpec } from "./oci-types.js";
import type { RecordIdentity } from "./record-shape.js";
import type { ResolvedUser } from "./user.js";

/**
 * Builds a container's OCI runtime spec (config.json) from the image config and the
 * create spec — a pure function: every host fact (resolved user, resolved mounts, host
 * limits, capabilities the kernel knows) comes in through the input. Defaults follow
 * Docker (moby daemon/oci_linux.go and oci/defaults.go). Throws InvalidArgument for specs
 * that cannot run (no command, relative workingDir, bad env or resources).
 */

/** Annotation naming the container (`runc state` and `runc list` show it). */
export const NAME_ANNOTATION = "io.berth.container.name";
/**
 * Annotation carrying the fixed part of the container's record (record-shape.ts's
 * RecordIdentity) as JSON, so that a corrupt record can be rebuilt from the run's config
 * (record-repair.ts). Only in config.json (mode 0600), like the env it repeats.
 */
export const RECORD_ANNOTATION = "io.berth.container.record";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Docker's masked paths (bind of /dev/null over files, empty ro tmpfs over dirs). */
export const MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Docker's read-only paths. */
export const READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** /dev/shm size Docker uses. */
export const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

/** CFS period berth uses for `cpus` (Docker's). */
export const CPU_PERIOD_US = 100_000;

export interface EtcFiles {
  /** Host paths of the per-container files bind-mounted at /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  hosts: string;
  resolvConf: string;
  hostname: string;
}

export interface SpecInput {
  id: string;
  spec: ContainerCreateSpec;
  image: ImageRuntimeConfig;
  rootfs: string;
  user: ResolvedUser;
  /** The spec's mounts already resolved to host sources (runtime/volumes). */
  mounts: OciMount[];
  etcFiles: EtcFiles;
  rlimits: OciRlimit[];
  /** e.g. "/berth/<id>" (cgroupfs driver, absolute under each hierarchy). */
  cgroupsPath: string;
  /** The hostname used in host network mode when the spec has none. */
  hostHostname?: string;
  /** Capabilities the kernel knows (privileged gets all of them). Default: all berth knows. */
  knownCapabilities?: readonly string[];
  /** Whether memory+swap can be limited (v1: memory.memsw.* exists). Default true. */
  swapAccounting?: boolean;
  /** The record's fixed part, carried in RECORD_ANNOTATION when given. */
  identity?: RecordIdentity;
  /**
   * The network namespace to join: a path (the container's own, or the one it shares), or
   * "host" (host mode, or sharing a host-mode container's). Absent: host mode gets the
   * host's, any other mode a new empty one (the create-time check builds it so).
   */
  netns?: string;
  /** The hostname, when not the spec's (sharing another container's network: its hostname). */
  hostname?: string;
  /** Host path of the init binary (required when `spec.init`), bind-mounted read-only at INIT_PATH. */
  initBinary?: string;
}

/**
 * Where the init is in the container. Under /dev, which is the tmpfs every container gets
 * (defaultMounts): it never hides or collides with an image's file (Docker's /sbin/docker-init
 * shadows one an image may have), needs no mount point in the image, works with a read-only
 * rootfs, and is not hidden by a user's mount over /run (what breaks Podman's /run/podman-init).
 */
export const INIT_PATH = "/dev/init";

/**
 * Docker's ENTRYPOINT/CMD rules: `command` replaces the image Entrypoint and drops the
 * image Cmd unless `args` is set; `args` replaces Cmd. InvalidArgument when nothing is left.
 */
export function resolveCommand(image: ImageRuntimeConfig, spec: Pick<ContainerCreateSpec, "command" | "args" | "name">): string[] {
  const entrypoint = spec.command ?? image.Entrypoint ?? [];
  const cmd = spec.args ?? (spec.command ? [] : (image.Cmd ?? []));
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw invalidArgument(`create container ${spec.name}: no command (the image has no Entrypoint or Cmd and none was given)`);
  for (const a of argv) {
    if (typeof a !== "string" || a.includes("\0")) throw invalidArgument(`create container ${spec.name}: invalid argument ${JSON.stringify(a)}`);
  }
  return argv;
}

const ENV_KEY_RE = /^[^=\0]+$/;

/**
 * Environment: image Env, then the spec's env (ours win); PATH defaulted, HOSTNAME set,
 * HOME from the resolved user when nobody set it. PATH and HOSTNAME come first.
 */
export function buildEnv(image: ImageRuntimeConfig, env: Record<string, string>, hostname: string, home: string, name = "container"): string[] {
  const map = new Map<string, string>();
  map.set("PATH", DEFAULT_PATH);
  map.set("HOSTNAME", hostname);
  for (const kv of image.Env ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) continue;
    map.set(kv.slice(0, i), kv.slice(i + 1));
  }
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY_RE.test(k) || typeof v !== "string" || v.includes("\0")) {
      throw invalidArgument(`create container ${name}: invalid environment variable ${JSON.stringify(k)}`);
    }
    map.set(k, v);
  }
  if (!map.has("HOME")) map.set("HOME", home || "/");
  return [...map].map(([k, v]) => `${k}=${v}`);
}

const HOSTNAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9.]{0,62})$/;

export function containerHostname(id: string, spec: Pick<ContainerCreateSpec, "hostname" | "networkMode" | "name">, hostHostname?: string): string {
  const h = spec.hostname ?? (spec.networkMode === "host" && hostHostname ? hostHostname : id.slice(0, 12));
  if (!HOSTNAME_RE.test(h)) throw invalidArgument(`create container ${spec.name}: invalid hostname ${JSON.stringify(h)}`);
  return h;
}

/** The filesystems every container gets (Docker's defaults). */
export function defaultMounts(privileged: boolean): OciMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", privileged ? "rw" : "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: [privileged ? "rw" : "ro", "nosuid", "noexec", "nodev"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${DEFAULT_SHM_BYTES}`] },
  ];
}

/** Docker's device cgroup rules: deny all, allow the standard character devices and mknod. */
export function defaultDeviceRules(privileged: boolean): OciDeviceRule[] {
  if (privileged) return [{ allow: true, access: "rwm" }];
  const c = (major: number, minor?: number): OciDeviceRule =>
    minor === undefined ? { allow: true, type: "c", major, access: "rwm" } : { allow: true, type: "c", major, minor, access: "rwm" };
  return [
    { allow: false, access: "rwm" },
    { allow: true, type: "c", access: "m" },
    { allow: true, type: "b", access: "m" },
    c(1, 3), // null
    c(1, 5), // zero
    c(1, 7), // full
    c(1, 8), // random
    c(1, 9), // urandom
    c(5, 0), // tty
    c(5, 1), // console
    c(5, 2), // ptmx
    c(136), // pts/*
    c(10, 200), // net/tun
  ];
}

function resources(input: SpecInput): OciSpec["linux"]["resources"] {
  const { spec } = input;
  const r: OciSpec["linux"]["resources"] = { devices: defaultDeviceRules(spec.privileged) };
  const { memoryBytes, cpus, pids } = spec.resources;
  if (memoryBytes !== undefined) {
    if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 4 * 1024 * 1024) {
      throw invalidArgument(`create container ${spec.name}: memory limit must be an integer of at least 4MiB`);
    }
    // memory+swap = memory: no swap, so exceeding the limit really OOM-kills.
    r.memory = input.swapAccounting === false ? { limit: memoryBytes } : { limit: memoryBytes, swap: memoryBytes };
  }
  if (cpus !== undefined) {
    const quota = Math.round(cpus * CPU_PERIOD_US);
    if (!Number.isFinite(cpus) || quota < 1000) throw invalidArgument(`create container ${spec.name}: cpus must be at least 0.01`);
    r.cpu = { quota, period: CPU_PERIOD_US };
  }
  if (pids !== undefined) {
    if (!Number.isSafeInteger(pids) || pids < 1) throw invalidArgument(`create container ${spec.name}: pids limit must be a positive integer`);
    r.pids = { limit: pids };
  }
  return r;
}

function validateWorkingDir(image: ImageRuntimeConfig, spec: ContainerCreateSpec): string {
  const wd = spec.workingDir || image.WorkingDir || "/";
  // Docker takes a relative image WORKDIR as relative to /.
  const abs = spec.workingDir === undefined || spec.workingDir === "" ? (wd.startsWith("/") ? wd : `/${wd}`) : wd;
  if (!abs.startsWith("/") || abs.includes("\0")) throw invalidArgument(`create container ${spec.name}: workingDir must be an absolute path`);
  return abs;
}

/** The working directory of the container process (absolute, container view). */
export function containerWorkingDir(image: ImageRuntimeConfig, spec: ContainerCreateSpec): string {
  return validateWorkingDir(image, spec);
}

export function buildOciSpec(input: SpecInput): OciSpec {
  const { id, spec, image, user } = input;
  const command = resolveCommand(image, spec);
  if (spec.init && !input.initBinary) throw invalidArgument(`create container ${spec.name}: init: true needs the runtime's init binary`);
  // Docker's --init: `docker-init -- <argv>`; tini forwards signals to its child and reaps every orphan.
  const args = spec.init ? [INIT_PATH, "--", ...command] : command;
  const hostname = input.hostname ?? containerHostname(id, spec, input.hostHostname);
  const env = buildEnv(image, spec.env, hostname, user.home, spec.name);
  const cwd = validateWorkingDir(image, spec);
  const caps = effectiveCapabilities(spec.capAdd, spec.capDrop, spec.privileged, input.knownCapabilities ?? ALL_CAPABILITIES);

  const userTargets = new Set(input.mounts.map((m) => m.destination));
  const etcOpts = ["rbind", "rprivate", ...(spec.readOnlyRootfs ? ["ro"] : [])];
  const etcMounts: OciMount[] = [
    { destination: "/etc/hosts", type: "bind", source: input.etcFiles.hosts, options: etcOpts },
    { destination: "/etc/resolv.conf", type: "bind", source: input.etcFiles.resolvConf, options: etcOpts },
    { destination: "/etc/hostname", type: "bind", source: input.etcFiles.hostname, options: etcOpts },
  ];
  if (spec.init && userTargets.has(INIT_PATH)) throw invalidArgument(`create container ${spec.name}: a mount targets ${INIT_PATH}, where init: true puts the init`);
  const initMounts: OciMount[] = spec.init ? [{ destination: INIT_PATH, type: "bind", source: input.initBinary!, options: ["rbind", "ro", "nosuid", "nodev", "rprivate"] }] : [];
  const mounts = [...defaultMounts(spec.privileged), ...etcMounts].filter((m) => !userTargets.has(m.destination));
  mounts.push(...initMounts, ...input.mounts);

  const namespaces: OciNamespace[] = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  const netns = input.netns ?? (spec.networkMode === "host" ? "host" : undefined);
  if (netns !== "host") namespaces.push(netns ? { type: "network", path: netns } : { type: "network" });

  return {
    ociVersion: "1.0.2-dev",
    process: {
      // A tty container gets its terminal from runc over conmon's console socket (conmon -t).
      terminal: spec.tty === true,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args,
      env,
      cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits: input.rlimits,
      // Docker's default: setuid programs in the image work (no-new-privileges is opt-in there).
      noNewPrivileges: spec.noNewPrivileges === true,
    },
    root: { path: input.rootfs, readonly: spec.readOnlyRootfs },
    hostname,
    mounts,
    linux: {
      namespaces,
      resources: resources(input),
      cgroupsPath: input.cgroupsPath,
      maskedPaths: spec.privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: spec.privileged ? [] : [...READONLY_PATHS],
      rootfsPropagation: "rprivate",
    },
    annotations: { [NAME_ANNOTATION]: spec.name, ...(input.identity ? { [RECORD_ANNOTATION]: JSON.stringify(input.identity) } : {}) },
  };
}
