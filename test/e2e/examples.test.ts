/**
 * Every runnable example under examples/, as its README tells a user to run it: a real
 * `berth daemon` child process and the built CLI. examples/kinds shows every field: what
 * cannot work there (a pull from a registry that is not running, a build whose context is
 * not part of the example) must leave failures on status, not a broken daemon, and its
 * networks are made for real.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, berth } from "../helpers/cli.js";
import { cliOf, httpGet, leftovers, portOpen, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, until, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

const WEB_PORT = 8080;
const STACK_PORT = 8081;
/** examples/compose/.env's WEB_PORT. */
const SHOP_PORT = 8088;
/** examples/web/busybox.yaml builds examples/images/busybox, whose context needs the host's busybox (gitignored), put there by scripts/busybox-context.sh. */
const BUSYBOX = path.join(REPO, "examples/images/busybox/busybox");

const examples = (name: string) => path.join(REPO, "examples", name);

describe.skipIf(lacking)("examples", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let copiedBusybox = false;

  const json = async (kind: string, name: string) => {
    const r = await cli(["get", kind, name, "-o", "json"]);
    if (r.code !== 0) throw new Error(`get ${kind} ${name}: ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as { status: Record<string, unknown> };
  };

  beforeAll(async () => {
    // The examples bind fixed ports: another berth (or anything) on them would make this test
    // lie. Wait a little for a previous run to go away, then refuse to start.
    for (const port of [WEB_PORT, STACK_PORT, SHOP_PORT]) {
      await until(`127.0.0.1:${port} to be free (something else is listening on it)`, async () => ((await portOpen(port)) ? undefined : true), 30_000, 500);
    }
    if (!existsSync(BUSYBOX)) {
      execFileSync(path.join(REPO, "scripts/busybox-context.sh"));
      copiedBusybox = true;
    }
    env = daemonEnv();
    cli = cliOf(env);
    daemon = await startCliDaemon(env);
  });

  afterAll(() => stopAndCheckClean(daemon, env, () => copiedBusybox && rmSync(BUSYBOX, { force: true })));

  it("every example validates", async () => {
    expect(await berth(["validate", "-f", path.join(REPO, "examples"), "-R"])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("examples/web: apply --wait, then httpd serves the page on 127.0.0.1:8080 and is healthy", async () => {
    const r = await cli(["apply", "-f", examples("web"), "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    for (const line of ["image/busybox created", "image/web created", "container/web created"]) expect(r.stdout).toContain(`${line}\n`);
    expect(r.stdout).toMatch(/\n3 objects ready in \S+\n$/);
    expect(await httpGet(WEB_PORT)).toContain("Hello from berth");
    // the site and the build's own file are baked into the image by its multi-stage build
    expect((await cli(["exec", "web", "--", "cat", "/www/build.txt"])).stdout).toBe("built by berth\n");
    // healthy by the image's HEALTHCHECK: the manifest declares none
    expect((await cli(["get", "ctr", "web"])).stdout).toMatch(/^web\s+localhost\/web:latest\s+Up .*\(healthy\)\s+0\s/m);
    expect((await json("ctr", "web")).status).toMatchObject({ phase: "Running", health: "healthy" });
    const busybox = (await json("image", "busybox")).status;
    expect(busybox).toMatchObject({ ready: true });
    // built FROM scratch: one layer per COPY and RUN
    const history = await cli(["image", "history", "localhost/busybox:latest", "--format", "json"]);
    expect(history.code, history.stderr).toBe(0);
  });

  it("examples/stack: front asks api for the date the worker writes, by name, and serves it on 127.0.0.1:8081", async () => {
    const r = await cli(["apply", "-f", examples("stack"), "--wait", "--timeout", "90s"], { timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    for (const line of ["volume/shared created", "container/worker created", "container/api created", "container/front created", "healthcheck/backend-writes created"]) {
      expect(r.stdout).toContain(`${line}\n`);
    }
    expect(r.stdout).toMatch(/\n5 objects ready in \S+\n$/);
    // busybox `date`: `Sun Nov 22 14:12:11 UTC 2026`, written within the last seconds
    const body = await httpGet(STACK_PORT, "/cgi-bin/date");
    expect(body).toMatch(/^\w{3} \w{3} [ \d]\d \d{2}:\d{2}:\d{2} \w+ \d{4}\n$/);
    expect(Math.abs(Date.now() - Date.parse(body.trim()))).toBeLessThan(60_000);
    // the worker has no healthcheck of its own: the HealthCheck object attached by label made it healthy
    expect((await json("ctr", "worker")).status).toMatchObject({ phase: "Running", health: "healthy" });
    const front = (await json("ctr", "front")).status;
    expect(front).toMatchObject({ phase: "Running", health: "healthy" });
    const events = (await cli(["events", "--for", "container/worker"])).stdout;
    const healthyAt = events.split("\n").find((l) => /\sHealthy\s/.test(l))?.split(/\s+/)[0];
    expect(healthyAt, events).toBeDefined();
    expect(Date.parse(front.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(healthyAt!)); // event times are floored to the second
  });

  it("examples/kinds: what the runtime cannot do yet is reported on status; the daemon and other stacks carry on", async () => {
    const r = await cli(["apply", "-f", examples("kinds")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("network/back created\n");

    const back = await until("network back to be ready", async () => {
      const s = (await json("network", "back")).status;
      return s.ready ? s : undefined;
    });
    expect(back).toMatchObject({ ready: true, subnet: "10.89.7.0/24", gateway: "10.89.7.1", internal: true });
    const pulled = await until("image alpine-pulled to report why", async () => {
      const s = (await json("image", "alpine-pulled")).status;
      return s.reason ? s : undefined;
    });
    // nothing listens on 127.0.0.1:5000 here: the pull fails and is retried
    expect(pulled).toMatchObject({ ready: false });
    expect(pulled.message).toMatch(/127\.0\.0\.1:5000/);
    const built = await until("image app-built to report why", async () => {
      const s = (await json("image", "app-built")).status;
      return s.reason ? s : undefined;
    });
    // its context ./app is not part of the example: a located, terminal NotFound
    expect(built).toMatchObject({ ready: false, reason: "NotFound" });
    expect(built.message).toMatch(/examples\/kinds\/app/);
    // cache runs on the internal network back
    const cache = await until("container cache to run", async () => {
      const s = (await json("ctr", "cache")).status;
      return s.phase === "Running" ? s : undefined;
    }, 60_000);
    expect(cache.networks).toEqual([{ network: "back", address: expect.stringMatching(/^10\.89\.7\.\d+\/24$/), gateway: "10.89.7.1", aliases: [] }]);

    // still serving the API and the other stacks
    expect(daemon!.child.exitCode).toBeNull();
    expect((await cli(["get", "net"])).stdout).toMatch(/^back\s+True\s+Ready\s/m);
    expect(await httpGet(WEB_PORT)).toContain("Hello from berth");
    expect((await json("ctr", "front")).status).toMatchObject({ phase: "Running" });
  });

  it("examples/compose: up -d --wait brings the shop up in dependency order; services reach each other by name on their networks only", async () => {
    const compose = path.join(examples("compose"), "compose.yaml");
    const r = await cli(["up", "-d", "--wait", "-f", compose, "--timeout", "90s"], { timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    for (const line of ["image/shop-web created", "network/shop-front created", "network/shop-back created", "volume/shop-db-data created", "container/shop-db created", "container/shop-cache created", "container/shop-api created", "container/shop-web created"]) {
      expect(r.stdout).toContain(`${line}\n`);
    }
    expect(r.stdout).toMatch(/ready in \S+\n$/);
    // the site is bind-mounted read-only and published on .env's WEB_PORT
    expect(await httpGet(SHOP_PORT)).toContain("The shop, from a Compose file");
    // web -> api by its service name on front; SHOP_NAME interpolated from .env ($$ kept a $ for the shell)
    const viaName = await cli(["exec", "shop-web", "--", "wget", "-q", "-O", "-", "http://api:3000/"]);
    expect(viaName, viaName.stderr).toMatchObject({ code: 0, stdout: "api of the berth shop\n" });
    // db is only on back: web (front only) cannot even resolve it; api (on both) reaches cache
    // by its name and its alias (httpd there answers 404: reached)
    expect((await cli(["exec", "shop-web", "--", "timeout", "5", "wget", "-q", "-O", "-", "http://db/"])).stderr).toContain("bad address 'db'");
    for (const name of ["cache", "redis"]) {
      expect((await cli(["exec", "shop-api", "--", "timeout", "5", "wget", "-q", "-O", "-", `http://${name}:6379/`])).stderr).toContain("404 Not Found");
    }
    // the secret file is mounted at /run/secrets/<name>, read-only
    expect((await cli(["exec", "shop-api", "--", "cat", "/run/secrets/db_password"])).stdout).toBe(readFileSync(path.join(examples("compose"), "secrets/db_password.txt"), "utf8"));
    expect((await cli(["exec", "shop-api", "--", "sh", "-c", "echo x > /run/secrets/db_password"])).code).not.toBe(0);
    // depends_on with service_healthy: db healthy before api started, api healthy before web started
    const st = async (n: string) => (await json("ctr", n)).status as { phase: string; health?: string; startedAt: string };
    const [db, api, web] = [await st("shop-db"), await st("shop-api"), await st("shop-web")];
    for (const s of [db, api, web]) expect(s).toMatchObject({ phase: "Running", health: "healthy" });
    const healthyAt = async (obj: string) => {
      const events = (await cli(["events", "--for", obj])).stdout;
      const at = events.split("\n").find((l) => /\sHealthy\s/.test(l))?.split(/\s+/)[0];
      expect(at, events).toBeDefined();
      return Date.parse(at!);
    };
    expect(Date.parse(api.startedAt)).toBeGreaterThanOrEqual(await healthyAt("container/shop-db"));
    expect(Date.parse(web.startedAt)).toBeGreaterThanOrEqual(await healthyAt("container/shop-api"));
    // the named volume holds what db wrote
    expect((await cli(["exec", "shop-db", "--", "cat", "/data/started"])).stdout).toMatch(/\d{4}\n$/);
    // applied again unchanged: nothing is recreated
    const again = await cli(["up", "-d", "-f", compose]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/configured|created/);
    expect((await st("shop-db")).startedAt).toBe(db.startedAt);
  });

  it("deleting every example removes its containers and closes the ports", async () => {
    const down = await cli(["delete", "-f", path.join(examples("compose"), "compose.yaml")]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain("container/shop-web deleted\n");
    for (const name of ["kinds", "stack", "web"]) {
      const r = await cli(["delete", "-f", examples(name)]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^(\S+ deleted\n)+$/);
    }
    // deleted containers are listed as Terminating until they are gone from the host
    await untilCli("every deleted container gone from get", () => cli(["get"]), (r) => r.stdout === "");
    expect(await cli(["get"])).toEqual({ code: 0, stdout: "", stderr: "No resources found.\n" });
    // httpd ignores SIGTERM as PID 1: front is killed after its 10s grace period
    await until("ports 8080, 8081 and 8088 to close", async () => (!(await portOpen(WEB_PORT)) && !(await portOpen(STACK_PORT)) && !(await portOpen(SHOP_PORT)) ? true : undefined), 30_000, 250);
    await until("the daemon to remove every container", async () => ((await leftovers(env)).containers.length === 0 ? true : undefined), 30_000, 250);
  });
});
