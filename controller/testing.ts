/** Test fixtures for controller unit tests, and the controller harness (excluded from the build). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pino from "pino";
import { ManualClock } from "../lib/clock.js";
import { FakeContainerRuntime } from "../runtime/testing/fake-container-runtime.js";
import { FakeImageStore } from "../runtime/testing/fake-image-store.js";
import { FakeNetworkDriver } from "../runtime/testing/fake-network-driver.js";
import { FakeVolumeStore } from "../runtime/testing/fake-volume-store.js";
import type { ApplyResponse, ContainerStatusView, EventRecord, ObjectView } from "./api/protocol.js";
import { Controller, type ControllerOptions } from "./controller.js";
import { DEFAULTS, type ContainerObject, type ContainerSpec, type Healthcheck } from "./manifests/model.js";

/** A normalized ContainerSpec with every default applied, like normalize.ts produces. */
export function containerSpec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image: "docker.io/library/busybox:latest",
    command: ["sleep", "infinity"],
    env: [{ name: "A", value: "1" }],
    envFiles: [],
    ports: [],
    publishAll: false,
    mounts: [],
    networks: [],
    restartPolicy: { name: "no", maxRetries: 0, backoff: { ...DEFAULTS.restartBackoff } },
    healthcheckDisabled: false,
    onUnhealthy: "none",
    dependsOn: [],
    resources: {},
    stopGracePeriodMs: DEFAULTS.stopGracePeriodMs,
    readOnlyRootfs: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    ...over,
  };
}

export function healthcheck(over: Partial<Healthcheck> = {}): Healthcheck {
  return { probe: { type: "exec", argv: ["true"] }, ...DEFAULTS.healthcheck, ...over };
}

export function containerObject(name: string, over: Partial<ContainerSpec> = {}, labels: Record<string, string> = {}): ContainerObject {
  return { apiVersion: "berth/v1", kind: "Container", metadata: { name, labels, annotations: {} }, spec: containerSpec(over) };
}

// ---------------------------------------------------------------------------- controller harness

/**
 * The whole controller on the fake runtime (runtime/testing/), a ManualClock and real
 * stores in a temp directory, for unit tests: apply YAML, let it settle, move time, restart
 * the "daemon" (a new controller and runtime instance on the same fake host and state dir).
 */
export interface Harness {
  clock: ManualClock;
  images: FakeImageStore;
  volumes: FakeVolumeStore;
  networks: FakeNetworkDriver;
  containers: FakeContainerRuntime;
  controller: Controller;
  stateDir: string;
  apply(yaml: string, options?: { stack?: string; prune?: boolean }): Promise<ApplyResponse>;
  /** Lets every queued reconcile, runtime event and due timer (at the current time) run. */
  settle(): Promise<void>;
  /** Moves the clock `ms` forward in `stepMs` steps, settling after each. */
  advance(ms: number, stepMs?: number): Promise<void>;
  /**
   * Settles until `pred` holds, for as long as real time `timeoutMs` (default 5s): for what
   * waits on real I/O (an Image import reads its file) rather than on the clock.
   */
  until(what: string, pred: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  view(name: string): Promise<ObjectView>;
  status(name: string): Promise<ContainerStatusView>;
  /** The controller's events with this reason (and object), in order. */
  events(reason?: string, object?: string): EventRecord[];
  /** Stops the controller and opens a new one (and a new runtime instance) on the same host and state. */
  restartDaemon(): Promise<void>;
  close(): Promise<void>;
}

export const IMAGE = "localhost/busybox:latest";

export async function startHarness(options: Partial<ControllerOptions> = {}): Promise<Harness> {
  const clock = new ManualClock(Date.parse("2026-01-01T00:00:00.000Z"));
  const stateDir = mkdtempSync(path.join(tmpdir(), "berth-ctl-"));
  const images = new FakeImageStore({ clock, inUse: (img) => h.containers.usesImage(img.digest) });
  images.addImage(IMAGE);
  const volumes = new FakeVolumeStore({ clock });
  const networks = new FakeNetworkDriver(() => new Date(clock.now()).toISOString());
  const open = async (containers: FakeContainerRuntime) => {
    const c = await Controller.open({
      runtime: { containers, images, volumes, networks },
      stateDir,
      clock,
      logger: pino({ level: process.env.BERTH_TEST_LOG ?? "silent" }),
      options: { resyncMs: 3_600_000, resyncJitter: 0, ...options },
    });
    c.start();
    return c;
  };
  const containers = new FakeContainerRuntime({ clock, images, volumes });
  const h: Harness = {
    clock,
    images,
    volumes,
    networks,
    containers,
    controller: await open(containers),
    stateDir,
    async apply(yaml, o = {}) {
      const res = await h.controller.api.apply({ stack: o.stack ?? "s", files: [{ file: "stack.yaml", text: yaml, baseDir: stateDir }], ...(o.prune ? { prune: true } : {}) }, new AbortController().signal);
      const errors = res.diagnostics.filter((d) => d.severity === "error");
      if (errors.length) throw new Error(`invalid test manifests: ${errors.map((d) => `${d.line}:${d.column} ${d.message}`).join("; ")}`);
      await h.settle();
      return res;
    },
    async settle() {
      // Not idle(): a reconcile may wait on the clock (a stop grace period) until time moves.
      for (let i = 0, quiet = 0; i < 200 && quiet < 3; i++) {
        await clock.advance(0);
        for (let j = 0; j < 5; j++) await new Promise((r) => setImmediate(r));
        quiet = h.controller.busy() ? 0 : quiet + 1;
      }
    },
    async advance(ms, stepMs = 10) {
      for (let t = 0; t < ms; t += stepMs) {
        await clock.advance(Math.min(stepMs, ms - t));
        await h.settle();
      }
    },
    async until(what, pred, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await h.settle();
        if (await pred()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    view: (name) => h.controller.api.get("Container", name),
    status: async (name) => (await h.view(name)).status as ContainerStatusView,
    events: (reason, object) => h.controller.events.recent((e) => (!reason || e.reason === reason) && (!object || e.object === object)),
    async restartDaemon() {
      await h.controller.stop();
      h.containers = await h.containers.reopen();
      h.controller = await open(h.containers);
      await h.settle();
    },
    async close() {
      await h.controller.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  await h.settle();
  return h;
}

/** A Container manifest: `container("web", "restartPolicy: always")`. */
export function containerYaml(name: string, ...specLines: string[]): string {
  return [`apiVersion: berth/v1`, `kind: Container`, `metadata: {name: ${name}}`, `spec:`, `  image: ${IMAGE}`, `  command: [sleep, "3600"]`, ...specLines.map((l) => `  ${l}`)].join("\n") + "\n---\n";
}
