/**
 * Terminals end to end through a real terminal: tmux runs the built CLI against a real
 * `berth daemon` (runc, conmon); keys are typed with send-keys and the screen read with
 * capture-pane. exec -it sees a tty and its window size, survives a resize and returns the
 * shell's exit code; attach then Ctrl-P Ctrl-Q leaves the container running; run --rm -it
 * removes its object after `exit 3` and berth exits 3.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOf, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { BERTH } from "../helpers/cli.js";
import { daemonEnv, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks, which } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups") || (which("tmux") ? false : "tmux (apt-get install tmux)");

describe.skipIf(lacking)("terminals through tmux against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  // The server's socket in the test's own directory (-S), not /tmp/tmux-<uid>/ where it outlives the server.
  const tmux = (...args: string[]) => execFileSync("tmux", ["-S", path.join(env.base, "tmux.sock"), ...args], { encoding: "utf8" });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

  /** Starts `berth ARGS` in a tmux window of 100x30; its exit code goes to a file. */
  function open(session: string, args: string[]): { screen(): string; until(re: RegExp, ms?: number): Promise<string>; keys(...k: string[]): void; exit(ms?: number): Promise<number> } {
    const codeFile = path.join(env.base, `${session}.code`);
    const cmd = `${q(process.execPath)} ${q(BERTH)} --run-root ${q(env.runRoot)} ${args.map(q).join(" ")}; echo $? > ${q(codeFile)}; sleep 600`;
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd);
    const screen = () => tmux("capture-pane", "-p", "-t", session);
    return {
      screen,
      async until(re, ms = 20_000) {
        const deadline = Date.now() + ms;
        for (;;) {
          const s = screen();
          if (re.test(s)) return s;
          if (Date.now() > deadline) throw new Error(`${re} not on the screen within ${ms}ms:\n${s}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      keys: (...k) => void tmux("send-keys", "-t", session, ...k),
      async exit(ms = 20_000) {
        const deadline = Date.now() + ms;
        while (!existsSync(codeFile) || !readFileSync(codeFile, "utf8").trim()) {
          if (Date.now() > deadline) throw new Error(`berth did not exit within ${ms}ms:\n${screen()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        return Number(readFileSync(codeFile, "utf8").trim());
      },
    };
  }

  beforeAll(async () => {
    env = daemonEnv();
    daemon = await startCliDaemon(env);
    cli = cliOf(env);
    const objs =
      `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: box}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n  stopGracePeriod: 1s\n  command: [sleep, "3600"]\n` +
      `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: tbox}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n  stopGracePeriod: 1s\n  tty: true\n  stdin: true\n  command: [sh]\n`;
    // attach --sig-proxy: no terminal, stdin open; a TERM trap that says so and exits 9
    const sig = (n: string) =>
      `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: ${n}}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n  stopGracePeriod: 1s\n  stdin: true\n` +
      `  command: [sh, -c, 'trap "echo got TERM; exit 9" TERM; while :; do echo tick; sleep 0.2; done']\n`;
    const f = path.join(env.base, "boxes.yaml");
    writeFileSync(f, env.imageManifest + objs + sig("sig1") + sig("sig2"));
    const applied = await cli(["apply", "-f", f]);
    expect(applied.code, applied.stderr).toBe(0);
    for (const n of ["box", "tbox", "sig1", "sig2"]) await untilCli(`${n} running`, () => cli(["get", "ctr", n, "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.phase === "Running", 60_000);
  }, 120_000);

  afterAll(async () => {
    try {
      tmux("kill-server");
    } catch {}
    rmSync(path.join(env.base, "tmux.sock"), { force: true });
    await stopAndCheckClean(daemon, env);
  }, 60_000);

  /** `berth attach ARGS` as a plain child process (no terminal); resolves once it printed a tick, i.e. is attached. */
  async function attached(args: string[]) {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [BERTH, "--run-root", env.runRoot, "attach", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 20_000;
    while (!out.includes("tick")) {
      if (Date.now() > deadline) throw new Error(`attach ${args.join(" ")} printed no tick: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, exited, out: () => out };
  }

  it("attach --sig-proxy (default): a SIGTERM to berth reaches the container, whose exit code is berth's", async () => {
    const a = await attached(["sig1"]);
    a.child.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: 9, signal: null });
    expect(a.out()).toContain("got TERM");
    await untilCli("sig1 exited", () => cli(["get", "ctr", "sig1", "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.phase !== "Running", 20_000);
  });

  it("attach --sig-proxy=false: the signal ends berth only; the container keeps running", async () => {
    const a = await attached(["--sig-proxy=false", "sig2"]);
    a.child.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: null, signal: "SIGTERM" });
    await new Promise((r) => setTimeout(r, 500));
    const view = JSON.parse((await cli(["get", "ctr", "sig2", "-o", "json"])).stdout) as { status: { phase: string } };
    expect(view.status.phase).toBe("Running");
    expect((await cli(["logs", "sig2"])).stdout).not.toContain("got TERM");
  });

  it("exec -it: a tty, the window size, a resize, Ctrl-C to the tty, the shell's exit code", async () => {
    const t = open("exec", ["exec", "-it", "box", "--", "sh"]);
    await t.until(/\/ #\s*$/m);
    t.keys("tty; stty size", "Enter");
    await t.until(/\/dev\/pts\/\d+\n30 100/);
    tmux("resize-window", "-t", "exec", "-x", "120", "-y", "40");
    await new Promise((r) => setTimeout(r, 300));
    t.keys("clear; stty size", "Enter");
    await t.until(/40 120/);
    t.keys("sleep 100", "Enter");
    await new Promise((r) => setTimeout(r, 300));
    t.keys("C-c");
    t.keys("echo rc=$?", "Enter");
    await t.until(/rc=130/);
    t.keys("exit 5", "Enter");
    expect(await t.exit()).toBe(5);
  }, 60_000);

  it("attach to a tty container, then Ctrl-P Ctrl-Q: detached, still running", async () => {
    const t = open("attach", ["attach", "tbox"]);
    await new Promise((r) => setTimeout(r, 500));
    t.keys("echo attached-$((40+2))", "Enter");
    await t.until(/attached-42/);
    t.keys("C-p", "C-q");
    expect(await t.exit()).toBe(0);
    expect(t.screen()).toMatch(/read escape sequence/);
    const got = await cli(["get", "ctr", "tbox", "-o", "json"]);
    expect(JSON.parse(got.stdout).status.phase).toBe("Running");
    const logs = await cli(["logs", "tbox"]);
    expect(logs.stdout).toMatch(/attached-42/);
  }, 60_000);

  it("run --rm -it busybox sh: the shell's first prompt with no key typed (attached before it ran), exit 3 is berth's, and the object is gone", async () => {
    const t = open("run", ["run", "--rm", "-it", "--name", "oneoff", "--network", "none", "localhost/busybox:latest", "sh"]);
    // The prompt the shell prints once, at its start: an attach after the start misses it.
    await t.until(/^\/ #\s*$/m, 30_000);
    t.keys("exit 3", "Enter");
    expect(await t.exit(30_000)).toBe(3);
    const got = await cli(["get", "ctr", "oneoff", "-o", "json"]);
    expect(got.code).not.toBe(0);
  }, 90_000);

  it("run --rm -i with a pipe: what the process prints at once is not lost, stdin reaches it, and its exit code is berth's", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [BERTH, "--run-root", env.runRoot, "run", "--rm", "-i", "--name", "piped", "--network", "none", "localhost/busybox:latest", "sh", "-c", "echo first; cat; echo err >&2; exit 4"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.stdin.end("from-stdin\n");
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    expect(code, err).toBe(4);
    expect(out).toBe("first\nfrom-stdin\n");
    expect(err).toBe("err\n");
    const got = await cli(["get", "ctr", "piped", "-o", "json"]);
    expect(got.code).not.toBe(0);
  }, 60_000);

  it("start -a of an exited container: its output from the first byte, its exit code berth's; -a with two names is a usage error", async () => {
    const f = path.join(env.base, "once.yaml");
    writeFileSync(f, `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: once}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n  restartPolicy: "no"\n  command: [sh, -c, 'echo run-$(cat /proc/uptime | cut -d" " -f1); exit 5']\n`);
    expect((await cli(["apply", "-f", f])).code).toBe(0);
    await untilCli("once exited", () => cli(["get", "ctr", "once", "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.phase === "Exited", 60_000);
    const first = (await cli(["logs", "once"])).stdout;
    const r = await cli(["start", "-a", "once"]);
    expect(r.code, r.stderr).toBe(5);
    // this run's line (another uptime than the first run's), written the moment it ran
    expect(r.stdout).toMatch(/^run-\d+\.\d+\n$/);
    expect(r.stdout).not.toBe(first);
    const two = await cli(["start", "-a", "once", "box"]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/cannot start and attach multiple containers/);
  }, 90_000);
});
