import * as path from "node:path";
import { canonicalCapability } from "../../../lib/capabilities.js";
import { splitShellWords } from "../../../lib/shell-words.js";
import { normalizeSignal } from "../../../lib/signals.js";
import { parseSize } from "../../../lib/units.js";
import type { ContainerSpecInput } from "../../../schemas/index.js";
import { DEFAULTS, type ContainerSpec, type Healthcheck } from "../model.js";
import { specPath, type Problems, type Seg } from "../problems.js";
import { normalizeEnv } from "./env.js";
import { normalizeExtraHosts } from "./extra-hosts.js";
import { normalizeHealthcheck } from "./healthcheck.js";
import { normalizeMounts } from "./mounts.js";
import { normalizePorts } from "./ports.js";
import { normalizeRestart } from "./restart-policy.js";
import { durationMs, imageRef, resolvePath } from "./scalars.js";
import { flagGrantHint, type NormalizeOptions } from "./types.js";

const MIN_MEMORY = 6 * 1024 * 1024; // Docker refuses less than 6MiB, and so do we.

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

/**
 * The spec of a Container object with every default filled in, and what a schema cannot
 * check across fields: networks vs networkMode, duplicate names, limits, signals,
 * capabilities, privileged.
 */
export function normalizeContainer(s: ContainerSpecInput, o: NormalizeOptions, p: Problems): ContainerSpec {
  const restartPolicy = normalizeRestart(s.restartPolicy, p);
  const command = argv(s.command, specPath("command"), p);
  const args = argv(s.args, specPath("args"), p);
  const env = normalizeEnv(s.env, p);
  const ports = normalizePorts(s.ports ?? [], specPath("ports"), p);
  const mounts = normalizeMounts(s.mounts ?? [], specPath("mounts"), o, p);
  const networks: ContainerSpec["networks"] = (s.networks ?? []).map((n) =>
    typeof n === "string" ? { name: n, aliases: [] } : { name: n.name, aliases: n.aliases ?? [], ...(n.ipv4Address !== undefined ? { ipv4Address: n.ipv4Address } : {}) },
  );
  networks.forEach((n, i) => {
    if (networks.findIndex((x) => x.name === n.name) !== i) p.add(specPath("networks", i), `network "${n.name}" is listed twice`);
  });
  if (s.networkMode && s.networkMode !== "bridge" && networks.length) {
    p.add(specPath("networkMode"), `networkMode ${s.networkMode} cannot be combined with networks`, "remove one of them");
  }
  if (s.networkMode && s.networkMode !== "bridge" && (ports.length || s.publishAll)) {
    p.add(specPath(ports.length ? "ports" : "publishAll"), `ports cannot be published with networkMode ${s.networkMode}: ${s.networkMode === "host" ? "the container already uses the host's ports" : s.networkMode === "none" ? "the container has no network" : "the container uses another's network, which publishes the ports"}`, ports.length ? "remove ports" : "remove publishAll");
  } else if (s.networkMode === "host" && ports.length) {
    p.add(specPath("ports"), "ports cannot be published with networkMode host: the container already uses the host's ports", "remove ports");
  }

  let healthcheck: Healthcheck | undefined;
  let healthcheckDisabled = false;
  if (s.healthcheck) {
    if (s.healthcheck.disable) healthcheckDisabled = true;
    else healthcheck = normalizeHealthcheck(s.healthcheck, specPath("healthcheck"), p);
  }
  const dependsOn: ContainerSpec["dependsOn"] = (s.dependsOn ?? []).map((d) =>
    typeof d === "string"
      ? { name: d, condition: "started" as const }
      : { name: d.name, condition: d.condition ?? ("started" as const), ...(d.restart === true ? { restart: true as const } : {}), ...(d.required === false ? { required: false as const } : {}) },
  );
  dependsOn.forEach((d, i) => {
    if (dependsOn.findIndex((x) => x.name === d.name) !== i) p.add(specPath("dependsOn", i), `"${d.name}" is listed twice`);
  });

  const resources: ContainerSpec["resources"] = {};
  if (s.resources?.memory !== undefined) {
    resources.memoryBytes = parseSize(s.resources.memory);
    if (resources.memoryBytes < MIN_MEMORY) p.add(specPath("resources", "memory"), `memory limit must be at least 6MiB, got ${resources.memoryBytes} bytes`);
  }
  if (s.resources?.cpus !== undefined) {
    resources.cpus = Number(s.resources.cpus);
    if (!(resources.cpus > 0)) p.add(specPath("resources", "cpus"), `expected a number of CPUs greater than 0, got ${JSON.stringify(s.resources.cpus)}`);
  }
  if (s.resources?.pids !== undefined) resources.pids = s.resources.pids;

  let stopSignal: string | undefined;
  if (s.stopSignal !== undefined) {
    stopSignal = normalizeSignal(s.stopSignal);
    if (!stopSignal) p.add(specPath("stopSignal"), `unknown signal ${JSON.stringify(s.stopSignal)}`, "use e.g. SIGTERM, SIGINT, SIGQUIT");
  }
  const caps = (list: string[] | undefined, field: string) =>
    (list ?? []).map((c, i) => {
      const canon = canonicalCapability(c);
      if (!canon) p.add(specPath(field, i), `unknown capability ${JSON.stringify(c)}`);
      return canon ?? c;
    });
  const capAdd = caps(s.capAdd, "capAdd");
  const capDrop = caps(s.capDrop, "capDrop");
  if (s.privileged && !o.allowPrivileged) {
    p.add(specPath("privileged"), "privileged containers are refused: they have full control of the host", (o.grantHint ?? flagGrantHint)("privileged"));
  }
  const onUnhealthy = s.onUnhealthy ?? (restartPolicy.name === "no" ? "none" : "restart");

  const spec: ContainerSpec = {
    image: imageRef(s.image),
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
    stopGracePeriodMs: durationMs(s.stopGracePeriod, DEFAULTS.stopGracePeriodMs),
    readOnlyRootfs: s.readOnlyRootfs ?? false,
    publishAll: s.publishAll ?? false,
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
  if (s.init === true) spec.init = true;
  if (s.tty === true) spec.tty = true;
  if (s.stdin === true) spec.stdin = true;
  if (s.stdinOnce === true) {
    if (s.stdin === true) spec.stdinOnce = true;
    else p.add(specPath("stdinOnce"), "stdinOnce needs stdin: true (there is no stdin to close otherwise)", "add stdin: true");
  }
  const extraHosts = normalizeExtraHosts(s.extraHosts, p);
  if (extraHosts.length) spec.extraHosts = extraHosts;
  if (s.dns?.length) spec.dns = [...s.dns];
  if (s.dnsSearch?.length) spec.dnsSearch = s.dnsSearch.map((d) => d.replace(/\.$/, ""));
  if (s.dnsOptions?.length) spec.dnsOptions = [...s.dnsOptions];
  if ((s.dns?.length || s.dnsSearch?.length || s.dnsOptions?.length) && s.networkMode?.startsWith("container:")) {
    const field = s.dns?.length ? "dns" : s.dnsSearch?.length ? "dnsSearch" : "dnsOptions";
    p.add(specPath(field), `${field} cannot be set with networkMode ${s.networkMode}: the container uses the other's resolv.conf`, `remove ${field}`);
  }
  if (extraHosts.length && s.networkMode?.startsWith("container:")) {
    p.add(specPath("extraHosts"), `extraHosts cannot be set with networkMode ${s.networkMode}: the container uses the other's /etc/hosts`, "remove extraHosts");
  }
  return spec;
}
