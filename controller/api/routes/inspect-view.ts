/**
 * `berth inspect`: a container as `docker inspect` shows it (moby's api/types
 * ContainerJSON), mapped from what berth knows — a pure function of the runtime's facts
 * (ContainerDetail), the desired object, its status view and the health of its run,
 * table-tested in inspect-view.test.ts.
 *
 * Docker's field names and units (durations in nanoseconds, `"80/tcp"` port keys, the name
 * with a leading `/`). Fields berth has no value for are left out rather than given
 * Docker's zero values (no `StartedAt: "0001-01-01T00:00:00Z"`, no `Paused` container
 * driver details, no `ResolvConfPath`...). Where berth differs:
 * - `State.Status` `restarting` while berth's restart backoff waits (Docker's restart
 *   manager wait), `exited` otherwise once stopped; `Error` is the reconciler's message of a
 *   container that failed.
 * - `State.Health.Log[].ExitCode`: berth's probes are exec, http or tcp; the code is Docker's
 *   meaning of a HEALTHCHECK exit (0 healthy, 1 unhealthy) and -1 for a probe that could not
 *   run (as Docker reports an exec error).
 * - `Image` is the image's manifest digest (the ID berth's image commands show).
 */
import type { ContainerDetail } from "../../../runtime/types.js";
import type { Healthcheck, RestartPolicy } from "../../manifests/model.js";
import type { HealthState } from "../../health/types.js";
import type { ContainerStatusView } from "../protocol.js";

export interface DockerHealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface DockerPortBinding {
  HostIp: string;
  HostPort: string;
}

/** moby's ContainerJSON, the parts berth fills. */
export interface DockerContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: "created" | "running" | "restarting" | "exited";
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    Pid: number;
    ExitCode: number;
    Error: string;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status: string; FailingStreak: number; Log: DockerHealthLogEntry[] };
  };
  Image: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  HostConfig: Record<string, unknown>;
  Config: {
    Hostname: string;
    User: string;
    Env: string[];
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    Image: string;
    WorkingDir: string;
    Labels: Record<string, string>;
    ExposedPorts?: Record<string, Record<string, never>>;
    Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; StartInterval: number; Retries: number };
    StopSignal?: string;
    StopTimeout?: number;
  };
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; Driver?: string; RW: boolean }[];
  NetworkSettings: {
    SandboxKey?: string;
    Ports: Record<string, DockerPortBinding[] | null>;
    Networks: Record<string, { IPAddress: string; IPPrefixLen: number; Gateway: string; MacAddress?: string; Aliases: string[] }>;
  };
}

/** What the service gathers for one container. */
export interface InspectInput {
  detail: ContainerDetail;
  /** The desired object's spec parts inspect shows (the runtime's create spec has the rest). */
  object: { image: string; restartPolicy: RestartPolicy; ports: { containerPort: number; hostPort?: number; hostIP?: string; protocol: string }[] };
  status: ContainerStatusView;
  /** The check in effect (own, attached or the image's). */
  check?: Healthcheck;
  health?: HealthState;
  /** Host directory of each named volume it mounts. */
  volumeMountpoints: Record<string, string>;
  /** Interface name inside the container of each attached network (runtime/networks attachments). */
  interfaces: Record<string, string>;
  /** The resolved argv of its process (Docker's Path + Args); absent when it has none. */
  argv?: string[];
}

const NS_PER_MS = 1_000_000;

function probeTest(check: Healthcheck): string[] {
  const p = check.probe;
  if (p.type === "exec") return ["CMD", ...p.argv];
  if (p.type === "shell") return ["CMD-SHELL", p.command];
  // Docker has no http or tcp probes: berth's own words, in Docker's list form.
  if (p.type === "http") return ["HTTP", `${p.scheme}://:${p.port}${p.path}`];
  return ["TCP", String(p.port)];
}

const exitCodeOf = (r: "success" | "failure" | "unknown") => (r === "success" ? 0 : r === "failure" ? 1 : -1);

