/**
 * `berth daemon --group NAME` (like dockerd -G): who may connect to the API socket. Root only
 * without it (socket 0600, run-root 0700); with it the group's members too (socket root:NAME
 * 0660, run-root root:NAME 0710). Checked with real uids: nobody is refused, nobody with the
 * group as a supplementary group gets in.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, statSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { berth } from "../helpers/cli.js";
import { spawnBerth, stopAndCheckClean, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks, which } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "busybox", "cgroups") ?? (which("groupadd") && which("setpriv") ? undefined : "needs groupadd and setpriv");

/**
 * Connects to the socket as uid nobody (gid nogroup), with `groups` as its only supplementary
 * groups, and asks GET /v1/version: "200", or the connect error's code.
 */
function connectAs(socket: string, groups: number[]): Promise<string> {
  const script = `const c = require("node:net").connect(process.argv[1]);
    c.on("error", (e) => { console.log(e.code); process.exit(0); });
    c.on("connect", () => c.write("GET /v1/version HTTP/1.0\\r\\n\\r\\n"));
    let out = ""; c.on("data", (d) => (out += d)); c.on("end", () => console.log(out.split(" ")[1]));`;
  const ids = groups.length ? [`--groups=${groups.join(",")}`] : ["--clear-groups"];
  return new Promise((resolve, reject) => {
    const child = spawn("setpriv", ["--reuid=nobody", "--regid=nogroup", ...ids, process.execPath, "-e", script, socket], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
  });
}

async function startDaemonWith(env: DaemonEnv, extra: string[]): Promise<CliProcess> {
  const daemon = spawnBerth(["--root", env.root, "--run-root", env.runRoot, "daemon", "--log-level", "warn", "--cgroup-parent", env.cgroupParent, ...extra]);
  let exit: number | NodeJS.Signals | undefined;
  void daemon.exited.then((c) => (exit = c));
  await until(
    "berth daemon to answer",
    async () => {
      if (exit !== undefined) throw new Error(`berth daemon exited (${exit}): ${daemon.stderr()}`);
      return (await berth(["--run-root", env.runRoot, "get"], { timeoutMs: 5_000 })).code === 0 ? true : undefined;
    },
    30_000,
    200,
  ).catch(async (err) => {
    await daemon.stop("SIGKILL").catch(() => {});
    throw err;
  });
  return daemon;
}

describe("berth daemon --group: usage errors", () => {
  it("names an unknown or invalid group and exits 2 before opening anything", async () => {
    const unknown = await berth(["--root", "/nonexistent/berth-root", "--run-root", "/nonexistent/berth-run", "daemon", "--group", "no-such-group-berth"]);
    expect(unknown).toMatchObject({ code: 2, stdout: "", stderr: "berth: daemon --group no-such-group-berth: no such group in /etc/group\n" });
    const invalid = await berth(["--root", "/nonexistent/berth-root", "--run-root", "/nonexistent/berth-run", "daemon", "--group", "a:b"]);
    expect(invalid).toMatchObject({ code: 2, stderr: 'berth: daemon --group "a:b": not a valid group name\n' });
  });
});

describe.skipIf(!!lacking)(`berth daemon: who may use the socket${lacking ? ` (skipped: ${lacking})` : ""}`, () => {
  const group = `berthtest${randomBytes(3).toString("hex")}`;
  let gid = 0;
  let env: DaemonEnv | undefined;
  let daemon: CliProcess | undefined;

  beforeAll(() => {
    execFileSync("groupadd", [group]);
    gid = Number(execFileSync("getent", ["group", group], { encoding: "utf8" }).split(":")[2]);
    env = daemonEnv();
    chmodSync(env.base, 0o711); // nobody must be able to reach the run-root inside it
  });

  afterEach(async () => {
    const d = daemon;
    daemon = undefined;
    if (d) expect(await d.stop("SIGTERM")).toBe(0);
  });

  afterAll(async () => {
    try {
      await stopAndCheckClean(undefined, env);
    } finally {
      execFileSync("groupdel", [group]);
    }
  });

  it("without --group: root only (socket 0600, run-root 0700); nobody is refused", async () => {
    daemon = await startDaemonWith(env!, []);
    const sock = statSync(env!.socket);
    expect([sock.mode & 0o7777, sock.uid, sock.gid]).toEqual([0o600, 0, 0]);
    const run = statSync(env!.runRoot);
    expect([run.mode & 0o7777, run.uid, run.gid]).toEqual([0o700, 0, 0]);
    expect(await connectAs(env!.socket, [])).toBe("EACCES");
    expect(await connectAs(env!.socket, [gid])).toBe("EACCES");
  });

  it("with --group: socket root:group 0660, run-root root:group 0710; members get in, others do not", async () => {
    daemon = await startDaemonWith(env!, ["--group", group]);
    const sock = statSync(env!.socket);
    expect([sock.mode & 0o7777, sock.uid, sock.gid]).toEqual([0o660, 0, gid]);
    const run = statSync(env!.runRoot);
    expect([run.mode & 0o7777, run.uid, run.gid]).toEqual([0o710, 0, gid]);
    expect(await connectAs(env!.socket, [])).toBe("EACCES");
    expect(await connectAs(env!.socket, [gid])).toBe("200");
    // a member still cannot list the run-root or reach what is below it
    expect(statSync(path.join(env!.runRoot, "runc")).mode & 0o077).toBe(0);
  });

  it("a daemon started again without --group takes the group's access away", async () => {
    daemon = await startDaemonWith(env!, ["--group", group]);
    expect(await connectAs(env!.socket, [gid])).toBe("200");
    expect(await daemon.stop("SIGTERM")).toBe(0);
    daemon = await startDaemonWith(env!, []);
    expect(statSync(env!.socket).mode & 0o7777).toBe(0o600);
    expect([statSync(env!.runRoot).mode & 0o7777, statSync(env!.runRoot).gid]).toEqual([0o700, 0]);
    expect(await connectAs(env!.socket, [gid])).toBe("EACCES");
  });
});
