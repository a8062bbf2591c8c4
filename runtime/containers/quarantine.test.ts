import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listQuarantinedRecords, noteQuarantineOutcome, quarantineDir, quarantineRecord } from "./quarantine.js";

const ID = "a".repeat(64);
const AT = "2026-12-01T10:47:26.960Z";

describe("quarantine of container records", () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(tmpdir(), "berth-q-"));
    dir = path.join(root, "containers", ID);
    await fs.mkdir(dir, { recursive: true });
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it("keeps the very bytes, leaves the record file in place for its replacement, and lists the entry with its note", async () => {
    await fs.writeFile(path.join(dir, "container.json"), '{"version": 1, "id": "');
    const q = await quarantineRecord(root, dir, ID, "not JSON: Unterminated string", AT);
    expect(q).toBe(path.join(quarantineDir(root), `${ID}-2026-12-01T104726960Z`));
    expect(await fs.readFile(path.join(q, "container.json"), "utf8")).toBe('{"version": 1, "id": "');
    // Replacing the record (as a save does: rename over it) leaves the quarantined bytes alone.
    await fs.writeFile(path.join(dir, "next.json"), "{}");
    await fs.rename(path.join(dir, "next.json"), path.join(dir, "container.json"));
    expect(await fs.readFile(path.join(q, "container.json"), "utf8")).toBe('{"version": 1, "id": "');

    await noteQuarantineOutcome(q, "rebuilt as running");
    expect(await listQuarantinedRecords(root)).toEqual([{ id: ID, path: q, at: AT, problem: "not JSON: Unterminated string", outcome: "rebuilt as running" }]);
  });

  it("a second quarantine of the same id at the same time gets its own directory; a record gone meanwhile is said so", async () => {
    await fs.writeFile(path.join(dir, "container.json"), "");
    const a = await quarantineRecord(root, dir, ID, "empty file", AT);
    await fs.rm(path.join(dir, "container.json"));
    const b = await quarantineRecord(root, dir, ID, "empty file", AT);
    expect(b).not.toBe(a);
    const listed = await listQuarantinedRecords(root);
    expect(listed.map((e) => e.path)).toEqual([a, b]);
    expect(listed[1]!.problem).toMatch(/gone/);
  });

  it("lists nothing for a root without a quarantine, and skips what is not an entry", async () => {
    expect(await listQuarantinedRecords(root)).toEqual([]);
    await fs.mkdir(path.join(quarantineDir(root), "notes"), { recursive: true });
    await fs.mkdir(path.join(quarantineDir(root), `${ID}-x`));
    expect(await listQuarantinedRecords(root)).toEqual([{ id: ID, path: path.join(quarantineDir(root), `${ID}-x`) }]);
  });
});