export function dockerInspectOf(input: InspectInput): DockerContainerInspect {
  const { detail, status: v } = input;
  const { state, spec, imageConfig } = detail;
  const running = state.status === "running";
  const restarting = !running && v.phase === "Restarting";
  const argv = input.argv ?? [];
  const entrypoint = spec.command ?? imageConfig.Entrypoint ?? null;
  const cmd = spec.args ?? (spec.command ? null : (imageConfig.Cmd ?? null));

  const stateOut: DockerContainerInspect["State"] = {
    Status: running ? "running" : restarting ? "restarting" : state.status === "created" ? "created" : "exited",
    Running: running,
    Paused: false,
    Restarting: restarting,
    OOMKilled: state.oomKilled,
    Dead: false,
    Pid: running ? (state.pid ?? 0) : 0,
    ExitCode: state.exitCode ?? 0,
    Error: v.phase === "Failed" ? (v.message ?? v.reason ?? "") : "",
  };
  if (state.startedAt) stateOut.StartedAt = state.startedAt;
  if (state.finishedAt) stateOut.FinishedAt = state.finishedAt;
  if (input.check) {
    const log = (input.health?.log ?? []).slice(-5).map((l) => ({ Start: new Date(l.startedAtMs).toISOString(), End: new Date(l.endedAtMs).toISOString(), ExitCode: exitCodeOf(l.result), Output: l.output }));
    stateOut.Health = {
      Status: running ? v.health : "none",
      FailingStreak: input.health?.failingStreak ?? 0,
      Log: log.length ? log : (v.healthResults ?? []).map((l) => ({ Start: l.start, End: l.end, ExitCode: exitCodeOf(l.result), Output: l.output })),
    };
  }

  const exposed: Record<string, Record<string, never>> = {};
  for (const p of Object.keys(imageConfig.ExposedPorts ?? {})) exposed[p.includes("/") ? p : `${p}/tcp`] = {};
  for (const p of input.object.ports) exposed[`${p.containerPort}/${p.protocol}`] = {};

  const config: DockerContainerInspect["Config"] = {
    Hostname: detail.hostname,
    User: spec.user ?? imageConfig.User ?? "",
    Env: mergeEnv(imageConfig.Env ?? [], spec.env),
    Cmd: cmd,
    Entrypoint: entrypoint,
    Image: input.object.image,
    WorkingDir: spec.workingDir ?? imageConfig.WorkingDir ?? "",
    Labels: { ...(imageConfig.Labels ?? {}), ...spec.labels },
  };
  if (Object.keys(exposed).length) config.ExposedPorts = exposed;
  if (input.check) {
    const c = input.check;
    config.Healthcheck = { Test: probeTest(c), Interval: c.intervalMs * NS_PER_MS, Timeout: c.timeoutMs * NS_PER_MS, StartPeriod: c.startPeriodMs * NS_PER_MS, StartInterval: c.startIntervalMs * NS_PER_MS, Retries: c.retries };
  }
  const stopSignal = spec.stopSignal ?? imageConfig.StopSignal;
  if (stopSignal) config.StopSignal = stopSignal;
  if (spec.stopGracePeriodMs !== undefined) config.StopTimeout = Math.round(spec.stopGracePeriodMs / 1000);

  const portBindings: Record<string, DockerPortBinding[]> = {};
  for (const p of input.object.ports) (portBindings[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIP ?? "", HostPort: p.hostPort !== undefined ? String(p.hostPort) : "" });
  const rp = input.object.restartPolicy;
  const hostConfig: Record<string, unknown> = {
    NetworkMode: spec.networkMode,
    RestartPolicy: { Name: rp.name, MaximumRetryCount: rp.name === "on-failure" ? rp.maxRetries : 0 },
    PortBindings: portBindings,
    Privileged: spec.privileged,
    ReadonlyRootfs: spec.readOnlyRootfs,
    CapAdd: spec.capAdd.length ? [...spec.capAdd] : null,
    CapDrop: spec.capDrop.length ? [...spec.capDrop] : null,
    Init: spec.init ?? false,
    Memory: spec.resources.memoryBytes ?? 0,
    NanoCpus: spec.resources.cpus !== undefined ? Math.round(spec.resources.cpus * 1e9) : 0,
    PidsLimit: spec.resources.pids ?? null,
    Mounts: spec.mounts.map((m) => ({ Type: m.type, ...(m.type === "tmpfs" ? {} : { Source: m.source }), Target: m.target, ReadOnly: m.readOnly })),
  };
  if (spec.dns) {
    hostConfig.Dns = [...spec.dns.nameservers];
    hostConfig.DnsSearch = [...spec.dns.search];
    hostConfig.DnsOptions = [...spec.dns.options];
  }
  if (spec.extraHosts?.length) hostConfig.ExtraHosts = spec.extraHosts.flatMap((h) => h.names.map((n) => `${n}:${h.address}`));

  const mounts: DockerContainerInspect["Mounts"] = spec.mounts.map((m) => {
    if (m.type === "volume") return { Type: "volume", Name: m.source, Source: input.volumeMountpoints[m.source] ?? "", Destination: m.target, Driver: "local", RW: !m.readOnly };
    if (m.type === "bind") return { Type: "bind", Source: m.source, Destination: m.target, RW: !m.readOnly };
    return { Type: "tmpfs", Source: "", Destination: m.target, RW: !m.readOnly };
  });

  const ports: Record<string, DockerPortBinding[] | null> = {};
  for (const p of Object.keys(exposed)) ports[p] = null;
  for (const p of v.ports ?? []) (ports[`${p.containerPort}/${p.protocol}`] ??= [])!.push({ HostIp: p.hostIP, HostPort: String(p.hostPort) });
  const networks: DockerContainerInspect["NetworkSettings"]["Networks"] = {};
  for (const a of v.networks ?? []) {
    const [ip, len] = a.address.split("/");
    const ifname = input.interfaces[a.network];
    const mac = ifname ? detail.macAddresses?.[ifname] : undefined;
    networks[a.network] = { IPAddress: ip ?? "", IPPrefixLen: Number(len ?? 0), Gateway: a.gateway, ...(mac ? { MacAddress: mac } : {}), Aliases: [...a.aliases] };
  }
  const settings: DockerContainerInspect["NetworkSettings"] = { Ports: ports, Networks: networks };
  if (state.netns) settings.SandboxKey = state.netns;

  return {
    Id: state.id,
    Created: state.createdAt,
    Path: argv[0] ?? "",
    Args: argv.slice(1),
    State: stateOut,
    Image: state.imageDigest,
    Name: `/${state.name}`,
    RestartCount: v.restartCount,
    Driver: "overlay",
    Platform: "linux",
    HostConfig: hostConfig,
    Config: config,
    Mounts: mounts,
    NetworkSettings: settings,
  };
}

/** Docker's Config.Env: the image's Env with the container's variables replacing or appended (moby's ReplaceOrAppendEnvValues). */
export function mergeEnv(image: string[], env: Record<string, string>): string[] {
  const out = [...image];
  for (const [k, val] of Object.entries(env)) {
    const i = out.findIndex((kv) => kv === k || kv.startsWith(`${k}=`));
    if (i >= 0) out[i] = `${k}=${val}`;
    else out.push(`${k}=${val}`);
  }
  return out;
}
