import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { openImageRuntime } from "../../runtime/images/index.js";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import { REPO } from "../helpers/cli.js";
import { hostLacks } from "../helpers/host.js";
import { cgroupDirsOf, removeCgroupTree, testSpec } from "../helpers/rootfs.js";
import { until } from "../helpers/daemon.js";
import { randomBytes } from "node:crypto";
import { importBusybox } from "../helpers/image-fixtures.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");
const built = existsSync(path.join(REPO, "dist/runtime/index.js"));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function logText(rt: Runtime, id: string): Promise<string> {
  let out = "";
  for await (const line of rt.containers.logs(id)) out += `${line.text}\n`;
  return out;
}

const lastTick = (text: string) => Math.max(-1, ...[...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));

describe.skipIf(lacking)("kill -9 of the berth process", () => {
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const base = mkdtempSync(path.join(tmpdir(), "berth-kill9-"));
  const root = path.join(base, "root");
  const runRoot = path.join(base, "run");
  let rt: Runtime | undefined;

  afterAll(async () => {
    if (rt) {
      for (const c of await rt.containers.list({ "berth.test": "kill9" })) await rt.containers.remove(c.id, { force: true }).catch(() => {});
      await rt.close();
    }
    for (const d of await cgroupDirsOf(cgroupParent)) await removeCgroupTree(d);
    expect(await cgroupDirsOf(cgroupParent)).toEqual([]);
    rmSync(base, { recursive: true, force: true });
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(base);
  });

  it("leaves the container running, and a new process adopts it with the same pid and continuing logs", async () => {
    expect(built, "dist/ is missing: run `npm run build` (npm test does)").toBe(true);
    const images = await openImageRuntime({ root });
    await importBusybox(images.images, "localhost/busybox:latest");

    const child = spawn(process.execPath, [path.join(REPO, "test/fixtures/runtime-child.mjs"), root, runRoot, "sleeper", "localhost/busybox:latest", cgroupParent], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((r) => child.on("exit", r));
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("child did not start a container in 30s")), 30_000);
      createInterface({ input: child.stdout! }).once("line", (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      child.once("exit", (code) => reject(new Error(`child exited ${code} before starting the container`)));
    });
    const { id, pid } = JSON.parse(first) as { id: string; pid: number };
    expect(alive(pid)).toBe(true);

    child.kill("SIGKILL");
    await exited;
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid), "the container outlives the berth process").toBe(true);

    rt = await openRuntime({ root, runRoot, cgroupParent });
    const adopted = await rt.containers.inspect(id);
    expect(adopted).toMatchObject({ id, name: "sleeper", status: "running", pid });

    const before = lastTick(await logText(rt, id));
    await new Promise((r) => setTimeout(r, 800));
    const after = lastTick(await logText(rt, id));
    expect(before).toBeGreaterThan(0);
    expect(after, "logs keep flowing after adoption").toBeGreaterThan(before);

    const stopped = await rt.containers.stop(id, { graceMs: 2000 });
    expect(stopped.status).toBe("exited");
    expect(alive(pid)).toBe(false);
    await rt.containers.remove(id);
    expect(await rt.containers.list({ "berth.test": "kill9" })).toEqual([]);
  });

  it("adopts a container whose start a crash cut short after runc start, before the record said running", async () => {
    rt ??= await openRuntime({ root, runRoot, cgroupParent });
    if (!(await rt.images.get("localhost/busybox:latest").catch(() => undefined))) await importBusybox(rt.images, "localhost/busybox:latest");
    const c = await rt.containers.create(testSpec("halfway", { image: "localhost/busybox:latest", labels: { "berth.test": "kill9" }, command: ["sleep", "3600"] }));
    const started = await rt.containers.start(c.id);
    await rt.close();
    // What a kill -9 between `runc start` and the record write leaves: runc runs it, the record says created.
    const file = path.join(root, "containers", c.id, "container.json");
    const rec = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    rec.status = "created";
    for (const k of ["pid", "conmonPid", "pidStartTime", "conmonStartTime", "startedAt"]) delete rec[k];
    writeFileSync(file, JSON.stringify(rec));
    rt = await openRuntime({ root, runRoot, cgroupParent });
    expect(await rt.containers.inspect(c.id)).toMatchObject({ status: "running", pid: started.pid });
    // and it is still monitored: its exit is learned
    process.kill(started.pid!, "SIGKILL");
    await until("the exit is recorded", async () => ((await rt!.containers.inspect(c.id)).status === "exited" ? true : undefined), 15_000);
    expect((await rt.containers.inspect(c.id)).exitCode).toBe(137);
    await rt.containers.remove(c.id);
  });

  it("refuses a second live owner of the same root", async () => {
    const child = spawn(process.execPath, ["-e", `import(${JSON.stringify(path.join(REPO, "dist/lib/root-lock.js"))}).then(m => m.acquireRootLock(${JSON.stringify(path.join(base, "other"))})).then(() => { console.log("locked"); setInterval(() => {}, 1e9); })`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once("line", () => resolve()));
    await expect(openRuntime({ root: path.join(base, "other"), runRoot: path.join(base, "other-run") })).rejects.toMatchObject({ kind: "Unavailable" });
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
  });
});
