/**
 * execFile as the runtime uses it, in both places it forks: in this process, and through the
 * spawn helper (the built dist/runtime/proc/spawn-helper.js, what the daemon starts). The same
 * cases run on both: output, stdin, exit codes, a missing program, the timeout and the
 * output cap keep node's execFile shape. Then what only the helper does.
 */
import { spawn } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, execFileText, spawnHelperPid, startSpawnHelper, stopSpawnHelper, type ExecFileError } from "./exec-file.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const HELPER = path.join(REPO, "dist/runtime/proc/spawn-helper.js");
const helperMissing = existsSync(HELPER) ? undefined : `${HELPER} is not built (npm run build)`;
if (helperMissing && process.env.CI === "true") throw new Error(`CI=true but ${helperMissing}`);

const run = (file: string, args: string[], o: Parameters<typeof execFile>[2] = {}) =>
  new Promise<{ err: ExecFileError | null; stdout: string; stderr: string }>((resolve) => execFile(file, args, o, (err, stdout, stderr) => resolve({ err, stdout, stderr })));

const MODES = [
  { mode: "in this process", helper: false },
  { mode: "through the spawn helper", helper: true },
];

describe.each(MODES)("execFile $mode", ({ helper }) => {
  const skip = helper && !!helperMissing;
  beforeAll(() => {
    if (helper && !skip) expect(startSpawnHelper(HELPER)).toBeGreaterThan(0);
  });
  afterAll(() => stopSpawnHelper());

  it.skipIf(skip)("gives stdout and stderr, and the input on stdin", async () => {
    const r = await run("sh", ["-c", 'read line; echo "out:$line"; echo err >&2'], { input: "hello\n" });
    expect(r).toEqual({ err: null, stdout: "out:hello\n", stderr: "err\n" });
    // Without input stdin is at its end at once: a reader does not wait.
    expect((await run("sh", ["-c", "cat; echo done"])).stdout).toBe("done\n");
  });

  it.skipIf(skip)("passes argv as given (no shell), the environment and the working directory", async () => {
    const r = await execFileText("sh", ["-c", 'printf "%s|" "$@"; printf "%s|%s" "$FOO" "$(pwd)"', "sh", "a b", "$HOME", ";ls"], { env: { FOO: "bar", PATH: process.env.PATH ?? "/usr/bin:/bin" }, cwd: "/tmp" });
    expect(r.stdout).toBe("a b|$HOME|;ls|bar|/tmp");
  });

  it.skipIf(skip)("a non-zero exit is an error with the exit code, and the output", async () => {
    const r = await run("sh", ["-c", "echo partial; echo why >&2; exit 3"]);
    expect(r.err).toMatchObject({ code: 3, killed: false });
    expect(r.err!.message).toContain("why");
    expect(r.stdout).toBe("partial\n");
    expect(r.stderr).toBe("why\n");
    await expect(execFileText("sh", ["-c", "exit 4"])).rejects.toMatchObject({ code: 4 });
  });

  it.skipIf(skip)("a program that is not there is ENOENT", async () => {
    const r = await run("/nonexistent/berth-test-program", []);
    expect(r.err).toMatchObject({ code: "ENOENT" });
  });

  it.skipIf(skip)("kills a program past its timeout (killed, with the signal), and one past the output cap", async () => {
    const t0 = Date.now();
    const r = await run("sleep", ["30"], { timeout: 200 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.err).toMatchObject({ killed: true, signal: "SIGTERM" });
    const big = await run("sh", ["-c", "head -c 100000 /dev/zero; sleep 30"], { maxBuffer: 1000 });
    expect(big.err).toMatchObject({ code: "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" });
  });
});

describe.skipIf(!!helperMissing)("the spawn helper", () => {
  afterAll(() => stopSpawnHelper());

  it("forks the programs itself: their parent is the helper, not this process", async () => {
    const pid = startSpawnHelper(HELPER)!;
    expect(pid).not.toBe(process.pid);
    expect(spawnHelperPid()).toBe(pid);
    const { stdout } = await execFileText("sh", ["-c", "echo $PPID"]);
    expect(Number(stdout.trim())).toBe(pid);
    // Many at once: each answered with its own output.
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => execFileText("sh", ["-c", `echo ${i}`])));
    expect(outs.map((o) => o.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it("a helper that dies fails the calls it had, and the next call gets a new helper", async () => {
    const first = startSpawnHelper(HELPER)!;
    const pending = execFileText("sleep", ["30"]);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(first, "SIGKILL");
    await expect(pending).rejects.toMatchObject({ code: "ESPAWNHELPER" });
    const { stdout } = await execFileText("sh", ["-c", "echo $PPID"]);
    const second = Number(stdout.trim());
    expect(second).not.toBe(first);
    expect(second).toBe(spawnHelperPid());
    expect(second).not.toBe(process.pid);
  });

  it("exits when the process that started it goes away, even killed with SIGKILL", async () => {
    // A child node process starts a helper, reports its pid, and is killed.
    const script = `import { startSpawnHelper } from ${JSON.stringify(path.join(REPO, "dist/runtime/proc/exec-file.js"))}; console.log(startSpawnHelper(${JSON.stringify(HELPER)})); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const helperPid = await new Promise<number>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
      child.once("exit", () => reject(new Error("the child exited before it reported")));
    });
    expect(helperPid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${helperPid}`)).toBe(true);
    child.kill("SIGKILL");
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const stat = await fs.readFile(`/proc/${helperPid}/stat`, "utf8").catch(() => "");
      gone = stat === "" || / Z /.test(stat);
    }
    expect(gone).toBe(true);
  });
});
