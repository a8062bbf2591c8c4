import { describe, expect, it } from "vitest";
import {
  assertAcyclic,
  containerGraph,
  findCycles,
  readiness,
  referencedObjectKeys,
  sortForApply,
  sortForDelete,
  topologicalOrder,
} from "./dependencies.js";
import type { AnyObject, DependencyCondition } from "./manifests/model.js";
import { containerObject } from "./testing.js";
import type { DependencyState } from "./dependencies.js";

const dep = (...names: string[]) => ({ dependsOn: names.map((name) => ({ name, condition: "started" as const })) });
const other = (kind: "Image" | "Volume" | "Network", name: string, spec: unknown = {}) =>
  ({ apiVersion: "berth/v1", kind, metadata: { name, labels: {}, annotations: {} }, spec }) as AnyObject;
const keys = (objs: AnyObject[]) => objs.map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`);

describe("ordering", () => {
  it("orders kinds Image, Volume, Network, Container, HealthCheck and containers after their dependencies", () => {
    const objs: AnyObject[] = [
      containerObject("web", dep("api")),
      containerObject("api", dep("db", "cache")),
      other("Network", "net"),
      containerObject("db"),
      other("Volume", "data"),
      { apiVersion: "berth/v1", kind: "HealthCheck", metadata: { name: "hc", labels: {}, annotations: {} }, spec: {} } as unknown as AnyObject,
      containerObject("cache"),
      other("Image", "img"),
    ];
    const applied = keys(sortForApply(objs));
    expect(applied).toEqual(["image/img", "volume/data", "network/net", "container/cache", "container/db", "container/api", "container/web", "healthcheck/hc"]);
    expect(keys(sortForDelete(objs))).toEqual([...applied].reverse());
  });

  it("topologicalOrder ignores unknown names and puts cycles last", () => {
    const g = new Map([
      ["a", ["b", "missing"]],
      ["b", []],
      ["x", ["y"]],
      ["y", ["x"]],
      ["z", ["x"]],
      ["s", ["s"]],
    ]);
    expect(topologicalOrder(g)).toEqual(["b", "a", "s", "x", "y", "z"]);
  });
});

describe("cycles", () => {
  it("finds none in a DAG (diamond)", () => {
    expect(findCycles(containerGraph([containerObject("a", dep("b", "c")), containerObject("b", dep("d")), containerObject("c", dep("d")), containerObject("d")]))).toEqual([]);
  });

  it("finds self-loops, two-cycles and longer cycles as closed paths starting at the smallest name", () => {
    const g = new Map([
      ["s", ["s"]],
      ["c", ["a"]],
      ["a", ["b"]],
      ["b", ["c"]],
      ["x", ["y"]],
      ["y", ["x"]],
    ]);
    expect(findCycles(g)).toEqual([
      ["a", "b", "c", "a"],
      ["s", "s"],
      ["x", "y", "x"],
    ]);
  });

  it("assertAcyclic throws InvalidArgument naming the cycle", () => {
    expect(() => assertAcyclic([containerObject("a", dep("b")), containerObject("b", dep("a"))])).toThrow(
      expect.objectContaining({ kind: "InvalidArgument", message: "check dependsOn: dependency cycle: a → b → a" }),
    );
    expect(() => assertAcyclic([containerObject("a", dep("b")), containerObject("b")])).not.toThrow();
  });
});

describe("referencedObjectKeys", () => {
  it("lists the declared image, volumes and networks a container uses", () => {
    const c = containerObject("web", {
      image: "docker.io/library/nginx:1",
      mounts: [
        { type: "volume", source: "data", target: "/d", readOnly: false },
        { type: "bind", source: "/host", target: "/h", readOnly: true },
      ],
      networks: [{ name: "front", aliases: [] }],
    });
    const declared = [
      other("Image", "nginx", { reference: "docker.io/library/nginx:1" }),
      other("Image", "busybox", { reference: "docker.io/library/busybox:latest" }),
      other("Volume", "data"),
      other("Volume", "unused"),
      other("Network", "front"),
      other("Network", "back"),
    ];
    expect(referencedObjectKeys(c, declared)).toEqual(["image/nginx", "network/front", "volume/data"]);
  });
});

describe("readiness", () => {
  const st = (s: Partial<DependencyState>): DependencyState => ({ declared: true, status: "running", hasHealthcheck: false, restartPending: false, ...s });
  const judge = (condition: DependencyCondition, s: DependencyState | undefined) =>
    readiness({ name: "db", condition }, new Map(s ? [["db", s]] : []));

  const cases: [string, DependencyCondition, DependencyState | undefined, "satisfied" | "waiting" | "failed", string][] = [
    ["undeclared", "started", undefined, "waiting", "dependency db is not declared"],
    ["declared false", "started", st({ declared: false }), "waiting", "dependency db is not declared"],
    ["its own failure", "started", st({ status: "absent", failure: "image not found" }), "failed", "dependency db failed: image not found"],
    ["started: running", "started", st({}), "satisfied", "dependency db is running"],
    ["started: absent", "started", st({ status: "absent" }), "waiting", "dependency db is not created yet"],
    ["started: created", "started", st({ status: "created" }), "waiting", "dependency db is not started yet"],
    ["started: unknown", "started", st({ status: "unknown" }), "waiting", "dependency db is in an unknown state"],
    ["started: exited 0 for good", "started", st({ status: "exited", exitCode: 0 }), "satisfied", "dependency db ran and completed"],
    ["started: exited 1, restarting", "started", st({ status: "exited", exitCode: 1, restartPending: true }), "waiting", "dependency db exited with code 1 and is restarting"],
    ["started: exited 1 for good", "started", st({ status: "exited", exitCode: 1 }), "failed", "dependency db exited with code 1"],
    ["healthy: no healthcheck", "healthy", st({}), "failed", "dependency db has no healthcheck, so it can never be healthy"],
    ["healthy: starting", "healthy", st({ hasHealthcheck: true, health: "starting" }), "waiting", "dependency db is not healthy yet (starting)"],
    // as Compose: an unhealthy dependency fails its dependents — unless berth restarts it for that
    ["healthy: unhealthy, not restarted for it", "healthy", st({ hasHealthcheck: true, health: "unhealthy" }), "failed", "dependency db is unhealthy"],
    ["healthy: unhealthy, restarted for it", "healthy", st({ hasHealthcheck: true, health: "unhealthy", restartsWhenUnhealthy: true }), "waiting", "dependency db is unhealthy and is being restarted"],
    ["started: unhealthy does not matter", "started", st({ hasHealthcheck: true, health: "unhealthy" }), "satisfied", "dependency db is running"],
    ["healthy: healthy", "healthy", st({ hasHealthcheck: true, health: "healthy" }), "satisfied", "dependency db is healthy"],
    ["healthy: not created", "healthy", st({ hasHealthcheck: true, status: "absent" }), "waiting", "dependency db is not created yet"],
    ["healthy: exited 2 for good", "healthy", st({ hasHealthcheck: true, status: "exited", exitCode: 2 }), "failed", "dependency db exited with code 2"],
    ["healthy: exited 0 for good", "healthy", st({ hasHealthcheck: true, status: "exited", exitCode: 0 }), "failed", "dependency db exited with code 0 and will not run again"],
    ["healthy: crash, restarting", "healthy", st({ hasHealthcheck: true, status: "exited", exitCode: 2, restartPending: true }), "waiting", "dependency db exited with code 2 and is restarting"],
    ["completed: running", "completed", st({}), "waiting", "dependency db has not completed yet"],
    ["completed: exit 0", "completed", st({ status: "exited", exitCode: 0 }), "satisfied", "dependency db completed successfully"],
    ["completed: exit 0 under always", "completed", st({ status: "exited", exitCode: 0, restartPending: true }), "satisfied", "dependency db completed successfully"],
    ["completed: exit 3", "completed", st({ status: "exited", exitCode: 3 }), "failed", "dependency db exited with code 3"],
    ["completed: exit 3, retrying", "completed", st({ status: "exited", exitCode: 3, restartPending: true }), "waiting", "dependency db exited with code 3 and is restarting"],
    ["completed: gave up", "completed", st({ status: "exited", exitCode: 3, failure: "gave up after 3 restarts" }), "failed", "dependency db failed: gave up after 3 restarts"],
    ["completed: not started", "completed", st({ status: "created" }), "waiting", "dependency db is not started yet"],
  ];
  it.each(cases)("%s", (_name, condition, state, verdict, reason) => {
    const r = judge(condition, state);
    expect({ verdict: r.satisfied ? "satisfied" : r.failed ? "failed" : "waiting", reason: r.reason }).toEqual({ verdict, reason });
    expect(r).toMatchObject({ name: "db", condition });
  });
});

describe("dependsOn required: false and restart: true", () => {
  const st = (over: Partial<DependencyState> = {}): DependencyState => ({ declared: true, status: "running", hasHealthcheck: false, restartPending: false, ...over });
  const states = (s?: DependencyState) => new Map(s ? [["db", s]] : []);

  it("an undeclared optional dependency is not waited for; a required one is", () => {
    expect(readiness({ name: "db", condition: "healthy", required: false }, states())).toEqual({
      name: "db", condition: "healthy", satisfied: true, failed: false, skipped: true, reason: "dependency db is not declared; not required: not waited for",
    });
    expect(readiness({ name: "db", condition: "healthy" }, states())).toMatchObject({ satisfied: false, failed: false, reason: "dependency db is not declared" });
  });

  it("a declared optional dependency is waited for, and skipped once it failed (Compose's optional dependency warning)", () => {
    expect(readiness({ name: "db", condition: "healthy", required: false }, states(st({ hasHealthcheck: true, health: "starting" })))).toMatchObject({ satisfied: false, failed: false });
    expect(readiness({ name: "db", condition: "completed", required: false }, states(st({ status: "exited", exitCode: 3 })))).toMatchObject({
      satisfied: true, failed: false, skipped: true, reason: "dependency db exited with code 3; not required: not waited for",
    });
    expect(readiness({ name: "db", condition: "completed" }, states(st({ status: "exited", exitCode: 3 })))).toMatchObject({ satisfied: false, failed: true });
  });

  it("restart: true carries the dependency's run start; without it, nothing", () => {
    expect(readiness({ name: "db", condition: "started", restart: true }, states(st({ startedAtMs: 5 })))).toMatchObject({ satisfied: true, runStartedAtMs: 5 });
    expect(readiness({ name: "db", condition: "started" }, states(st({ startedAtMs: 5 })))).not.toHaveProperty("runStartedAtMs");
  });
});
