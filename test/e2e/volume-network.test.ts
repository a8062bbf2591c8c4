/**
 * `berth volume`, `berth network` and `berth container prune` end to end (issue 12): the
 * built CLI against a real `berth daemon` child process on a temp root, real runc containers,
 * volume directories and bridges. A volume and a network made by hand are objects of the
 * daemon's desired state that a manifest's container then uses; rm and prune leave what is
 * used. Nothing of it is left after the suite (stopAndCheckClean, and the env's cleanup of
 * this root's bridges).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOf, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups", "iptables");

const ctr = (name: string, ...spec: string[]) =>
  [`---`, `apiVersion: berth/v1`, `kind: Container`, `metadata: {name: ${name}}`, `spec:`, `  image: localhost/busybox:latest`, `  stopGracePeriod: 1s`, ...spec.map((l) => `  ${l}`)].join("\n") + "\n";

describe.skipIf(lacking)("berth volume / network / container prune against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;

  /** Applies `text` as `stack` (with --wait unless `wait` is false: containers that exit at once are never ready). */
  const apply = async (stack: string, text: string, extra: string[] = [], wait = true) => {
    const f = path.join(env.base, `${stack}.yaml`);
    writeFileSync(f, text);
    const r = await cli(["apply", "--stack", stack, "-f", f, ...(wait ? ["--wait", "--timeout", "60s"] : []), ...extra], { timeoutMs: 90_000 });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    return f;
  };
  const ok = async (args: string[]) => {
    const r = await cli(args, { timeoutMs: 30_000 });
    expect(r.code, `berth ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    env = daemonEnv();
    daemon = await startCliDaemon(env);
    cli = cliOf(env);
    await apply("img", env.imageManifest);
  }, 120_000);

  afterAll(async () => {
    await stopAndCheckClean(daemon, env);
  });

  it("a volume created by hand is a desired object that a manifest's container mounts; rm is refused while it does, then goes with its directory", async () => {
    expect(await ok(["volume", "create", "--label", "team=web", "data"])).toBe("data\n");
    const [inspected] = JSON.parse(await ok(["volume", "inspect", "data"]));
    expect(inspected).toMatchObject({ Name: "data", Driver: "local", Labels: { team: "web" }, Scope: "local", Options: null, Berth: { Stack: "cli", Object: true } });
    const mountpoint = inspected.Mountpoint as string;
    expect(mountpoint.startsWith(env.root)).toBe(true);
    expect(existsSync(mountpoint)).toBe(true);
    // An object like any other: berth get sees it, in its own stack.
    expect(JSON.parse(await ok(["get", "volume", "data", "-o", "json"])).metadata).toMatchObject({ stack: "cli", labels: { team: "web" } });

    const app = await apply("app", ctr("web", "command: [sh, -c, 'echo hello > /data/greeting; exec sleep 3600']", "mounts: ['data:/data']"));
    await untilCli("the container to write into the volume", () => cli(["exec", "web", "--", "cat", "/data/greeting"]), (r) => r.stdout === "hello\n");
    expect(readFileSync(path.join(mountpoint, "greeting"), "utf8")).toBe("hello\n");

    const ls = await ok(["volume", "ls"]);
    expect(ls.split("\n")[0]).toMatch(/^DRIVER\s+VOLUME NAME\s+STACK\s+USED BY$/);
    expect(ls).toMatch(/^local\s+data\s+cli\s+web$/m);
    expect(await ok(["volume", "ls", "-q", "--filter", "dangling=true"])).not.toContain("data\n");

    const rm = await cli(["volume", "rm", "data"]);
    expect(rm.code).toBe(5);
    expect(rm.stderr).toBe("berth: remove volume data: it is in use by container web (desired: a manifest mounts it); remove that container first, or -f to delete the volume object anyway\n");
    // An apply --prune of the manifest's stack never touches the cli stack's volume.
    await apply("app", ctr("web", "command: [sh, -c, 'exec sleep 3600']", "mounts: ['data:/data']"), ["--prune"]);
    expect(JSON.parse(await ok(["get", "volume", "data", "-o", "json"])).metadata.stack).toBe("cli");

    // Prune leaves a used volume, with or without --all.
    expect(await ok(["volume", "prune", "-f", "--all"])).not.toContain("data");
    expect(existsSync(path.join(mountpoint, "greeting"))).toBe(true);

    await ok(["delete", "-f", app]);
    await untilCli("web to be gone", () => cli(["get", "ctr", "web"]), (r) => r.code === 3);
    expect(await ok(["volume", "rm", "data"])).toBe("data\n");
    await untilCli("the volume to be removed", () => cli(["volume", "ls", "-q"]), (r) => !r.stdout.split("\n").includes("data"));
    expect(existsSync(mountpoint)).toBe(false);
    const missing = await cli(["volume", "inspect", "data"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe("berth: inspect volume data: no such volume\n");
  }, 180_000);

  it("prune removes unused anonymous volumes, an anonymous mount's too once its container is gone; -a then named ones; no TTY and no -f is refused", async () => {
    const anon = (await ok(["volume", "create"])).trim();
    expect(anon).toMatch(/^[0-9a-f]{63}$/);
    await ok(["volume", "create", "named"]);
    await apply("scratch", ctr("tmp", "command: [sh, -c, 'exec sleep 3600']", "mounts: ['/scratch']"));
    const anonMount = (await ok(["volume", "ls", "-q", "--filter", "name=tmp-anon-"])).trim();
    expect(anonMount).toMatch(/^tmp-anon-[0-9a-f]{12}$/);

    const refused = await cli(["volume", "prune"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe("berth: berth volume prune: standard input is not a terminal, so there is nobody to confirm; pass -f (--force) to volume prune without asking\n");

    // tmp's anonymous mount is in use: only the created anonymous volume goes.
    expect(await ok(["volume", "prune", "-f"])).toBe(`Deleted Volumes:\n${anon}\n`);
    await ok(["delete", "ctr", "tmp"]);
    await untilCli("tmp to be gone", () => cli(["get", "ctr", "tmp"]), (r) => r.code === 3);
    expect(await ok(["volume", "prune", "-f"])).toBe(`Deleted Volumes:\n${anonMount}\n`);
    expect(await ok(["volume", "prune", "-f", "-a"])).toBe("Deleted Volumes:\nnamed\n");
    await untilCli("every volume to be gone", () => cli(["volume", "ls", "-q"]), (r) => r.code === 0 && r.stdout === "");
  }, 180_000);

  it("a network created by hand is joined by a manifest's container; inspect shows it there; rm and prune leave it while it is used", async () => {
    const id = (await ok(["network", "create", "--label", "team=db", "backend"])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await ok(["network", "create", "spare"]);
    const f = await apply("db", ctr("db", "command: [sh, -c, 'exec sleep 3600']", "networks: [backend]"));
    const status = JSON.parse(await ok(["get", "ctr", "db", "-o", "json"])).status as { containerId: string; networks: { network: string; address: string }[] };
    expect(status.networks.map((n) => n.network)).toEqual(["backend"]);

    const [n] = JSON.parse(await ok(["network", "inspect", id.slice(0, 12)]));
    expect(n).toMatchObject({ Name: "backend", Id: id, Driver: "bridge", Scope: "local", Internal: false, Labels: { team: "db" }, Berth: { Stack: "cli", Object: true, UsedBy: ["db"] } });
    expect(n.IPAM.Config).toEqual([{ Subnet: expect.stringMatching(/\/\d+$/), Gateway: expect.any(String) }]);
    expect(n.Containers).toEqual({ [status.containerId]: expect.objectContaining({ Name: "db", IPv4Address: status.networks[0]!.address }) });
    expect(n.Options["com.docker.network.bridge.name"]).toMatch(/^\S+$/);

    const ls = await ok(["network", "ls"]);
    expect(ls.split("\n")[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\s+SUBNET\s+STACK\s+USED BY$/);
    expect(ls).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+backend\\s+bridge\\s+local\\s+\\S+\\s+cli\\s+db$`, "m"));

    const rm = await cli(["network", "rm", "backend"]);
    expect(rm.code).toBe(5);
    expect(rm.stderr).toContain("berth: delete network backend: it is in use by container/db");

    expect(await ok(["network", "prune", "-f"])).toBe("Deleted Networks:\nspare\n");
    expect(await ok(["network", "ls", "-q", "--filter", "name=backend"])).toBe(`${id.slice(0, 12)}\n`);

    await ok(["delete", "-f", f]);
    await untilCli("db to be gone", () => cli(["get", "ctr", "db"]), (r) => r.code === 3);
    expect(await ok(["network", "prune", "-f"])).toBe("Deleted Networks:\nbackend\n");
    await untilCli("backend to be removed", () => cli(["network", "ls", "-q", "--filter", "name=backend"]), (r) => r.code === 0 && r.stdout === "");
  }, 180_000);

  it("a stack's default network is kept while the stack has containers; network rm says why", async () => {
    const f = await apply("shop", ctr("web", "command: [sh, -c, 'exec sleep 3600']"));
    expect(await ok(["network", "ls", "-q", "--filter", "name=shop-default"])).toMatch(/^[0-9a-f]{12}\n$/);
    const rm = await cli(["network", "rm", "shop-default"]);
    expect(rm.code).toBe(5);
    expect(rm.stderr).toBe("berth: remove network shop-default: the default network of stack shop, in use by container web; remove that container first\n");
    expect(await ok(["network", "prune", "-f"])).not.toContain("shop-default");
    await ok(["delete", "-f", f]);
    // berth removes a default network with the stack's last container.
    await untilCli("shop-default to be gone", () => cli(["network", "ls", "-q", "--filter", "name=shop-default"]), (r) => r.code === 0 && r.stdout === "");
  }, 120_000);

  it("container prune removes the run stack's exited containers that will not restart, never a manifest's", async () => {
    await apply("run", ctr("once", "command: [sh, -c, 'exit 0']", "networkMode: none") + ctr("svc", "command: [sh, -c, 'exec sleep 3600']", "networkMode: none", "restartPolicy: always"), [], false);
    await apply("batch", ctr("job", "command: [sh, -c, 'exit 0']", "networkMode: none"), [], false);
    for (const name of ["once", "job"]) {
      await untilCli(`${name} to exit`, () => cli(["get", "ctr", name, "-o", "json"]), (r) => r.code === 0 && JSON.parse(r.stdout).status.phase === "Exited");
    }
    expect(await ok(["container", "prune", "-f"])).toBe("Deleted Containers:\nonce\n");
    await untilCli("once to be gone", () => cli(["get", "ctr", "once"]), (r) => r.code === 3);
    expect((await cli(["get", "ctr", "job"])).code).toBe(0);
    expect((await cli(["get", "ctr", "svc"])).code).toBe(0);
    await ok(["delete", "ctr", "job", "svc"]);
    await untilCli("job and svc to be gone", () => cli(["get", "ctr", "-o", "name"]), (r) => r.code === 0 && r.stdout === "");
  }, 120_000);
});
