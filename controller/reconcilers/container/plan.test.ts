import { describe, expect, it } from "vitest";
import type { ContainerState } from "../../../runtime/types.js";
import { LABELS } from "../../labels.js";
import type { RestartPolicy } from "../../manifests/model.js";
import { planContainer, type DesiredContainer, type PlanContext } from "./plan.js";
import { containerSpec } from "../../testing.js";
import type { DependencyReadiness } from "../../dependencies.js";
import type { Action } from "./types.js";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const KEY = "container/web";

interface State {
  desired: DesiredContainer | undefined;
  observed: ContainerState | undefined;
  now: number;
  ctx: PlanContext;
}

const policy = (name: RestartPolicy["name"], maxRetries = 0): RestartPolicy => ({
  name,
  maxRetries,
  backoff: { initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 },
});

/** Base: desired `web` (restart always, onUnhealthy restart) running with the same spec hash. */
function base(): State {
  return {
    desired: { spec: containerSpec({ restartPolicy: policy("always"), onUnhealthy: "restart" }), specHash: "H1" },
    observed: {
      id: "c".repeat(64),
      name: "web",
      labels: { [LABELS.object]: KEY, [LABELS.stack]: "s", [LABELS.specHash]: "H1" },
      image: "docker.io/library/busybox:latest",
      imageDigest: "sha256:" + "a".repeat(64),
      status: "running",
      pid: 42,
      oomKilled: false,
      createdAt: iso(T0 - 120_000),
      startedAt: iso(T0 - 60_000),
    },
    now: T0,
    ctx: { key: KEY, image: { present: true, digest: "sha256:" + "a".repeat(64) }, restart: { restartCount: 0, retries: 0, lastBackoffMs: 0 }, dependencies: [], daemonStartedAtMs: T0 - 3_600_000 },
  };
}

// Mutations -------------------------------------------------------------------------------
type Mut = (s: State) => void;
const notDesired: Mut = (s) => (s.desired = undefined);
const missing: Mut = (s) => (s.observed = undefined);
const sharesNetwork: Mut = (s) => (s.desired!.spec = { ...s.desired!.spec, networkMode: "container:db" });
const notOwned: Mut = (s) => (s.observed!.labels = { app: "foreign" });
const noImage: Mut = (s) => {
  s.desired!.specHash = undefined;
  s.ctx.image = { present: false };
};
const provider =
  (failed: boolean): Mut =>
  (s) => (s.ctx.image = { present: false, provider: { key: "image/busybox", failed, ...(failed ? { message: "no such file" } : {}) } });
const intent =
  (action: "stop" | "start" | "restart"): Mut =>
  (s) => (s.ctx.intent = action);
const specChanged: Mut = (s) => (s.desired!.specHash = "H2");
const noHashLabel: Mut = (s) => delete s.observed!.labels[LABELS.specHash];
const created: Mut = (s) => {
  s.observed!.status = "created";
  delete s.observed!.startedAt;
  delete s.observed!.pid;
};
const unknown: Mut = (s) => {
  s.observed!.status = "unknown";
  s.observed!.reason = "run root lost";
};
/** Exited with `code` after running `ranMs`, `agoMs` before now. */
const exited =
  (code: number, ranMs = 50, agoMs = 0): Mut =>
  (s) => {
    s.observed!.status = "exited";
    s.observed!.exitCode = code;
    delete s.observed!.pid;
    s.observed!.finishedAt = iso(s.now - agoMs);
    s.observed!.startedAt = iso(s.now - agoMs - ranMs);
  };
const restartPolicy =
  (name: RestartPolicy["name"], maxRetries = 0): Mut =>
  (s) => (s.desired!.spec.restartPolicy = policy(name, maxRetries));
/** `retries` (counted against on-failure:N) defaults to the restart count. */
const record =
  (restartCount: number, lastBackoffMs: number, retries = restartCount): Mut =>
  (s) => (s.ctx.restart = { ...s.ctx.restart, restartCount, retries, lastBackoffMs });
const userStopped =
  (atMs = T0 - 1_000): Mut =>
  (s) => (s.ctx.restart = { ...s.ctx.restart, lastStop: { cause: "user", atMs } });
const stoppedFor =
  (cause: "unhealthy-restart" | "unhealthy-stop"): Mut =>
  (s) => (s.ctx.restart = { ...s.ctx.restart, lastStop: { cause, atMs: T0 } });
const health =
  (h: "starting" | "healthy" | "unhealthy"): Mut =>
  (s) => (s.ctx.health = h);
