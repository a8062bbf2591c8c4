import { describe, expect, it } from "vitest";
import type { ContainerStatusView } from "../controller/api/protocol.js";
import { age, containerStatusText, formatObjectTable, formatObjectTables, readiness, restartsText, shortDuration } from "./format-status.js";
import { ago, containerView, genericView, NOW } from "./testing.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const status = (over: Partial<ContainerStatusView>): ContainerStatusView => ({ phase: "Running", health: "none", restartCount: 0, ...over });

describe("shortDuration (kubectl's AGE)", () => {
  it.each([
    [-500, "0s"],
    [-5 * S, "<invalid>"],
    [0, "0s"],
    [5 * S, "5s"],
    [119 * S, "119s"],
    [3 * M, "3m"],
    [2 * M + 30 * S, "2m30s"],
    [45 * M, "45m"],
    [2 * H, "120m"], // kubectl counts minutes up to 3h
    [4 * H, "4h"],
    [4 * H + 15 * M, "4h15m"],
    [20 * H, "20h"],
    [4 * D, "4d"],
    [4 * D + 3 * H, "4d3h"],
    [30 * D, "30d"],
    [800 * D, "2y70d"],
    [3000 * D, "8y"],
  ])("%d ms → %s", (ms, text) => expect(shortDuration(ms)).toBe(text));

  it("reads timestamps, <unknown> when unparsable", () => {
    expect(age(ago(5 * S), NOW)).toBe("5s");
    expect(age("garbage", NOW)).toBe("<unknown>");
    expect(age(undefined, NOW)).toBe("<unknown>");
  });
});

describe("containerStatusText (docker ps STATUS)", () => {
  it.each<[Partial<ContainerStatusView>, string]>([
    [{ phase: "Running", reason: "Terminating" }, "Terminating"],
    [{ startedAt: ago(3 * M), health: "healthy" }, "Up 3 minutes (healthy)"],
    [{ startedAt: ago(5 * S), health: "starting" }, "Up 5 seconds (health: starting)"],
    [{ startedAt: ago(2 * H), health: "unhealthy" }, "Up 2 hours (unhealthy)"],
    [{ startedAt: ago(300) }, "Up Less than a second"],
    [{ startedAt: ago(M) }, "Up About a minute"],
    [{ phase: "Restarting", exitCode: 1, finishedAt: ago(5 * S) }, "Restarting (1) 5 seconds ago"],
    [{ phase: "Exited", exitCode: 0, finishedAt: ago(M) }, "Exited (0) About a minute ago"],
    [{ phase: "Exited", exitCode: 137, finishedAt: ago(3 * D) }, "Exited (137) 3 days ago"],
    [{ phase: "Exited" }, "Exited"],
    [{ phase: "Pending" }, "Pending"],
    [{ phase: "Pending", containerId: "abc" }, "Created"],
    [{ phase: "Pending", reason: "PullingImage" }, "Pending: PullingImage"],
    [{ phase: "Failed", reason: "ImagePullFailed", message: "no such image" }, "Failed: ImagePullFailed"],
    [{ phase: "Failed" }, "Failed"],
    // OOM-killed and staying down: restart policy no (Exited), on-failure given up (Failed); a restart due shows docker's Restarting
    [{ phase: "Exited", exitCode: 137, oomKilled: true, finishedAt: ago(5 * S), reason: "OOMKilled" }, "OOMKilled (137) 5 seconds ago"],
    [{ phase: "Failed", exitCode: 137, oomKilled: true, finishedAt: ago(5 * S), reason: "OOMKilled", message: "was OOM-killed (exit code 137); gave up after 3 restarts (on-failure:3)" }, "OOMKilled (137) 5 seconds ago"],
    [{ phase: "Failed", exitCode: 137, oomKilled: true, reason: "OOMKilled" }, "OOMKilled (137)"],
    [{ phase: "Restarting", exitCode: 137, oomKilled: true, finishedAt: ago(5 * S), reason: "CrashLoopBackOff" }, "Restarting (137) 5 seconds ago"],
    [{ phase: "Running", oomKilled: false, startedAt: ago(5 * S) }, "Up 5 seconds"],
  ])("%j → %s", (over, text) => expect(containerStatusText(status(over), NOW)).toBe(text));
});

describe("restartsText (kubectl RESTARTS)", () => {
  it("is 0 without restarts, N (Xago) with the last one, N without a time", () => {
    expect(restartsText(status({}), NOW)).toBe("0");
    expect(restartsText(status({ restartCount: 3, lastRestartAt: ago(2 * M) }), NOW)).toBe("3 (2m ago)");
    expect(restartsText(status({ restartCount: 1, lastRestartAt: ago(45 * S) }), NOW)).toBe("1 (45s ago)");
    expect(restartsText(status({ restartCount: 2 }), NOW)).toBe("2");
  });
});

