import { createHash } from "node:crypto";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.js";
import { conflict } from "../../lib/errors.js";
import { SourceRunner } from "./source-runner.js";
import { containerYaml, FakeApplyTarget } from "./testing.js";
import type { HostGrant } from "../api/protocol.js";
import type { Revision, SourceSpec } from "./types.js";

/** A source over an in-memory tree: `files` is what a read sees; `fire()` is a watch event. */
function setup(o: { sync?: "auto" | "manual"; prune?: boolean; allow?: HostGrant[]; files?: Record<string, string> } = {}) {
  const clock = new ManualClock();
  const target = new FakeApplyTarget();
  const files: Record<string, string> = { ...(o.files ?? { "web.yaml": containerYaml("web"), "db.yaml": containerYaml("db") }) };
  let reads = 0;
  let onChange: (() => void) | undefined;
  const spec: SourceSpec = { stack: "shop", type: "dir", dir: "/src", sync: o.sync ?? "auto", prune: o.prune ?? true, allow: o.allow ?? [], registeredAt: "t" };
  const runner = new SourceRunner({
    spec,
    clock,
    logger: pino({ level: "silent" }),
    target,
    dir: "/src",
    async read(): Promise<Revision> {
      reads++;
      const list = Object.keys(files)
        .sort()
        .map((f) => ({ file: f, text: files[f]!, baseDir: "/src" }));
      return { hash: createHash("sha256").update(JSON.stringify(list)).digest("hex"), files: list, diagnostics: [] };
    },
    watch(cb) {
      onChange = cb;
      return { ready: Promise.resolve(), close: async () => {} };
    },
    options: { debounce: { quietMs: 300, maxWaitMs: 2_000 }, resyncMs: 60_000 },
  });
  return { clock, target, files, runner, fire: () => onChange!(), reads: () => reads };
}

