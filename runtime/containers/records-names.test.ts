import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RecordStore } from "./records.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("container name reservations", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a name is held by one id; the file appears with its id or not at all (no temp files left)", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "berth-names-"));
    const r = new RecordStore(dir);
    await r.init();
    await r.reserveName("web", A);
    expect(await r.idOfName("web")).toBe(A);
    await expect(r.reserveName("web", B)).rejects.toThrow("create container web: the name is in use");
    expect(readdirSync(path.join(dir, "containers", ".names"))).toEqual(["web"]);
  });

  it("a reservation a kill -9 left without an id (the old write-after-create) is replaced, not fatal", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "berth-names-"));
    const r = new RecordStore(dir);
    await r.init();
    writeFileSync(path.join(dir, "containers", ".names", "web"), "");
    expect(await r.idOfName("web")).toBeUndefined();
    await r.reserveName("web", B);
    expect(await r.idOfName("web")).toBe(B);
  });

  it("concurrent reservations of one name: exactly one wins", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "berth-names-"));
    const r = new RecordStore(dir);
    await r.init();
    const results = await Promise.allSettled([r.reserveName("db", A), r.reserveName("db", B)]);
    expect(results.filter((x) => x.status === "fulfilled")).toHaveLength(1);
    expect([A, B]).toContain(await r.idOfName("db"));
  });
});
