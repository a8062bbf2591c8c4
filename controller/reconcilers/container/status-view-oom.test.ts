import { describe, expect, it } from "vitest";
import type { ContainerState } from "../../../runtime/types.js";
import { LABELS } from "../../labels.js";
import { emptyStatusRecord } from "../../store/status-records.js";
import type { RestartPolicy } from "../../manifests/model.js";
import { decideRestart } from "./restart-policy.js";
import { containerCondition, containerStatusView } from "./status-view.js";

// What `berth get` is given for a container the kernel OOM-killed, under the restart policies
// that leave it down: the reason is OOMKilled either way (kubectl's word), the phase says
// whether it merely exited (no) or berth gave up on it (on-failure:N).
const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const oomExited: ContainerState = {
  id: "c".repeat(64),
  name: "hog",
  labels: { [LABELS.object]: "container/hog", [LABELS.specHash]: "H1" },
  image: "localhost/busybox:latest",
  imageDigest: "sha256:" + "a".repeat(64),
  status: "exited",
  exitCode: 137,
  oomKilled: true,
  createdAt: iso(T0 - 2000),
  startedAt: iso(T0 - 1000),
  finishedAt: iso(T0),
};
const backoff = { initialMs: 100, maxMs: 1000, resetAfterMs: 10_000 };
const exit = { exitCode: 137, oomKilled: true, startedAtMs: T0 - 1000, finishedAtMs: T0 };

describe("an OOM-killed container's status", () => {
  it("restart policy no: Exited, reason OOMKilled", () => {
    const policy: RestartPolicy = { name: "no", maxRetries: 0, backoff };
    const d = decideRestart({ policy, exit, record: { restartCount: 0, retries: 0, lastBackoffMs: 0 }, daemonStartedAtMs: 0 });
    expect(d).toMatchObject({ restart: false, gaveUp: false }); // the plan ends on no wait
    const cond = containerCondition({ wait: undefined, observed: oomExited, hasCheck: false, health: undefined, now: T0 });
    expect(cond).toMatchObject({ reason: "OOMKilled", failed: false });
    const view = containerStatusView({ record: { ...emptyStatusRecord("Container"), ...cond }, observed: oomExited, health: undefined, hasCheck: false, terminating: false });
    expect(view).toMatchObject({ phase: "Exited", exitCode: 137, oomKilled: true, reason: "OOMKilled", finishedAt: iso(T0) });
  });

  it("on-failure:3 given up: Failed, reason OOMKilled (was Failed), the message says why", () => {
    const policy: RestartPolicy = { name: "on-failure", maxRetries: 3, backoff };
    const d = decideRestart({ policy, exit, record: { restartCount: 3, retries: 3, lastBackoffMs: 400 }, daemonStartedAtMs: 0 });
    expect(d).toMatchObject({ restart: false, gaveUp: true });
    const cond = containerCondition({ wait: { type: "wait", failed: true, reason: d.reason }, observed: oomExited, hasCheck: false, health: undefined, now: T0 });
    expect(cond).toEqual({ ready: false, failed: true, reason: "OOMKilled", message: "was OOM-killed (exit code 137); gave up after 3 restarts (on-failure:3)" });
    const view = containerStatusView({ record: { ...emptyStatusRecord("Container"), ...cond }, observed: oomExited, health: undefined, hasCheck: false, terminating: false });
    expect(view).toMatchObject({ phase: "Failed", exitCode: 137, oomKilled: true, reason: "OOMKilled" });
  });

  it("a failed wait for another cause keeps its reason", () => {
    const exited0 = { ...oomExited, exitCode: 1, oomKilled: false };
    expect(containerCondition({ wait: { type: "wait", failed: true, reason: "gave up" }, observed: exited0, hasCheck: false, health: undefined, now: T0 }).reason).toBe("Failed");
    expect(containerCondition({ wait: { type: "wait", failed: true, dependency: "db", reason: "db failed" }, observed: oomExited, hasCheck: false, health: undefined, now: T0 }).reason).toBe("DependencyFailed");
  });
});