describe("SourceRunner", () => {
  it("applies the first revision as the stack, with prune and the source's policy", async () => {
    const { runner, target } = setup({ allow: ["hostNetwork"] });
    await runner.start();
    expect(target.changeLines()).toEqual([["container/db created", "container/web created"]]);
    expect(target.applies[0]!.req).toMatchObject({ stack: "shop", prune: true, dryRun: false, allow: ["hostNetwork"] });
    const v = await runner.view();
    expect(v).toMatchObject({ state: "Synced", errors: [], objects: { ready: 2, total: 2 }, lastApply: { result: "Applied" } });
    expect(v.appliedRevision).toBe(v.revision);
    expect(target.events.map((e) => e.reason)).toEqual(["Synced"]);
  });

  it("debounces a burst of changes (an atomic save: unlink then add) into one read and one apply, without a delete", async () => {
    const { runner, target, files, fire, clock, reads } = setup();
    await runner.start();
    const before = reads();
    delete files["web.yaml"]; // unlink ...
    fire();
    await clock.advance(50);
    files["web.yaml"] = containerYaml("web", "  stopGracePeriod: 1s\n"); // ... add, new content
    fire();
    await clock.advance(299);
    expect(reads()).toBe(before);
    await clock.advance(1);
    expect(reads()).toBe(before + 1);
    expect(target.changeLines()).toEqual([["container/db created", "container/web created"], ["container/web configured"]]);
  });

  it("coalesces 50 changes of a checkout into one apply", async () => {
    const { runner, target, files, fire, clock } = setup({ files: {} });
    await runner.start();
    for (let i = 0; i < 50; i++) {
      files[`c${String(i).padStart(2, "0")}.yaml`] = containerYaml(`c${i}`);
      fire();
      await clock.advance(5);
    }
    await clock.advance(300);
    expect(target.applies.length).toBe(2); // the empty first revision, then the 50
    expect(target.changeLines()[1]!.length).toBe(50);
    expect(runner.cycles).toBe(2);
  });

  it("does not apply when the set's hash is unchanged (a touch, a rewrite with the same bytes)", async () => {
    const { runner, target, files, fire, clock } = setup();
    await runner.start();
    files["web.yaml"] = `${files["web.yaml"]}`;
    fire();
    await clock.advance(300);
    expect(target.applies.length).toBe(1);
    expect(target.dryRuns).toBe(0);
  });

  it("a broken revision applies and prunes nothing; the errors are located, on the view and in one event; the fix converges", async () => {
    const { runner, target, files, fire, clock } = setup();
    await runner.start();
    const good = (await runner.view()).revision;
    delete files["db.yaml"]; // would prune db
    files["web.yaml"] = "apiVersion: berth/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: localhost/busybox:latest\n  restartPolicy: sometimes\n";
    fire();
    await clock.advance(300);
    expect(target.applies.length).toBe(1);
    expect(target.store.has("container/db")).toBe(true);
    let v = await runner.view();
    expect(v.state).toBe("Invalid");
    expect(v.appliedRevision).toBe(good);
    expect(v.errors[0]).toMatchObject({ severity: "error", file: "web.yaml", line: 6, column: 18, path: "spec.restartPolicy" });
    expect(v.lastApply).toMatchObject({ result: "Invalid" });
    const invalid = target.events.filter((e) => e.reason === "InvalidRevision");
    expect(invalid.length).toBe(1);
    expect(invalid[0]!.message).toContain("web.yaml:6:18: error: container/web: spec.restartPolicy");
    expect(invalid[0]!.object).toBe("stack/shop");

    await clock.advance(60_000); // a resync of the same broken set: no second event, nothing applied
    expect(target.events.filter((e) => e.reason === "InvalidRevision").length).toBe(1);
    expect(target.applies.length).toBe(1);

    files["web.yaml"] = containerYaml("web", "  restartPolicy: always\n");
    fire();
    await clock.advance(300);
    v = await runner.view();
    expect(v).toMatchObject({ state: "Synced", errors: [] });
    expect(target.changeLines()[1]).toEqual(["container/web configured", "container/db deleted"]);
  });

  it("refuses a policy violation with its location unless the source allows it", async () => {
    const files = { "host.yaml": containerYaml("h", "  networkMode: host\n") };
    const refused = setup({ files });
    await refused.runner.start();
    const v = await refused.runner.view();
    expect(v.state).toBe("Invalid");
    expect(v.errors).toMatchObject([{ file: "host.yaml", line: 7, column: 16, path: "spec.networkMode", message: expect.stringContaining("host is refused") }]);
    expect(refused.target.applies.length).toBe(0);

    const priv = setup({ files: { "p.yaml": containerYaml("p", "  privileged: true\n") }, allow: ["hostNetwork"] });
    await priv.runner.start();
    // the refusal says how the source's registration would allow it, not the daemon's flag
    expect((await priv.runner.view()).errors).toMatchObject([{ path: "spec.privileged", line: 7, suggestion: "register the source with --allow privileged to permit it" }]);

    const allowed = setup({ files, allow: ["hostNetwork"] });
    await allowed.runner.start();
    expect((await allowed.runner.view()).state).toBe("Synced");
  });

  it("manual mode: a new revision's plan is on the view and applied exactly as planned by sync", async () => {
    const { runner, target, files, fire, clock } = setup({ sync: "manual" });
    await runner.start();
    expect(target.applies.length).toBe(0);
    let v = await runner.view();
    expect(v.state).toBe("OutOfSync");
    expect(v.plan!.changes.map((c) => `${c.name} ${c.action}`)).toEqual(["db created", "web created"]);
    expect(target.events.map((e) => e.reason)).toEqual(["PlanReady"]);
    expect((await runner.planNow()).revision).toBe(v.revision);

    const r = await runner.sync();
    expect(r).toMatchObject({ applied: true, revision: v.revision });
    expect(target.changeLines()).toEqual([["container/db created", "container/web created"]]);
    v = await runner.view();
    expect(v.state).toBe("Synced");
    expect(v.plan).toBeUndefined();

    delete files["db.yaml"];
    fire();
    await clock.advance(300);
    v = await runner.view();
    expect(v.plan!.changes).toEqual([{ kind: "Container", name: "db", action: "deleted" }]);
    const planned = v.revision;
    files["late.yaml"] = containerYaml("late"); // changed after the plan: sync still applies what was planned
    await runner.sync();
    expect(target.changeLines()[1]).toEqual(["container/db deleted"]);
    expect(target.applies[1]!.req.files.map((f) => f.file)).toEqual(["web.yaml"]);
    expect(planned).toBeDefined();
  });

  it("puts drift back on the resync (auto), once, and plans it (manual)", async () => {
    const { runner, target, clock } = setup();
    await runner.start();
    target.store.delete("container/web"); // someone deleted it by hand
    await clock.advance(60_000);
    expect(target.changeLines()[1]).toEqual(["container/web created"]);
    expect(target.events.map((e) => e.reason)).toEqual(["Synced", "Drifted", "Synced"]);
    await clock.advance(60_000);
    expect(target.applies.length).toBe(2);

    const m = setup({ sync: "manual" });
    await m.runner.start();
    await m.runner.sync();
    m.target.store.delete("container/db");
    await m.clock.advance(60_000);
    expect((await m.runner.view()).plan!.changes).toEqual([{ kind: "Container", name: "db", action: "created" }]);
    expect(m.target.applies.length).toBe(1);
  });

  it("an apply that fails is the view's state and an event; the next change retries", async () => {
    const { runner, target, files, fire, clock } = setup();
    target.failNext = conflict("apply container/web: it belongs to stack other");
    await runner.start();
    let v = await runner.view();
    expect(v).toMatchObject({ state: "Failed", message: expect.stringContaining("belongs to stack other"), lastApply: { result: "Failed" } });
    expect(target.events.map((e) => e.reason)).toEqual(["SourceFailed"]);
    files["x.yaml"] = containerYaml("x");
    fire();
    await clock.advance(300);
    v = await runner.view();
    expect(v.state).toBe("Synced");
  });

  it("a change during a cycle runs one more cycle after it, not two at once", async () => {
    const { runner, target, files, clock } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const apply = target.apply.bind(target);
    let inFlight = 0;
    let maxInFlight = 0;
    target.apply = async (req) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await gate;
      try {
        return await apply(req);
      } finally {
        inFlight--;
      }
    };
    const started = runner.start();
    await clock.advance(0);
    files["a.yaml"] = containerYaml("a");
    void runner.schedule("change");
    void runner.schedule("change");
    release();
    await started;
    await clock.advance(0);
    await runner.stop();
    expect(maxInFlight).toBe(1);
    expect(runner.cycles).toBe(2);
    expect(target.changeLines()[1]).toEqual(["container/a created"]);
  });
});
