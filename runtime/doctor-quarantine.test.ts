import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { quarantineRecord } from "./containers/quarantine.js";
import { checkQuarantine, hostProbe, runDoctor, type DoctorProbe } from "./doctor.js";

const ID = "a".repeat(64);

describe("doctor: quarantined container records", () => {
  it("ok with none; a warning naming how many and where, with what was done", () => {
    expect(checkQuarantine([])).toEqual({ name: "quarantine", status: "ok", detail: "no quarantined container records" });
    const one = checkQuarantine([{ id: ID, path: `/var/lib/berth/quarantine/containers/${ID}-x`, outcome: "rebuilt as running" }]);
    expect(one).toMatchObject({ status: "warn", detail: `1 quarantined container record: /var/lib/berth/quarantine/containers/${ID}-x (rebuilt as running)`, fix: expect.stringMatching(/delete/) });
    const many = checkQuarantine(Array.from({ length: 7 }, (_, i) => ({ id: ID, path: `/q/${i}` })));
    expect(many.detail).toBe("7 quarantined container records: /q/0; /q/1; /q/2; /q/3; /q/4; and 2 more");
  });

  it("the host probe lists the root's quarantine; runDoctor reports it only when the probe can", async () => {
    const root = await fs.mkdtemp(path.join(tmpdir(), "berth-dq-"));
    try {
      const dir = path.join(root, "containers", ID);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, "container.json"), "{");
      const q = await quarantineRecord(root, dir, ID, "not JSON", "2026-12-01T10:00:00.000Z");
      expect((await hostProbe({ root }).quarantinedRecords!()).map((e) => e.path)).toEqual([q]);

      const bare: DoctorProbe = { uid: () => 0, kernelRelease: () => "6.1.0", readFile: async () => undefined, run: async () => undefined, which: () => undefined };
      expect((await runDoctor(bare)).checks.map((c) => c.name)).not.toContain("quarantine");
      const report = await runDoctor({ ...bare, quarantinedRecords: () => hostProbe({ root }).quarantinedRecords!() });
      expect(report.checks.find((c) => c.name === "quarantine")).toMatchObject({ status: "warn", detail: expect.stringContaining(q) });
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
