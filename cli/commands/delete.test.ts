import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { containerView, genericView, startHarness, type Harness } from "../testing.js";
import { runDelete } from "./delete.js";

describe("berth delete", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.put(containerView("web"));
    h.fake.put(containerView("db"));
    h.fake.put(genericView("Volume", "data"));
  });
  afterEach(() => h.close());

  it("deletes the objects named in files, dependents first, even when the files do not validate", async () => {
    const file = path.join(h.dir, "app.yaml");
    writeFileSync(file, "apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: data\n---\nkind: Container\nmetadata:\n  name: web\nspec:\n  imagee: x\n");
    expect(await runDelete(h.ctx, [], { filename: [file], recursive: false, ignoreNotFound: false })).toBe(0);
    expect(h.fake.deleted).toEqual(["Container/web", "Volume/data"]);
    expect(h.stdout.text).toBe("container/web deleted\nvolume/data deleted\n");
  });

  it("reports documents without kind or name at their location", async () => {
    const file = path.join(h.dir, "bad.yaml");
    writeFileSync(file, "kind: Pod\nmetadata:\n  name: x\n");
    expect(await runDelete(h.ctx, [], { filename: [file], recursive: false, ignoreNotFound: false })).toBe(1);
    expect(h.stderr.text).toContain(`${file}:1:7: error: kind: unknown kind "Pod"`);
    expect(h.fake.deleted).toEqual([]);
  });

  it("deletes by KIND NAME... and KIND/NAME...", async () => {
    expect(await runDelete(h.ctx, ["container", "web", "db"], { recursive: false, ignoreNotFound: false })).toBe(0);
    expect(await runDelete(h.ctx, ["vol/data"], { recursive: false, ignoreNotFound: false })).toBe(0);
    expect(h.stdout.text).toBe("container/web deleted\ncontainer/db deleted\nvolume/data deleted\n");
  });

  it("exits 3 on NotFound after trying the rest, unless --ignore-not-found", async () => {
    expect(await runDelete(h.ctx, ["ctr", "nope", "web"], { recursive: false, ignoreNotFound: false })).toBe(3);
    expect(h.stderr.text).toBe("berth: delete container nope: not found\n");
    expect(h.stdout.text).toBe("container/web deleted\n");
    expect(await runDelete(h.ctx, ["ctr", "nope", "db"], { recursive: false, ignoreNotFound: true })).toBe(0);
    expect(h.stdout.text).toBe("container/web deleted\ncontainer/db deleted\n");
  });
});
