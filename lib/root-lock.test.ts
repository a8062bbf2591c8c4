import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { acquireRootLock, inspectRootLock, rootLockName } from "./root-lock.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "berth-lock-"));
  dirs.push(d);
  return d;
};

const LOCK_MODULE = fileURLToPath(new URL("./root-lock.ts", import.meta.url));
const VITE_NODE = fileURLToPath(new URL("../node_modules/vite-node/vite-node.mjs", import.meta.url));

/**
 * A process that takes the lock of LOCK_DIR with the real module (run by vite-node) and says
 * `locked <pid>` or `refused <kind> <message>`; with LOCK_HOLD=1 it then stays alive.
 */
function holderScript(dir: string): string {
  const file = path.join(dir, "holder.mjs");
  writeFileSync(
    file,
    `import { acquireRootLock } from ${JSON.stringify(LOCK_MODULE)};
try {
  await acquireRootLock(process.env.LOCK_DIR, "berth test");
  console.log("locked " + process.pid);
  if (process.env.LOCK_HOLD === "1") setInterval(() => {}, 1e9);
} catch (err) {
  console.log("refused " + err.kind + " " + err.message);
}
`,
  );
  return file;
}

function spawnHolder(script: string, dir: string, hold: boolean): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(process.execPath, [VITE_NODE, script], { env: { ...process.env, LOCK_DIR: dir, LOCK_HOLD: hold ? "1" : "0" }, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const line = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`holder exited (${code}) before saying anything`)));
  });
  return { child, line };
}