const onUnhealthy =
  (o: "restart" | "stop" | "none"): Mut =>
  (s) => (s.desired!.spec.onUnhealthy = o);
const dep =
  (verdict: "satisfied" | "waiting" | "failed", name = "db"): Mut =>
  (s) => {
    const r: DependencyReadiness = {
      name,
      condition: "healthy",
      satisfied: verdict === "satisfied",
      failed: verdict === "failed",
      reason: verdict === "failed" ? `dependency ${name} exited with code 1` : `dependency ${name} is not healthy yet (starting)`,
    };
    s.ctx.dependencies = [...s.ctx.dependencies, r];
  };
const at =
  (ms: number): Mut =>
  (s) => (s.now = T0 + ms);

/** Actions reduced to what matters, e.g. `stop[unhealthy-restart]`, `wait@T0+100!db`, `wait!failed`. */
function summary(actions: Action[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case "stop":
        return a.cause ? `stop[${a.cause}]` : "stop";
      case "recreate":
        return a.start ? "recreate+start" : "recreate";
      case "start":
        return a.by === "policy" ? `start[policy ${a.delayMs}ms]` : a.by === "user" ? "start[user]" : "start";
      case "wait":
        return `wait${a.untilMs !== undefined ? `@T0+${a.untilMs - T0}` : ""}${a.dependency ? `:${a.dependency}` : ""}${a.failed ? "!failed" : ""}`;
      default:
        return a.type;
    }
  });
}

