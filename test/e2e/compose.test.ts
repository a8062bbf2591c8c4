/**
 * Compose files with the behaviour Compose v2 gives, against a real `berth daemon` (runc +
 * conmon + overlay) through the built CLI: `up -d --wait` failing fast on an unhealthy
 * dependency, depends_on `restart: true` and `required: false`, `init`, and `down` by
 * `delete -f`. (examples/compose, the realistic multi-service file, runs in examples.test.ts.)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOf, startCliDaemon, stopAndCheckClean, type CliProcess } from "../helpers/cli-daemon.js";
import type { RunResult } from "../helpers/cli.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks, which } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");
const noTini = which("tini-static") ? undefined : "needs tini-static for init: true (apt-get install tini)";
if (noTini && process.env.CI === "true") throw new Error(`CI=true but the host ${noTini}: .ci/run must install it`);

type Status = { phase: string; reason?: string; message?: string; startedAt?: string; health?: string };

describe.skipIf(lacking)("Compose files against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let dir: string;
  const ok = (r: RunResult) => expect(r, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toMatchObject({ code: 0 });
  const statusOf = async (name: string): Promise<Status | undefined> => {
    const r = await cli(["get", "ctr", name, "-o", "json"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { status: Status }).status : undefined;
  };
  const project = (name: string, text: string) => {
    const file = path.join(dir, name, "compose.yaml");
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };

  beforeAll(async () => {
    env = daemonEnv();
    cli = cliOf(env);
    dir = mkdtempSync(path.join(env.base, "compose-"));
    daemon = await startCliDaemon(env);
    const image = path.join(dir, "image.yaml");
    writeFileSync(image, env.imageManifest);
    ok(await cli(["apply", "-f", image, "--stack", "images", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 }));
  });

  afterAll(() => stopAndCheckClean(daemon, env));

  it("up -d --wait fails as soon as a dependency turns unhealthy, naming it, and exits 1", async () => {
    const file = project(
      "sick",
      `name: sick
services:
  db:
    image: localhost/busybox:latest
    command: sleep 3600
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "false"]
      interval: 500ms
      timeout: 1s
      retries: 1
  web:
    image: localhost/busybox:latest
    command: sleep 3600
    stop_grace_period: 1s
    depends_on:
      db:
        condition: service_healthy
`,
    );
    const t0 = Date.now();
    const r = await cli(["up", "-d", "--wait", "-f", file, "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(1);
    expect(Date.now() - t0).toBeLessThan(30_000); // well before the 60 s timeout
    expect(r.stderr).toMatch(/container\/sick-web failed: .*dependency sick-db is unhealthy/);
    expect(await statusOf("sick-web")).toMatchObject({ reason: "DependencyFailed" });
    // restart "no" (Compose's default): berth does not restart db for it, and web never starts
    expect((await statusOf("sick-db"))?.health).toBe("unhealthy");
    const down = await cli(["delete", "-f", file]);
    ok(down);
    expect(down.stdout).toContain("container/sick-web deleted\n");
  });

  it.skipIf(!!noTini)("depends_on restart: true restarts the dependent with its dependency; required: false skips one left out by a profile; init runs tini as PID 1", async () => {
    const file = project(
      "chain",
      `name: chain
services:
  db:
    image: localhost/busybox:latest
    command: sleep 3600
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "true"]
      interval: 500ms
      start_interval: 200ms
  debug:
    image: localhost/busybox:latest
    command: sleep 3600
    profiles: [debug]
  web:
    image: localhost/busybox:latest
    command: ["sh", "-c", "sleep 3600 & wait"]
    init: true
    stop_grace_period: 5s
    depends_on:
      db:
        condition: service_healthy
        restart: true
      debug:
        condition: service_started
        required: false
`,
    );
    ok(await cli(["up", "-d", "--wait", "-f", file, "--timeout", "60s"], { timeoutMs: 90_000 }));
    const web = (await statusOf("chain-web"))!;
    expect(web.phase).toBe("Running");
    expect(await statusOf("chain-debug")).toBeUndefined(); // its profile is off
    // init: PID 1 is tini, with the command under it
    const cmdline = await cli(["exec", "chain-web", "--", "cat", "/proc/1/cmdline"]);
    expect(cmdline.stdout.split("\0").slice(0, 3)).toEqual(["/dev/init", "--", "sh"]);
    // db restarted by the user: web follows once db is healthy again
    ok(await cli(["restart", "chain-db"]));
    const after = await until(
      "chain-web to be restarted after chain-db",
      async () => {
        const s = await statusOf("chain-web");
        return s?.phase === "Running" && s.startedAt !== web.startedAt ? s : undefined;
      },
      30_000,
      250,
    );
    expect(Date.parse(after.startedAt!)).toBeGreaterThan(Date.parse(web.startedAt!));
    // tini forwards the stop signal: web stopped well within its 5 s grace (sh alone would sit it out)
    const t0 = Date.now();
    ok(await cli(["stop", "chain-web"]));
    expect(Date.now() - t0).toBeLessThan(4_000);
    ok(await cli(["delete", "-f", file]));
  });
});
