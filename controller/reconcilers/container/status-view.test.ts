import { describe, expect, it } from "vitest";
import type { ContainerState } from "../../../runtime/types.js";
import type { HealthState } from "../../health/types.js";
import { LABELS } from "../../labels.js";
import { emptyStatusRecord, type ContainerStatusRecord } from "../../store/status-records.js";
import { containerCondition, containerStatusView, type ContainerViewInput } from "./status-view.js";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

const running = (): ContainerState => ({
  id: "c".repeat(64),
  name: "web",
  labels: { [LABELS.object]: "container/web", [LABELS.specHash]: "H1" },
  image: "localhost/busybox:latest",
  imageDigest: "sha256:" + "a".repeat(64),
  status: "running",
  pid: 42,
  oomKilled: false,
  createdAt: iso(T0 - 2000),
  startedAt: iso(T0 - 1000),
});
const exited = (code: number, oom = false): ContainerState => {
  const { pid: _pid, ...c } = running();
  return { ...c, status: "exited", exitCode: code, oomKilled: oom, finishedAt: iso(T0) };
};
const healthy: HealthState = { status: "healthy", failingStreak: 0, containerStartedAtMs: T0 - 1000, log: [{ result: "success", output: "ok", startedAtMs: T0 - 10, endedAtMs: T0 - 5 }] };

describe("containerCondition", () => {
  const cases: [string, Parameters<typeof containerCondition>[0], Partial<ReturnType<typeof containerCondition>>][] = [
    ["running, no check → ready", { wait: undefined, observed: running(), hasCheck: false, health: undefined, now: T0 }, { ready: true, failed: false }],
    ["running, check starting → not ready", { wait: undefined, observed: running(), hasCheck: true, health: undefined, now: T0 }, { ready: false }],
    ["running, healthy → ready", { wait: undefined, observed: running(), hasCheck: true, health: healthy, now: T0 }, { ready: true }],
    [
      "backing off → CrashLoopBackOff with the time left",
      { wait: { type: "wait", untilMs: T0 + 400, reason: "exited with code 1" }, observed: exited(1), hasCheck: false, health: undefined, now: T0 + 100 },
      { reason: "CrashLoopBackOff", message: "back-off 300ms restarting: exited with code 1", nextRestartAtMs: T0 + 400, ready: false, failed: false },
    ],
    ["failed dependency", { wait: { type: "wait", failed: true, dependency: "db", reason: "waits for db" }, observed: undefined, hasCheck: false, health: undefined, now: T0 }, { reason: "DependencyFailed", failed: true }],
    ["waiting dependency", { wait: { type: "wait", dependency: "db", reason: "waits for db" }, observed: undefined, hasCheck: false, health: undefined, now: T0 }, { reason: "WaitingForDependency", failed: false }],
    ["failed wait", { wait: { type: "wait", failed: true, reason: "gave up" }, observed: exited(1), hasCheck: false, health: undefined, now: T0 }, { reason: "Failed", message: "gave up" }],
    ["plain wait", { wait: { type: "wait", image: "x", reason: "waiting for image/x" }, observed: undefined, hasCheck: false, health: undefined, now: T0 }, { reason: "Waiting" }],
    ["OOM killed", { wait: undefined, observed: exited(137, true), hasCheck: false, health: undefined, now: T0 }, { reason: "OOMKilled", message: "the kernel OOM killer ended the container" }],
    ["runtime reason", { wait: undefined, observed: { ...exited(255), reason: "the run-root was lost" }, hasCheck: false, health: undefined, now: T0 }, { message: "the run-root was lost" }],
  ];
  it.each(cases)("%s", (_n, input, want) => {
    const got = containerCondition(input);
    expect(got).toMatchObject(want);
    if (!("reason" in want)) expect(got.reason).toBeUndefined();
  });
});

describe("containerStatusView", () => {
  const rec = (over: Partial<ContainerStatusRecord> = {}): ContainerStatusRecord => ({ ...emptyStatusRecord("Container"), ...over });
  const base = (): ContainerViewInput => ({ record: rec({ observedGeneration: 2 }), observed: running(), health: undefined, hasCheck: false, terminating: false });
  const cases: [string, (i: ContainerViewInput) => void, Record<string, unknown>][] = [
    ["running", () => {}, { phase: "Running", health: "none", pid: 42, observedGeneration: 2, specHash: "H1", restartCount: 0 }],
    ["missing → Pending", (i) => (i.observed = undefined), { phase: "Pending" }],
    ["created → Pending", (i) => (i.observed = { ...running(), status: "created" }), { phase: "Pending" }],
    ["exited → Exited with code", (i) => (i.observed = exited(3)), { phase: "Exited", exitCode: 3, finishedAt: iso(T0) }],
    ["exited, restart due → Restarting", (i) => ((i.observed = exited(1)), (i.record = rec({ nextRestartAtMs: T0 + 100 }))), { phase: "Restarting", nextRestartAt: iso(T0 + 100) }],
    ["failed → Failed", (i) => (i.record = rec({ failed: true, reason: "Failed", message: "gave up" })), { phase: "Failed", reason: "Failed", message: "gave up" }],
    ["check, no monitor yet → starting", (i) => (i.hasCheck = true), { health: "starting" }],
    ["check, healthy with results", (i) => ((i.hasCheck = true), (i.health = healthy)), { health: "healthy", healthResults: [{ start: iso(T0 - 10), end: iso(T0 - 5), result: "success", output: "ok" }] }],
    ["check, exited → none", (i) => ((i.hasCheck = true), (i.observed = exited(0))), { health: "none" }],
    ["terminating", (i) => (i.terminating = true), { phase: "Running", reason: "Terminating" }],
    ["restarts shown", (i) => (i.record = rec({ restart: { restartCount: 3, retries: 1, lastBackoffMs: 400 }, lastRestartAtMs: T0 })), { restartCount: 3, lastRestartAt: iso(T0) }],
  ];
  it.each(cases)("%s", (_n, mut, want) => {
    const i = base();
    mut(i);
    expect(containerStatusView(i)).toMatchObject(want);
  });
  it("shows no pid for an exited container and no health results without a check", () => {
    const i = base();
    i.observed = exited(0);
    i.health = healthy;
    const v = containerStatusView(i);
    expect(v.pid).toBeUndefined();
    expect(v.healthResults).toBeUndefined();
  });
});
