import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireRootLock } from "../lib/root-lock.js";
import { checkRootLock, hostProbe, runDoctor, type DoctorProbe } from "./doctor.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("doctor: root lock", () => {
  it.each([
    ["free", undefined, { status: "ok", detail: "/r: free" }],
    ["a berth daemon", { pid: 42, owner: "berth daemon" }, { status: "ok", detail: "/r: held by pid 42 (berth daemon)" }],
    ["the CLI on the image store", { pid: 7, owner: "berth" }, { status: "ok", detail: "/r: held by pid 7 (berth)" }],
    ["a process that did not answer as berth", { pid: 9 }, { status: "warn", detail: "/r: held by pid 9 (unknown program)", fix: expect.stringMatching(/ps -o pid,user,args -p 9/) }],
    ["nobody knows whom", {}, { status: "warn", detail: "/r: held by an unknown process", fix: expect.stringMatching(/ss -xlp/) }],
  ])("%s", (_what, holder, expected) => {
    expect(checkRootLock("/r", holder)).toEqual({ name: "root lock", ...expected });
  });

  it("runDoctor adds the check after the others when the probe can say", async () => {
    const probe: DoctorProbe = {
      uid: () => 0,
      kernelRelease: () => "6.1.0",
      readFile: async () => undefined,
      run: async () => undefined,
      which: () => undefined,
      rootLock: async () => ({ root: "/var/lib/berth", holder: { pid: 42, owner: "berth daemon" } }),
    };
    const r = await runDoctor(probe);
    expect(r.checks.at(-1)).toEqual({ name: "root lock", status: "ok", detail: "/var/lib/berth: held by pid 42 (berth daemon)" });
  });

  it("the host probe asks the lock of its root", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "berth-doctor-"));
    dirs.push(root);
    const probe = hostProbe({ root });
    expect(await probe.rootLock!()).toEqual({ root, holder: undefined });
    const lock = await acquireRootLock(root, "berth daemon");
    try {
      expect(checkRootLock(root, (await probe.rootLock!()).holder).detail).toBe(`${root}: held by pid ${process.pid} (berth daemon)`);
    } finally {
      await lock.release();
    }
  });
});
