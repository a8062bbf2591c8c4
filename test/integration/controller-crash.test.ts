import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../controller/api/client.js";
import { REPO } from "../helpers/cli.js";
import { daemonEnv, files, status, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

function startChild(env: DaemonEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(REPO, "test/fixtures/daemon-child.mjs"), env.root, env.runRoot, env.cgroupParent], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("daemon did not start in 30s")), 30_000);
    createInterface({ input: child.stdout! }).once("line", () => {
      clearTimeout(timer);
      resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`daemon exited with ${code}`)));
  });
}

/** What runc itself knows: every container under berth's runc root, with pid and status. */
function runcState(env: DaemonEnv): { id: string; pid: number; status: string }[] {
  const out = execFileSync("runc", ["--root", path.join(env.runRoot, "runc"), "list", "--format", "json"], { encoding: "utf8" });
  return (JSON.parse(out || "[]") ?? []) as { id: string; pid: number; status: string }[];
}

describe.skipIf(lacking)("kill -9 of the daemon during an apply of 20 containers", () => {
  const env = daemonEnv();
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child!.once("exit", r));
    }
    await env.cleanup();
  });

  it("ends, after a restart, with exactly the 20 containers, no duplicates, no leaks, the running ones keeping their pids", async () => {
    expect(existsSync(path.join(REPO, "dist/controller/daemon.js")), "run npm run build first (npm test does)").toBe(true);
    child = await startChild(env);
    const client = new ApiClient(env.socket);
    let text = env.imageManifest;
    for (let i = 0; i < 20; i++) text += `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: c${i}}\nspec:\n  image: localhost/busybox:latest\n  command: [sleep, '3600']\n  networkMode: none\n  restartPolicy: always\n`;
    const applied = await client.apply({ stack: "twenty", files: files(text) });
    expect(applied.changes).toHaveLength(21);

    // Kill it in the middle of creating them.
    await until("some containers running", async () => (runcState(env).filter((c) => c.status === "running").length >= 4 ? true : undefined), 60_000, 20);
    child.kill("SIGKILL");
    await new Promise((r) => child!.once("exit", r));
    const before = runcState(env).filter((c) => c.status === "running");
    expect(before.length).toBeGreaterThanOrEqual(4);
    expect(before.length, "the kill must land mid-apply").toBeLessThan(20);

    child = await startChild(env);
    const client2 = new ApiClient(env.socket);
    await until("all 20 running", async () => {
      const items = await client2.list("Container");
      return items.length === 20 && items.every((v) => status(v).phase === "Running") ? items : undefined;
    }, 90_000, 200);
    await new Promise((r) => setTimeout(r, 1500)); // a resync later, still exactly 20

    const after = runcState(env);
    expect(after).toHaveLength(20);
    expect(after.every((c) => c.status === "running")).toBe(true);
    const views = await client2.list("Container");
    expect(new Set(views.map((v) => status(v).containerId)).size).toBe(20);
    expect(new Set(after.map((c) => c.id))).toEqual(new Set(views.map((v) => status(v).containerId)));
    for (const b of before) expect(after.find((a) => a.id === b.id)?.pid, `container ${b.id} keeps its pid`).toBe(b.pid);
    expect((await client2.list("Container")).map((v) => status(v).restartCount)).toEqual(Array(20).fill(0));
  });
});