const cases: [string, Mut[], string[], RegExp?][] = [
  ["steady: running, same hash", [], []],
  ["steady: healthy", [health("healthy")], []],
  ["steady: still starting", [health("starting")], []],

  ["not desired, running and owned → stop, remove", [notDesired], ["stop", "remove"], /no longer desired/],
  ["not desired, exited and owned → remove", [notDesired, exited(0)], ["remove"]],
  ["not desired, not owned → nothing", [notDesired, notOwned], []],
  ["not desired, missing → nothing", [notDesired, missing], []],

  ["name taken by a foreign container → failed wait", [notOwned], ["wait!failed"], /does not manage/],
  ["image not present, no Image provides it → failed wait", [noImage], ["wait!failed"], /image docker.io\/library\/busybox:latest is not present: declare an Image/],
  ["image not present, an Image provides it → wait for it", [noImage, provider(false)], ["wait"], /waiting for image\/busybox to provide/],
  ["image not present, its Image failed → failed wait naming it", [noImage, provider(true)], ["wait!failed"], /\(image\/busybox\) failed: no such file/],

  ["missing → create, start", [missing], ["create", "start"]],
  ["missing, dependency not ready → created at once, its start waits naming it (Compose creates before it starts in order)", [missing, dep("waiting")], ["create", "wait:db"], /waits for db \(healthy\): dependency db is not healthy yet/],
  ["missing, sharing a container's network, dependency not ready → not even created (that one must exist)", [missing, sharesNetwork, dep("waiting")], ["wait:db"]],
  ["missing, dependency failed → failed wait naming it", [missing, dep("satisfied", "cache"), dep("failed")], ["wait:db!failed"], /waits for db \(healthy\): dependency db exited with code 1/],
  ["missing, dependencies satisfied → create, start", [missing, dep("satisfied"), dep("satisfied", "cache")], ["create", "start"]],
  ["missing, user-stopped → create only", [missing, userStopped()], ["create"]],

  ["spec hash changed → recreate and start", [specChanged], ["recreate+start"], /spec changed/],
  ["no spec hash label → recreate", [noHashLabel], ["recreate+start"], /no spec hash/],
  ["spec changed while exited → recreate and start", [specChanged, exited(0), restartPolicy("no")], ["recreate+start"]],
  ["spec changed, dependency not ready → keep the old one, wait", [specChanged, dep("waiting")], ["wait:db"], /spec changed; recreate waits for db/],
  ["spec changed, user-stopped → recreate, not started", [specChanged, exited(143), userStopped()], ["recreate"]],

  ["created → start", [created], ["start"]],
  ["created, dependency not ready → wait", [created, dep("waiting")], ["wait:db"]],
  ["created, user-stopped → nothing", [created, userStopped()], []],

  ["unhealthy, onUnhealthy restart → stop for restart", [health("unhealthy")], ["stop[unhealthy-restart]"]],
  ["unhealthy, onUnhealthy stop → stop", [health("unhealthy"), onUnhealthy("stop")], ["stop[unhealthy-stop]"]],
  ["unhealthy, onUnhealthy none → nothing", [health("unhealthy"), onUnhealthy("none")], []],
  ["unhealthy, on-failure:3 used up → failed wait, keeps running", [health("unhealthy"), restartPolicy("on-failure", 3), record(3, 400)], ["wait!failed"], /gave up after 3 restarts/],
  [
    "unhealthy, attached HealthCheck says stop",
    [health("unhealthy"), (s) => (s.ctx.onUnhealthy = "stop")],
    ["stop[unhealthy-stop]"],
  ],

  ["exited 1 just now, always → wait 100ms", [exited(1)], ["wait@T0+100"], /restart 1 after a 100ms backoff/],
  ["exited 1, backoff elapsed → start", [exited(1), at(100)], ["start[policy 100ms]"]],
  ["exited 1 50ms ago → wait until exit + 100ms", [exited(1, 50, 50)], ["wait@T0+50"]],
  ["5th quick crash → wait 1600ms", [exited(1), record(4, 800)], ["wait@T0+1600"]],
  ["crash at the 1m cap", [exited(1), record(20, 60_000)], ["wait@T0+60000"]],
  ["crash after running 10s → backoff reset", [exited(1, 10_000), record(9, 51_200)], ["wait@T0+100"]],
  ["exited 0, policy no → nothing", [exited(0), restartPolicy("no")], []],
  ["exited 1, policy no → nothing", [exited(1), restartPolicy("no")], []],
  ["exited 0, on-failure → nothing", [exited(0), restartPolicy("on-failure")], []],
  ["exited 1, on-failure:2 with 2 restarts → gave up (failed)", [exited(1), restartPolicy("on-failure", 2), record(2, 200)], ["wait!failed"], /gave up after 2 restarts/],
  ["exited, user-stopped, unless-stopped → nothing", [exited(143), restartPolicy("unless-stopped"), userStopped()], []],
  ["exited, user-stopped in this daemon run, always → nothing", [exited(143), userStopped()], []],
  ["exited, user-stopped before the daemon started, always → start", [exited(143), userStopped(T0 - 7_200_000), at(100)], ["start[policy 100ms]"]],
  ["exited after an unhealthy restart-stop, policy no → restarts through backoff", [exited(143), restartPolicy("no"), stoppedFor("unhealthy-restart")], ["wait@T0+100"]],
  ["exited after an unhealthy stop → stays stopped", [exited(143), stoppedFor("unhealthy-stop")], []],
  ["exited, dependency failing → restart anyway (restarts ignore dependsOn)", [exited(1), dep("failed"), at(100)], ["start[policy 100ms]"]],
  ["on-failure:2: retries reset by a user start allow restarts again", [exited(1), restartPolicy("on-failure", 2), record(5, 0, 0), at(100)], ["start[policy 100ms]"]],

  ["user stop, running → stop[user]", [intent("stop")], ["stop[user]"], /stopped by the user/],
  ["user stop, exited with a restart pending → stop[user] (cancels it)", [intent("stop"), exited(1)], ["stop[user]"]],
  ["user stop, image missing → stop[user]", [intent("stop"), noImage], ["stop[user]"]],
  ["user restart, running → stop then start", [intent("restart")], ["stop[restart]", "start[user]"], /restarting at the user's request/],
  ["user restart, exited, policy no → start", [intent("restart"), exited(0), restartPolicy("no")], ["start[user]"]],
  ["user restart, user-stopped → start", [intent("restart"), exited(143), userStopped()], ["start[user]"]],
  ["user start, running → nothing", [intent("start")], []],
  ["user start, exited, policy no → start", [intent("start"), exited(0), restartPolicy("no")], ["start[user]"], /started by the user/],
  ["user start, gave up on-failure → start", [intent("start"), exited(1), restartPolicy("on-failure", 2), record(2, 200)], ["start[user]"]],
  ["user start, created → start even if a dependency is not ready", [intent("start"), created, dep("waiting")], ["start[user]"]],
  ["user start, missing and user-stopped → create and start", [intent("start"), missing, userStopped()], ["create", "start"]],
  ["user start, spec changed and user-stopped → recreate and start", [intent("start"), specChanged, exited(143), userStopped()], ["recreate+start"]],
  ["unknown state → wait", [unknown], ["wait"], /unknown \(run root lost\)/],
];

describe("planContainer", () => {
  it.each(cases)("%s", (_name, muts, want, reason) => {
    const s = base();
    for (const m of muts) m(s);
    const actions = planContainer(s.desired, s.observed, s.now, s.ctx);
    expect(summary(actions)).toEqual(want);
    if (reason) expect(actions.map((a) => a.reason).join(" | ")).toMatch(reason);
    for (const a of actions) expect(a.reason.length).toBeGreaterThan(0);
  });

  it("is pure: the same inputs give the same actions and are not modified", () => {
    const s = base();
    exited(1)(s);
    const snapshot = JSON.stringify(s);
    expect(planContainer(s.desired, s.observed, s.now, s.ctx)).toEqual(planContainer(s.desired, s.observed, s.now, s.ctx));
    expect(JSON.stringify(s)).toBe(snapshot);
  });

  it("an unhealthy container is restarted through the same backoff as a crash", () => {
    // The reconciler's loop: plan → act → record; the container turns unhealthy after 2s each run.
    const s = base();
    const delays: number[] = [];
    let now = T0;
    for (let round = 0; round < 4; round++) {
      s.now = now;
      s.ctx.health = "unhealthy";
      const stop = planContainer(s.desired, s.observed, now, s.ctx);
      expect(summary(stop)).toEqual(["stop[unhealthy-restart]"]);
      // act: stop → record the cause → the container exits
      s.ctx.restart = { ...s.ctx.restart, lastStop: { cause: "unhealthy-restart", atMs: now } };
      s.ctx.health = undefined;
      s.observed = { ...s.observed!, status: "exited", exitCode: 143, finishedAt: iso(now) };
      const wait = planContainer(s.desired, s.observed, now, s.ctx);
      expect(wait[0]!.type).toBe("wait");
      const until = (wait[0] as { untilMs: number }).untilMs;
      delays.push(until - now);
      const start = planContainer(s.desired, s.observed, until, s.ctx);
      expect(summary(start)).toEqual([`start[policy ${until - now}ms]`]);
      // act: start → record the restart; it runs 2s before turning unhealthy again
      s.ctx.restart = { restartCount: s.ctx.restart.restartCount + 1, retries: s.ctx.restart.retries + 1, lastBackoffMs: (start[0] as { delayMs: number }).delayMs };
      s.observed = { ...s.observed, status: "running", startedAt: iso(until) };
      delete s.observed.finishedAt;
      now = until + 2_000;
    }
    expect(delays).toEqual([100, 200, 400, 800]);
  });
});

describe("dependsOn restart: true", () => {
  const dep = (over: Partial<DependencyReadiness> = {}): DependencyReadiness => ({ name: "db", condition: "started", satisfied: true, failed: false, reason: "dependency db is running", ...over });
  const plan = (mut: Mut) => {
    const s = base();
    mut(s);
    return planContainer(s.desired, s.observed, s.now, s.ctx);
  };
  const started = Date.parse(base().observed!.startedAt!);

  it("restarts a running dependent whose dependency's run began after its own", () => {
    expect(plan((s) => (s.ctx.dependencies = [dep({ runStartedAtMs: started + 1 })]))).toEqual([
      { type: "stop", cause: "dependency-restart", reason: "dependency db was restarted or recreated (restart: true)" },
      { type: "start", by: "dependency", dependency: "db", reason: "dependency db was restarted or recreated (restart: true)" },
    ]);
  });

  it("keeps it running while the dependency is not satisfied again, and does nothing for an older run, a user action or without restart", () => {
    expect(plan((s) => (s.ctx.dependencies = [dep({ runStartedAtMs: started + 1, satisfied: false, reason: "dependency db is not healthy yet (starting)", condition: "healthy" })]))).toEqual([]);
    expect(plan((s) => (s.ctx.dependencies = [dep({ runStartedAtMs: started - 1 })]))).toEqual([]);
    expect(plan((s) => (s.ctx.dependencies = [dep({ runStartedAtMs: started })]))).toEqual([]);
    expect(plan((s) => (s.ctx.dependencies = [dep()]))).toEqual([]);
    expect(plan((s) => ((s.ctx.dependencies = [dep({ runStartedAtMs: started + 1 })]), (s.ctx.intent = "stop")))).toEqual([{ type: "stop", cause: "user", reason: "stopped by the user" }]);
  });

  it("an optional dependency skipped does not hold up a create", () => {
    expect(plan((s) => ((s.observed = undefined), (s.ctx.dependencies = [dep({ skipped: true, reason: "dependency db is not declared; not required: not waited for" })])))).toEqual([
      { type: "create", reason: "container does not exist" },
      { type: "start", by: "create", reason: "container was created" },
    ]);
  });
});
