/**
 * `berth exec` end to end, as docker exec: the built CLI against a real `berth daemon` child
 * process. Output is bytes (a binary copied out through a shell redirection is the same
 * file), stdout and stderr apart, stdin forwarded with -i and streamed as typed, exit codes
 * passed through, 127/126 with one line for commands that cannot start, Ctrl-C kills the
 * command in the container.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOf, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { BERTH, REPO } from "../helpers/cli.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks, which } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

describe.skipIf(lacking)("berth exec against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;

  /** The built CLI with argv (never a shell): stdin bytes or a file's, stdout into a file or captured as bytes. */
  function berth(args: string[], o: { input?: Buffer | string; stdoutFile?: string; timeoutMs?: number } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const outFd = o.stdoutFile ? openSync(o.stdoutFile, "w") : undefined;
      const child = spawn(process.execPath, [BERTH, "--run-root", env.runRoot, ...args], {
        cwd: REPO,
        env: { ...process.env, NO_COLOR: "1" },
        stdio: ["pipe", outFd ?? "pipe", "pipe"],
      });
      if (outFd !== undefined) closeSync(outFd);
      const out: Buffer[] = [];
      let err = "";
      child.stdout?.on("data", (d: Buffer) => out.push(d));
      child.stderr!.on("data", (d) => (err += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
      child.on("error", reject);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
      });
      child.stdin!.end(o.input ?? "");
    });
  }

  beforeAll(async () => {
    env = daemonEnv();
    daemon = await startCliDaemon(env);
    cli = cliOf(env);
    const box =
      `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: box}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n` +
      `  stopGracePeriod: 1s\n  command: [sh, -c, 'sleep 3600 & wait']\n`;
    const f = path.join(env.base, "box.yaml");
    (await import("node:fs")).writeFileSync(f, env.imageManifest + box);
    const applied = await cli(["apply", "-f", f]);
    expect(applied.code, applied.stderr).toBe(0);
    await untilCli("box running", () => cli(["get", "ctr", "box", "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.phase === "Running", 60_000);
  });

  afterAll(async () => {
    await stopAndCheckClean(daemon, env);
  });

  it("berth exec box -- cat /bin/busybox > f: the same bytes as the host's busybox, exit 0", async () => {
    const f = path.join(env.base, "busybox.copy");
    const r = await berth(["exec", "box", "--", "cat", "/bin/busybox"], { stdoutFile: f });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const host = readFileSync(which("busybox")!);
    const copy = readFileSync(f);
    expect(host.length).toBeGreaterThan(1024 * 1024);
    expect(copy.length).toBe(host.length);
    expect(sha256(copy)).toBe(sha256(host));
  });

  it("50 MB of random bytes in through -i and back out through stdout: the same checksum both ways", async () => {
    const data = (await import("node:crypto")).randomBytes(50 * 1024 * 1024);
    const put = await berth(["exec", "-i", "box", "--", "sh", "-c", "cat > /tmp/big && sha256sum /tmp/big"], { input: data, timeoutMs: 120_000 });
    expect({ code: put.code, stderr: put.stderr }).toEqual({ code: 0, stderr: "" });
    expect(put.stdout.toString().split(/\s+/)[0]).toBe(sha256(data));
    const f = path.join(env.base, "big.copy");
    const get = await berth(["exec", "box", "--", "cat", "/tmp/big"], { stdoutFile: f, timeoutMs: 120_000 });
    expect({ code: get.code, stderr: get.stderr }).toEqual({ code: 0, stderr: "" });
    expect(sha256(readFileSync(f))).toBe(sha256(data));
  });

  it("printf 'a\\0b' | berth exec -i box -- cat: stdin round-trips byte for byte; without -i stdin is empty", async () => {
    const r = await berth(["exec", "-i", "box", "--", "cat"], { input: Buffer.from("a\0b") });
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual(Buffer.from("a\0b"));
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect((await berth(["exec", "-i", "box", "--", "cat"], { input: bin })).stdout).toEqual(bin);
    expect(await berth(["exec", "box", "--", "cat"], { input: "ignored" })).toMatchObject({ code: 0, stdout: Buffer.alloc(0) });
  });

  it("stdout and stderr stay apart; exit codes 0 and 1 pass through", async () => {
    const r = await berth(["exec", "box", "--", "sh", "-c", "echo out; echo err >&2; exit 1"]);
    expect({ code: r.code, stdout: r.stdout.toString(), stderr: r.stderr }).toEqual({ code: 1, stdout: "out\n", stderr: "err\n" });
    expect((await berth(["exec", "box", "--", "true"])).code).toBe(0);
  });

  it("a command that does not exist exits 127, one that is not executable 126, each with one line", async () => {
    const missing = await berth(["exec", "box", "--", "nosuch"]);
    expect({ code: missing.code, stdout: missing.stdout.toString(), stderr: missing.stderr }).toEqual({
      code: 127,
      stdout: "",
      stderr: 'berth: exec: "nosuch": executable file not found in $PATH\n',
    });
    const noexec = await berth(["exec", "box", "--", "/etc/passwd"]);
    expect({ code: noexec.code, stdout: noexec.stdout.toString(), stderr: noexec.stderr }).toEqual({
      code: 126,
      stdout: "",
      stderr: 'berth: exec: "/etc/passwd": permission denied\n',
    });
  });

  it("-i streams: cat echoes each line as it is typed, before stdin ends", async () => {
    const child = spawn(process.execPath, [BERTH, "--run-root", env.runRoot, "exec", "-i", "box", "--", "cat"], { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      child.stdin.write("line one\n");
      await until("the first line echoed", async () => (out === "line one\n" ? true : undefined), 15_000, 20);
      child.stdin.write("line two\n");
      await until("the second line echoed", async () => (out === "line one\nline two\n" ? true : undefined), 15_000, 20);
      child.stdin.end();
      expect(await closed).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("Ctrl-C ends berth exec with 130 and kills the command in the container", async () => {
    const child = spawn(process.execPath, [BERTH, "--run-root", env.runRoot, "exec", "box", "--", "sh", "-c", "echo started; sleep 301; echo not-reached"], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      await until("started", async () => (out === "started\n" ? true : undefined), 15_000, 20);
      child.kill("SIGINT");
      expect(await closed).toBe(130);
    } finally {
      child.kill("SIGKILL");
    }
    await until(
      "sleep 301 gone from the container",
      async () => ((await berth(["exec", "box", "--", "ps"])).stdout.toString().includes("sleep 301") ? undefined : true),
      10_000,
      200,
    );
  });
});
