import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireRootLock } from "./root-lock.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "berth-lock-"));
  dirs.push(d);
  return d;
};

describe("acquireRootLock", () => {
  it("holds the pid and is released", async () => {
    const d = tmp();
    const lock = await acquireRootLock(d);
    expect(readFileSync(lock.file, "utf8")).toBe(`${process.pid}\n`);
    await lock.release();
    await lock.release();
    const again = await acquireRootLock(d);
    await again.release();
  });

  it("refuses while a live process holds it, naming that process", async () => {
    const d = tmp();
    writeFileSync(path.join(d, "lock"), "1\n"); // pid 1 is always alive
    await expect(acquireRootLock(d, "berth daemon")).rejects.toMatchObject({ kind: "Unavailable", message: `lock ${d}: berth daemon process 1 is using it` });
  });

  it("takes over a lock left by a dead process", async () => {
    const d = tmp();
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(path.join(d, "lock"), `${dead.stdout}\n`);
    const lock = await acquireRootLock(d);
    expect(readFileSync(lock.file, "utf8")).toBe(`${process.pid}\n`);
    await lock.release();
  });
});