/** State letter of /proc/PID/stat ("R", "S", "Z", ...); undefined once the pid is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

async function until(what: string, pred: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("acquireRootLock", () => {
  it("writes the pid as information, is released idempotently, and the next opener takes it", async () => {
    const d = tmp();
    const lock = await acquireRootLock(d);
    expect(readFileSync(lock.file, "utf8")).toBe(`${process.pid}\n`);
    expect(lock.name).toBe(rootLockName(realpathSync(d)));
    expect(lock.name).toMatch(/^berth-lock-[0-9a-f]{32}$/);
    await lock.release();
    await lock.release();
    expect(existsSync(lock.file)).toBe(false);
    const again = await acquireRootLock(d);
    await again.release();
  });

  it("is not blocked by a lock file naming a live unrelated process", async () => {
    const d = tmp();
    for (const pid of [1, process.ppid, process.pid]) {
      writeFileSync(path.join(d, "lock"), `${pid}\n`);
      const lock = await acquireRootLock(d, "berth daemon");
      expect(readFileSync(lock.file, "utf8")).toBe(`${process.pid}\n`);
      await lock.release();
    }
  });

  it("refuses a second opener in the same process, naming the holder, until released", async () => {
    const d = tmp();
    const results = await Promise.allSettled([acquireRootLock(d, "berth daemon"), acquireRootLock(d, "berth daemon")]);
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof acquireRootLock>>> => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(lost[0]!.reason).toMatchObject({ kind: "Unavailable", message: `lock ${d}: berth daemon process ${process.pid} is using it` });
    await won[0]!.value.release();
    const next = await acquireRootLock(d);
    await next.release();
  });

  it("lets exactly one of two racing processes take it; the other names the winner", async () => {
    const d = tmp();
    const script = holderScript(d);
    const a = spawnHolder(script, d, true);
    const b = spawnHolder(script, d, true);
    const lines = await Promise.all([a.line, b.line]);
    const winner = lines.find((l) => l.startsWith("locked "));
    const loser = lines.find((l) => l.startsWith("refused "));
    expect(winner, lines.join(" | ")).toBeDefined();
    expect(loser, lines.join(" | ")).toBeDefined();
    const pid = Number(winner!.split(" ")[1]);
    expect(loser).toBe(`refused Unavailable lock ${d}: berth test process ${pid} is using it`);
    await expect(acquireRootLock(d)).rejects.toMatchObject({ kind: "Unavailable", message: `lock ${d}: berth test process ${pid} is using it` });
    expect(await inspectRootLock(d)).toEqual({ pid, owner: "berth test" });
  }, 30_000);

  it("is free as soon as its holder is killed, though the holder is an unreaped zombie", async () => {
    const d = tmp();
    const script = holderScript(d);
    // The holder's parent blocks its own event loop once the holder runs, so it never reaps it.
    const parent = spawn(
      process.execPath,
      [
        "-e",
        `require("node:child_process").spawn(process.execPath, [${JSON.stringify(VITE_NODE)}, ${JSON.stringify(script)}], { stdio: "inherit" });
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`,
      ],
      { env: { ...process.env, LOCK_DIR: d, LOCK_HOLD: "1" }, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(parent);
    const line = await new Promise<string>((resolve) => createInterface({ input: parent.stdout! }).once("line", resolve));
    const pid = Number(/^locked (\d+)$/.exec(line)?.[1]);
    expect(pid).toBeGreaterThan(0);
    try {
      await expect(acquireRootLock(d)).rejects.toMatchObject({ kind: "Unavailable" });
      process.kill(pid, "SIGKILL");
      await until(`pid ${pid} to be a zombie`, () => procState(pid) === "Z");
      expect(readFileSync(path.join(d, "lock"), "utf8")).toBe(`${pid}\n`); // the file still names it
      // The leader shows Z as soon as it has exited; its other threads (and their shared fd
      // table) go an instant later, and with them the socket.
      const deadline = Date.now() + 5_000;
      while ((await inspectRootLock(d)) !== undefined) {
        if (Date.now() > deadline) throw new Error(`the lock is still held after its holder ${pid} died`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const lock = await acquireRootLock(d);
      expect(procState(pid)).toBe("Z");
      await lock.release();
    } finally {
      parent.kill("SIGKILL"); // the zombie goes to init, which reaps it
    }
  }, 30_000);

  it("does not keep its holder's event loop alive", async () => {
    const d = tmp();
    const { child, line } = spawnHolder(holderScript(d), d, false);
    expect(await line).toBe(`locked ${child.pid}`);
    const code = await new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)));
    expect(code).toBe(0);
    const lock = await acquireRootLock(d);
    await lock.release();
  }, 30_000);

  it("answers a connection with one line and reads nothing of what is sent to it", async () => {
    const d = tmp();
    const lock = await acquireRootLock(d, "berth daemon");
    try {
      const c = net.connect(`\0${lock.name}`);
      let got = "";
      c.setEncoding("utf8");
      c.on("data", (s: string) => (got += s));
      c.on("error", () => {});
      const closed = new Promise((r) => c.once("close", r));
      const flood = Buffer.alloc(1 << 20, 0x61);
      const writeMore = () => {
        if (!c.destroyed) c.write(flood, writeMore);
      };
      c.once("connect", writeMore);
      await closed;
      expect(got).toBe(`{"pid":${process.pid},"owner":"berth daemon"}\n`);
      expect(c.bytesWritten).toBeLessThan(64 << 20);
    } finally {
      await lock.release();
    }
  });

  it("names the pid the kernel shows holding the socket, not what a squatter claims", async () => {
    const d = tmp();
    const name = rootLockName(realpathSync(d));
    const liar = net.createServer((s) => s.end('{"pid":1,"owner":"berth daemon"}\n'));
    servers.push(liar);
    await new Promise<void>((r) => liar.listen(`\0${name}`, r));
    await expect(acquireRootLock(d)).rejects.toMatchObject({ kind: "Unavailable", message: `lock ${d}: process ${process.pid} is using it (it did not answer as berth)` });
    expect(await inspectRootLock(d)).toEqual({ pid: process.pid });
  });

  it("bounds what it reads from a holder that floods or says nothing", async () => {
    const d = tmp();
    const name = rootLockName(realpathSync(d));
    const held: net.Socket[] = [];
    let flood = true;
    const squatter = net.createServer((s) => {
      s.on("error", () => {});
      if (flood) s.write(Buffer.alloc(1 << 20, 0x7b));
      held.push(s);
    });
    servers.push(squatter);
    await new Promise<void>((r) => squatter.listen(`\0${name}`, r));
    try {
      await expect(acquireRootLock(d)).rejects.toMatchObject({ message: `lock ${d}: process ${process.pid} is using it (it did not answer as berth)` });
      flood = false;
      const t0 = Date.now();
      await expect(acquireRootLock(d)).rejects.toMatchObject({ message: `lock ${d}: process ${process.pid} is using it (it did not answer as berth)` });
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      held.forEach((s) => s.destroy());
    }
  });

  it("inspectRootLock: free for a root nobody holds, or that does not exist", async () => {
    const d = tmp();
    expect(await inspectRootLock(d)).toBeUndefined();
    expect(await inspectRootLock(path.join(d, "missing"))).toBeUndefined();
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(path.join(d, "lock"), `${dead.stdout}\n`);
    expect(await inspectRootLock(d)).toBeUndefined();
  });
});
