import { describe, expect, it } from "vitest";
import type { ContainerDetail } from "../../../runtime/types.js";
import type { ContainerStatusView } from "../protocol.js";
import { dockerInspectOf, mergeEnv, type InspectInput } from "./inspect-view.js";

const detail = (o: Partial<ContainerDetail["state"]> = {}): ContainerDetail => ({
  state: { id: "0123456789abcdef", name: "web", labels: { "berth.stack": "s" }, image: "localhost/web:1", imageDigest: "sha256:aaa", status: "running", pid: 4242, oomKilled: false, createdAt: "2024-05-01T10:00:00.000Z", startedAt: "2024-05-01T10:00:01.000Z", netns: "/run/netns/berth-0123456789abcdef", ...o },
  spec: {
    name: "web",
    image: "localhost/web:1",
    labels: { "berth.stack": "s" },
    args: ["-p", "80"],
    env: { MODE: "prod", PATH: "/app/bin" },
    mounts: [
      { type: "volume", source: "data", target: "/data", readOnly: false },
      { type: "bind", source: "/srv/www", target: "/www", readOnly: true },
      { type: "tmpfs", target: "/tmp", readOnly: false },
    ],
    networkMode: "bridge",
    resources: { memoryBytes: 64 << 20, cpus: 0.5, pids: 100 },
    stopGracePeriodMs: 10_000,
    readOnlyRootfs: false,
    capAdd: ["CAP_NET_ADMIN"],
    capDrop: [],
    privileged: false,
    extraHosts: [{ address: "10.0.0.1", names: ["db", "db.local"] }],
  },
  imageConfig: { Entrypoint: ["/app/server"], Cmd: ["--default"], Env: ["PATH=/usr/bin", "LANG=C"], WorkingDir: "/app", Labels: { maintainer: "x" }, ExposedPorts: { "80/tcp": {} }, StopSignal: "SIGQUIT" },
  hostname: "0123456789ab",
  macAddresses: { eth0: "02:42:ac:11:00:02" },
});

const status: ContainerStatusView = {
  phase: "Running",
  health: "healthy",
  restartCount: 2,
  pid: 4242,
  networks: [{ network: "s_default", address: "172.18.0.2/16", gateway: "172.18.0.1", aliases: ["web"] }],
  ports: [{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80 }],
  healthResults: [{ start: "2024-05-01T10:00:02.000Z", end: "2024-05-01T10:00:02.010Z", result: "success", output: "ok" }],
};

const base = (): InspectInput => ({
  detail: detail(),
  object: { image: "localhost/web:1", restartPolicy: { name: "on-failure", maxRetries: 3, backoff: { initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 } }, ports: [{ containerPort: 80, hostPort: 8080, hostIP: "127.0.0.1", protocol: "tcp" }] },
  status,
  check: { probe: { type: "exec", argv: ["test", "-f", "/ok"] }, intervalMs: 500, timeoutMs: 2_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 },
  health: { status: "healthy", failingStreak: 0, containerStartedAtMs: 0, log: [{ result: "failure", output: "no", startedAtMs: Date.UTC(2024, 4, 1, 10, 0, 3), endedAtMs: Date.UTC(2024, 4, 1, 10, 0, 4) }] },
  volumeMountpoints: { data: "/var/lib/berth/volumes/data/_data" },
  interfaces: { s_default: "eth0" },
  argv: ["/app/server", "-p", "80"],
});