describe("object tables", () => {
  const web = containerView("web", { startedAt: ago(3 * M), health: "healthy", pid: 4242, restartCount: 1, lastRestartAt: ago(3 * M) }, {}, { createdAt: ago(4 * H) });
  const job = containerView("job", { phase: "Exited", exitCode: 0, finishedAt: ago(M), reason: "Completed" }, { image: "alpine:3" }, { createdAt: ago(5 * S) });

  it("formats containers: NAME IMAGE STATUS RESTARTS AGE", () => {
    expect(formatObjectTable("Container", [web, job], NOW)).toBe(
      [
        "NAME   IMAGE                              STATUS                          RESTARTS     AGE",
        "web    docker.io/library/busybox:latest   Up 3 minutes (healthy)          1 (3m ago)   4h",
        "job    alpine:3                           Exited (0) About a minute ago   0            5s",
        "",
      ].join("\n"),
    );
  });

  it("adds PID IP PORTS STACK REASON with wide", () => {
    const lines = formatObjectTable("Container", [web, job], NOW, { wide: true }).split("\n");
    expect(lines[0]).toMatch(/^NAME +IMAGE +STATUS +RESTARTS +AGE +PID +IP +PORTS +STACK +REASON$/);
    expect(lines[1]).toMatch(/ 4h +4242 +- +- +demo +-$/);
    expect(lines[2]).toMatch(/ 5s +- +- +- +demo +Completed$/);
  });

  it("shows an OOM-killed container as OOMKilled in STATUS and REASON", () => {
    const oom = containerView("hog", { phase: "Failed", exitCode: 137, oomKilled: true, finishedAt: ago(5 * S), reason: "OOMKilled", message: "was OOM-killed" }, {}, { createdAt: ago(M) });
    const lines = formatObjectTable("Container", [oom], NOW, { wide: true }).split("\n");
    expect(lines[0]).toMatch(/^NAME +IMAGE +STATUS +RESTARTS +AGE +PID +IP +PORTS +STACK +REASON$/);
    expect(lines[1]).toMatch(/^hog +docker\.io\/library\/busybox:latest +OOMKilled \(137\) 5 seconds ago +0 +60s +- +- +- +demo +OOMKilled$/);
  });

  it("formats other kinds: NAME READY STATUS AGE (+ STACK)", () => {
    const data = genericView("Volume", "data");
    const cache = genericView("Volume", "cache", { ready: false, reason: "Mounting" }, { stack: "other" });
    expect(formatObjectTable("Volume", [data, cache], NOW)).toBe("NAME    READY   STATUS     AGE\ndata    True    Ready      4d\ncache   False   Mounting   4d\n");
    expect(formatObjectTable("Volume", [data], NOW, { wide: true })).toBe("NAME   READY   STATUS   AGE   STACK\ndata   True    Ready    4d    demo\n");
  });

  it("separates kinds with a blank line and prefixes names when listing all kinds", () => {
    const out = formatObjectTables(
      [
        { kind: "Volume", items: [genericView("Volume", "data")] },
        { kind: "Network", items: [] },
        { kind: "Container", items: [job] },
      ],
      NOW,
      { prefixKind: true },
    );
    const blocks = out.split("\n\n");
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toMatch(/^NAME +READY +STATUS +AGE\nvolume\/data +True/);
    expect(blocks[1]).toMatch(/^NAME +IMAGE +STATUS +RESTARTS +AGE\ncontainer\/job +alpine:3/);
  });
});

describe("readiness", () => {
  it.each<[string, ReturnType<typeof containerView>, { ready: boolean; failed: boolean; state: string }]>([
    ["running without healthcheck", containerView("a"), { ready: true, failed: false, state: "Running" }],
    ["running, health starting", containerView("a", { health: "starting" }), { ready: false, failed: false, state: "Running (health: starting)" }],
    ["running, healthcheck in spec not started", containerView("a", {}, { healthcheck: { intervalMs: 1 } }), { ready: false, failed: false, state: "Running (health: starting)" }],
    ["running, healthcheck disabled", containerView("a", {}, { healthcheck: { intervalMs: 1 }, healthcheckDisabled: true }), { ready: true, failed: false, state: "Running" }],
    ["running, healthy", containerView("a", { health: "healthy" }), { ready: true, failed: false, state: "Running (healthy)" }],
    ["running, unhealthy", containerView("a", { health: "unhealthy" }), { ready: false, failed: false, state: "Running (unhealthy)" }],
    ["job done", containerView("a", { phase: "Exited", exitCode: 0 }, { restartPolicy: { name: "no" } }), { ready: true, failed: false, state: "Exited (0)" }],
    ["job failed", containerView("a", { phase: "Exited", exitCode: 2 }, { restartPolicy: { name: "no" } }), { ready: false, failed: true, state: "Exited (2)" }],
    ["exited, will restart", containerView("a", { phase: "Exited", exitCode: 0 }), { ready: false, failed: false, state: "Exited (0)" }],
    ["restarting", containerView("a", { phase: "Restarting", exitCode: 1 }), { ready: false, failed: false, state: "Restarting (1)" }],
    ["failed", containerView("a", { phase: "Failed", reason: "ImagePullFailed" }), { ready: false, failed: true, state: "Failed" }],
    ["OOM-killed job", containerView("a", { phase: "Exited", exitCode: 137, oomKilled: true }, { restartPolicy: { name: "no" } }), { ready: false, failed: true, state: "OOMKilled (137)" }],
    ["OOM-killed, given up", containerView("a", { phase: "Failed", exitCode: 137, oomKilled: true, reason: "OOMKilled" }), { ready: false, failed: true, state: "OOMKilled (137)" }],
    ["pending", containerView("a", { phase: "Pending" }), { ready: false, failed: false, state: "Pending" }],
    ["volume ready", genericView("Volume", "v"), { ready: true, failed: false, state: "Ready" }],
    ["image not ready", genericView("Image", "i", { ready: false, reason: "Pulling" }), { ready: false, failed: false, state: "NotReady" }],
  ])("%s", (_name, view, expected) => expect(readiness(view)).toMatchObject(expected));

  it("joins reason and message", () => {
    expect(readiness(containerView("a", { phase: "Failed", reason: "ImagePullFailed", message: "no such image" })).message).toBe("ImagePullFailed: no such image");
  });
});
