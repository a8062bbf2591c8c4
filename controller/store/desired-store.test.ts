import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import { DesiredStore, formatChange } from "./desired-store.js";
import type { AnyObject, ContainerSpec } from "../manifests/model.js";
import { containerObject } from "../testing.js";
import type { ChangeSet } from "./types.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "berth-desired-"));
  dirs.push(d);
  return d;
};

const volume = (name: string, labels: Record<string, string> = {}): AnyObject => ({
  apiVersion: "berth/v1",
  kind: "Volume",
  metadata: { name, labels, annotations: {} },
  spec: { driver: "local", options: {} },
});
const lines = (cs: ChangeSet) => cs.entries.map(formatChange);
const specOf = (s: DesiredStore, name: string) => s.get(`container/${name}`)!.object.spec as ContainerSpec;

describe("DesiredStore", () => {
  it("apply reports created, unchanged, configured with generations, in apply order", async () => {
    const s = await DesiredStore.open(tmp());
    const first = await s.apply("shop", [containerObject("web", { dependsOn: [{ name: "db", condition: "started" }] }), containerObject("db"), volume("data")]);
    expect(lines(first)).toEqual(["volume/data created", "container/db created", "container/web created"]);
    expect(first.entries.map((e) => e.generation)).toEqual([1, 1, 1]);
    expect(first.dryRun).toBe(false);

    const same = await s.apply("shop", [containerObject("db"), volume("data"), containerObject("web", { dependsOn: [{ name: "db", condition: "started" }] })]);
    expect(lines(same)).toEqual(["volume/data unchanged", "container/db unchanged", "container/web unchanged"]);

    const changed = await s.apply("shop", [containerObject("db", { command: ["postgres"] }), volume("data", { tier: "ssd" })]);
    expect(lines(changed)).toEqual(["volume/data configured", "container/db configured"]);
    expect(changed.entries.map((e) => e.generation)).toEqual([2, 2]);
    expect(s.get("container/db")!.object.spec).toMatchObject({ command: ["postgres"] });
    expect(s.get("container/web")!.generation).toBe(1); // not pruned, not touched
  });

  it("ignores the source position when comparing", async () => {
    const s = await DesiredStore.open(tmp());
    await s.apply("a", [{ ...containerObject("web"), source: { file: "a.yaml", line: 1, column: 1 } }]);
    const again = await s.apply("a", [{ ...containerObject("web"), source: { file: "b.yaml", line: 9, column: 3 } }]);
    expect(lines(again)).toEqual(["container/web unchanged"]);
  });

  it("prune deletes only this stack's missing objects, dependents first", async () => {
    const s = await DesiredStore.open(tmp());
    await s.apply("shop", [containerObject("web", { dependsOn: [{ name: "db", condition: "started" }] }), containerObject("db"), volume("data")]);
    await s.apply("blog", [containerObject("blog"), volume("blog-data")]);
    const pruned = await s.apply("shop", [volume("data")], { prune: true });
    expect(lines(pruned)).toEqual(["volume/data unchanged", "container/web deleted", "container/db deleted"]);
    expect(s.list().map((o) => o.key)).toEqual(["volume/blog-data", "volume/data", "container/blog"]);
    expect(s.list({ stack: "blog" }).map((o) => o.key)).toEqual(["volume/blog-data", "container/blog"]);
    expect(s.list({ kind: "Volume" }).map((o) => o.key)).toEqual(["volume/blog-data", "volume/data"]);
    expect(s.stacks()).toEqual(["blog", "shop"]);
  });

  it("without prune, missing objects stay", async () => {
    const s = await DesiredStore.open(tmp());
    await s.apply("shop", [containerObject("a"), containerObject("b")]);
    expect(lines(await s.apply("shop", [containerObject("a")]))).toEqual(["container/a unchanged"]);
    expect(s.get("container/b")).toBeDefined();
  });

  it("dry run returns the same ChangeSet and writes nothing", async () => {
    const d = tmp();
    const s = await DesiredStore.open(d);
    await s.apply("shop", [containerObject("a"), containerObject("b")]);
    const before = readFileSync(s.file, "utf8");
    const dry = await s.apply("shop", [containerObject("a", { command: ["x"] }), containerObject("c")], { prune: true, dryRun: true });
    expect(lines(dry)).toEqual(["container/a configured", "container/c created", "container/b deleted"]);
    expect(dry.dryRun).toBe(true);
    expect(readFileSync(s.file, "utf8")).toBe(before);
    expect(s.get("container/c")).toBeUndefined();
    expect(s.get("container/a")!.generation).toBe(1);
    expect(await s.delete("container/a", { dryRun: true })).toMatchObject({ action: "deleted" });
    expect(s.get("container/a")).toBeDefined();
  });

  it("refuses another stack's object, duplicates, bad names and dependency cycles, writing nothing", async () => {
    const s = await DesiredStore.open(tmp());
    await s.apply("shop", [containerObject("web")]);
    const before = readFileSync(s.file, "utf8");
    await expect(s.apply("blog", [containerObject("x"), containerObject("web")])).rejects.toMatchObject({
      kind: "Conflict",
      message: "apply container/web: it belongs to stack shop, not blog",
      object: { kind: "Container", name: "web" },
    });
    await expect(s.apply("shop", [containerObject("a"), containerObject("a")])).rejects.toMatchObject({ kind: "InvalidArgument", message: "apply container/a: defined twice" });
    await expect(s.apply("Bad Stack", [containerObject("a")])).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(s.apply("shop", [containerObject("Web_1")])).rejects.toMatchObject({ kind: "InvalidArgument" });
    expect(s.get("container/x")).toBeUndefined();
    expect(readFileSync(s.file, "utf8")).toBe(before);
  });

  it("refuses a dependsOn cycle across the resulting state, also across applies", async () => {
    const s = await DesiredStore.open(tmp());
    const on = (name: string) => ({ dependsOn: [{ name, condition: "started" as const }] });
    await s.apply("shop", [containerObject("a", on("web")), containerObject("web")]);
    const before = readFileSync(s.file, "utf8");
    await expect(s.apply("shop", [containerObject("a", on("web")), containerObject("web", on("a"))])).rejects.toMatchObject({
      kind: "InvalidArgument",
      message: "check dependsOn: dependency cycle: a → web → a",
    });
    await expect(s.apply("other", [containerObject("b", on("a"))])).resolves.toBeDefined(); // no cycle
    await expect(s.apply("shop", [containerObject("a", on("web")), containerObject("web", on("b"))], { dryRun: true })).rejects.toMatchObject({
      message: "check dependsOn: dependency cycle: a → web → b → a",
    });
    expect(specOf(s, "web").dependsOn).toEqual([]);
    expect(JSON.parse(readFileSync(s.file, "utf8")).objects.map((o: { key: string }) => o.key)).toEqual(["container/a", "container/b", "container/web"]);
    expect(before).not.toContain("container/b");
  });

  it("delete removes one object and persists it", async () => {
    const d = tmp();
    const s = await DesiredStore.open(d);
    await s.apply("shop", [containerObject("a"), containerObject("b")]);
    expect(await s.delete("container/a")).toEqual({ key: "container/a", kind: "Container", name: "a", stack: "shop", action: "deleted", generation: 1 });
    expect(await s.delete("container/a")).toBeUndefined();
    expect((await DesiredStore.open(d)).list().map((o) => o.key)).toEqual(["container/b"]);
  });

  it("survives a reopen with everything acknowledged", async () => {
    const d = tmp();
    const s = await DesiredStore.open(d);
    await s.apply("shop", [containerObject("web", { env: [{ name: "X", value: "é" }] }), volume("data")]);
    await s.apply("shop", [containerObject("web", { env: [{ name: "X", value: "2" }] }), volume("data")]);
    const again = await DesiredStore.open(d);
    expect(again.list()).toEqual(s.list());
    expect(again.get("container/web")).toMatchObject({ stack: "shop", generation: 2, object: { spec: { env: [{ name: "X", value: "2" }] } } });
  });

  it("a crash before the rename loses only the unacknowledged apply; its temp file is cleaned on open", async () => {
    const d = tmp();
    const s = await DesiredStore.open(d);
    await s.apply("shop", [containerObject("web")]);
    // Simulate kill -9 between writing the temp file and renaming it over desired.json.
    const crashing = await DesiredStore.open(d, {
      writeFile: async (file, data) => {
        writeFileSync(path.join(path.dirname(file), `.${path.basename(file)}.deadbeef0000.tmp`), data.slice(0, 10)); // torn temp
        throw new Error("killed");
      },
    });
    await expect(crashing.apply("shop", [containerObject("web", { command: ["new"] }), containerObject("db")])).rejects.toThrow("killed");
    expect(crashing.get("container/db")).toBeUndefined(); // memory unchanged on a failed write
    expect(readdirSync(d).sort()).toEqual([".desired.json.deadbeef0000.tmp", "desired.json", "desired.json.bak"]);

    const reopened = await DesiredStore.open(d);
    expect(readdirSync(d).sort()).toEqual(["desired.json", "desired.json.bak"]);
    expect(reopened.list().map((o) => `${o.key}@${o.generation}`)).toEqual(["container/web@1"]);
    expect(specOf(reopened, "web").command).toEqual(["sleep", "infinity"]);
  });

  it("writes through the atomic writer: the document is always complete JSON", async () => {
    const d = tmp();
    const writes: string[] = [];
    const s = await DesiredStore.open(d, {
      writeFile: async (file, data) => {
        writes.push(data);
        await writeFileAtomic(file, data);
      },
    });
    await s.apply("a", [containerObject("one")]);
    await s.apply("a", [containerObject("one")]); // unchanged: no write
    await s.apply("a", [containerObject("one"), containerObject("two")]);
    expect(writes).toHaveLength(4); // two copies of each of the two changes
    for (const w of writes) expect(JSON.parse(w)).toMatchObject({ version: 2, seq: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(writes[2]).toBe(writes[3]);
    expect(readdirSync(d).sort()).toEqual(["desired.json", "desired.json.bak"]);
  });

  it("serializes concurrent applies in call order", async () => {
    const s = await DesiredStore.open(tmp());
    const [a, b, c] = await Promise.all([
      s.apply("shop", [containerObject("web")]),
      s.apply("shop", [containerObject("web", { command: ["v2"] })]),
      s.apply("shop", [containerObject("web", { command: ["v3"] })]),
    ]);
    expect([a, b, c].map((cs) => cs.entries[0]!.action + "@" + cs.entries[0]!.generation)).toEqual(["created@1", "configured@2", "configured@3"]);
    expect(specOf(s, "web").command).toEqual(["v3"]);
  });

  it("a failed apply does not block the next one", async () => {
    const s = await DesiredStore.open(tmp());
    const bad = s.apply("shop", [containerObject("a"), containerObject("a")]);
    const good = s.apply("shop", [containerObject("b")]);
    await expect(bad).rejects.toMatchObject({ kind: "InvalidArgument" });
    expect(lines(await good)).toEqual(["container/b created"]);
  });

  describe("recovery from a bad copy (issue 8: an empty or garbage desired.json stopped the daemon)", () => {
    async function twoApplies(d: string) {
      const s = await DesiredStore.open(d);
      await s.apply("shop", [containerObject("web")]);
      await s.apply("shop", [containerObject("web"), containerObject("db")]); // the last acknowledged apply
    }
    const damage: [string, (text: string) => string][] = [
      ["emptied", () => ""],
      ["truncated", (t) => t.slice(0, Math.floor(t.length / 2))],
      ["garbage", () => "\u0000\u0001 not json at all"],
      ["wrong shape", () => JSON.stringify({ version: 2, seq: 9, sha256: "x", objects: [{ id: 3 }] })],
      ["a flipped object (checksum)", (t) => t.replace('"db"', '"dx"')],
      ["unknown version", () => JSON.stringify({ version: 99, objects: [] })],
    ];
    it.each(damage)("primary %s: the last acknowledged apply comes back from the backup", async (_n, hurt) => {
      const d = tmp();
      await twoApplies(d);
      const f = path.join(d, "desired.json");
      writeFileSync(f, hurt(readFileSync(f, "utf8")));
      const s = await DesiredStore.open(d);
      expect(s.list().map((o) => o.key).sort()).toEqual(["container/db", "container/web"]);
      expect(s.recovery).toMatchObject({ source: "backup", lost: false, objects: 2, quarantined: [{ file: f, movedTo: expect.stringContaining("desired.json.corrupt-") }] });
      // the primary was rewritten from the backup; the bad bytes are kept aside
      const again = await DesiredStore.open(d);
      expect(again.recovery).toMatchObject({ source: "primary", quarantined: [] });
      expect(readdirSync(d).filter((n) => n.includes("corrupt"))).toHaveLength(1);
    });
    it.each(damage)("backup %s: the primary serves and the backup is rewritten", async (_n, hurt) => {
      const d = tmp();
      await twoApplies(d);
      const f = path.join(d, "desired.json.bak");
      writeFileSync(f, hurt(readFileSync(f, "utf8")));
      const s = await DesiredStore.open(d);
      expect(s.list()).toHaveLength(2);
      expect(s.recovery).toMatchObject({ source: "primary", lost: false, quarantined: [{ file: f }] });
      expect(JSON.parse(readFileSync(f, "utf8")).objects).toHaveLength(2);
    });
    it("a crash between the two copies: the newer valid copy wins", async () => {
      const d = tmp();
      await twoApplies(d);
      let n = 0;
      const s = await DesiredStore.open(d, {
        writeFile: async (file, data) => {
          if (++n === 2) throw new Error("killed"); // the primary is written, the backup not
          await writeFileAtomic(file, data);
        },
      });
      await expect(s.apply("shop", [containerObject("web")], { prune: true })).rejects.toThrow("killed");
      const reopened = await DesiredStore.open(d);
      // new or old, never a mix: here the new one (the primary has the higher sequence)
      expect(reopened.list().map((o) => o.key)).toEqual(["container/web"]);
      expect(reopened.recovery.source).toBe("primary");
    });
    it("both copies bad: opens empty, says the state is lost, keeps both files aside", async () => {
      const d = tmp();
      await twoApplies(d);
      writeFileSync(path.join(d, "desired.json"), "");
      writeFileSync(path.join(d, "desired.json.bak"), "{");
      const s = await DesiredStore.open(d);
      expect(s.list()).toEqual([]);
      expect(s.recovery).toMatchObject({ source: "none", lost: true });
      expect(s.recovery.quarantined.map((q) => q.problem)).toEqual(["empty file", expect.stringMatching(/^not JSON/)]);
      await s.apply("shop", [containerObject("web")]);
      expect((await DesiredStore.open(d)).list()).toHaveLength(1);
    });
    it("reads a format version 1 file and writes both copies in version 2", async () => {
      const d = tmp();
      const obj = { key: "container/web", kind: "Container", name: "web", stack: "shop", generation: 3, object: containerObject("web"), createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z" };
      writeFileSync(path.join(d, "desired.json"), JSON.stringify({ version: 1, objects: [obj] }));
      const s = await DesiredStore.open(d);
      expect(s.get("container/web")?.generation).toBe(3);
      expect(s.recovery).toMatchObject({ source: "primary", quarantined: [], lost: false });
      expect(JSON.parse(readFileSync(path.join(d, "desired.json.bak"), "utf8"))).toMatchObject({ version: 2, objects: [{ key: "container/web" }] });
    });
  });

  it("stores a copy: mutating the applied object later changes nothing", async () => {
    const s = await DesiredStore.open(tmp());
    const o = containerObject("web");
    await s.apply("shop", [o]);
    o.spec.command = ["mutated"];
    expect(specOf(s, "web").command).toEqual(["sleep", "infinity"]);
    expect(lines(await s.apply("shop", [o]))).toEqual(["container/web configured"]);
  });
});