describe("docker inspect of a container", () => {
  it("maps a running container", () => {
    const c = dockerInspectOf(base());
    expect([c.Id, c.Name, c.Path, c.Args, c.Image, c.RestartCount, c.Created]).toEqual(["0123456789abcdef", "/web", "/app/server", ["-p", "80"], "sha256:aaa", 2, "2024-05-01T10:00:00.000Z"]);
    expect(c.State).toEqual({
      Status: "running", Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 4242, ExitCode: 0, Error: "",
      StartedAt: "2024-05-01T10:00:01.000Z",
      Health: { Status: "healthy", FailingStreak: 0, Log: [{ Start: "2024-05-01T10:00:03.000Z", End: "2024-05-01T10:00:04.000Z", ExitCode: 1, Output: "no" }] },
    });
    expect(c.Config).toEqual({
      Hostname: "0123456789ab",
      User: "",
      Env: ["PATH=/app/bin", "LANG=C", "MODE=prod"],
      Cmd: ["-p", "80"],
      Entrypoint: ["/app/server"],
      Image: "localhost/web:1",
      WorkingDir: "/app",
      Labels: { maintainer: "x", "berth.stack": "s" },
      ExposedPorts: { "80/tcp": {} },
      Healthcheck: { Test: ["CMD", "test", "-f", "/ok"], Interval: 500_000_000, Timeout: 2_000_000_000, StartPeriod: 0, StartInterval: 5_000_000_000, Retries: 3 },
      StopSignal: "SIGQUIT",
      StopTimeout: 10,
    });
    expect(c.HostConfig).toMatchObject({
      NetworkMode: "bridge",
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 },
      PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] },
      Memory: 64 << 20,
      NanoCpus: 500_000_000,
      PidsLimit: 100,
      CapAdd: ["CAP_NET_ADMIN"],
      CapDrop: null,
      ExtraHosts: ["db:10.0.0.1", "db.local:10.0.0.1"],
    });
    expect(c.Mounts).toEqual([
      { Type: "volume", Name: "data", Source: "/var/lib/berth/volumes/data/_data", Destination: "/data", Driver: "local", RW: true },
      { Type: "bind", Source: "/srv/www", Destination: "/www", RW: false },
      { Type: "tmpfs", Source: "", Destination: "/tmp", RW: true },
    ]);
    expect(c.NetworkSettings).toEqual({
      SandboxKey: "/run/netns/berth-0123456789abcdef",
      Ports: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] },
      Networks: { s_default: { IPAddress: "172.18.0.2", IPPrefixLen: 16, Gateway: "172.18.0.1", MacAddress: "02:42:ac:11:00:02", Aliases: ["web"] } },
    });
  });

  it("leaves out what berth has no value for", () => {
    const input = base();
    delete input.check;
    delete input.health;
    input.detail.state = { ...input.detail.state, status: "created" };
    delete input.detail.state.startedAt;
    delete input.detail.state.pid;
    delete input.detail.macAddresses;
    const c = dockerInspectOf(input);
    expect(c.State.Status).toBe("created");
    expect(c.State.Pid).toBe(0);
    expect("StartedAt" in c.State || "FinishedAt" in c.State || "Health" in c.State).toBe(false);
    expect("Healthcheck" in c.Config).toBe(false);
    expect("MacAddress" in c.NetworkSettings.Networks.s_default!).toBe(false);
  });

  it("an exited container that berth is backing off is restarting; a failed one carries its message", () => {
    const input = base();
    input.detail.state = { ...input.detail.state, status: "exited", exitCode: 137, oomKilled: true, finishedAt: "2024-05-01T10:05:00.000Z" };
    input.status = { ...status, phase: "Restarting" };
    const c = dockerInspectOf(input);
    expect([c.State.Status, c.State.Restarting, c.State.Running, c.State.ExitCode, c.State.OOMKilled, c.State.FinishedAt, c.State.Health?.Status]).toEqual(["restarting", true, false, 137, true, "2024-05-01T10:05:00.000Z", "none"]);
    input.status = { ...status, phase: "Failed", message: "back-off limit reached" };
    expect([dockerInspectOf(input).State.Status, dockerInspectOf(input).State.Error]).toEqual(["exited", "back-off limit reached"]);
  });

  it("health log falls back to the status view's results; probe kinds Docker lacks keep berth's words", () => {
    const input = base();
    delete input.health;
    input.check = { probe: { type: "http", path: "/healthz", port: 9090, scheme: "http", headers: {} }, intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 0, startIntervalMs: 1000 };
    const c = dockerInspectOf(input);
    expect(c.State.Health!.Log).toEqual([{ Start: "2024-05-01T10:00:02.000Z", End: "2024-05-01T10:00:02.010Z", ExitCode: 0, Output: "ok" }]);
    expect(c.Config.Healthcheck!.Test).toEqual(["HTTP", "http://:9090/healthz"]);
  });

  it("Env: the image's with the container's replacing or appended", () => {
    expect(mergeEnv(["A=1", "B=2", "C"], { B: "3", D: "4", C: "x" })).toEqual(["A=1", "B=3", "C=x", "D=4"]);
  });
});
