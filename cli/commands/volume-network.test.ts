/**
 * `berth volume|network ...` and `berth container prune` over the real API server and the
 * real controller (desired store, indexes, reconcilers) on the fake runtime: what a command
 * applies goes through `POST /v1/apply` as manifests do, and what it reads is the daemon's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../../controller/api/client.js";
import { ApiServer } from "../../controller/api/server.js";
import { containerYaml, startHarness as startController, type Harness as ControllerHarness } from "../../controller/testing.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { Capture } from "../testing.js";
import { containerPrune } from "./container-prune.js";
import { networkCreate, networkInspect, networkLs, networkPrune, networkRm } from "./network.js";
import { volumeCreate, volumeInspect, volumeLs, volumePrune, volumeRm } from "./volume.js";

interface H {
  c: ControllerHarness;
  ctx: CommandContext;
  out: Capture;
  err: Capture;
  /** Clears the captured output. */
  reset(): void;
  close(): Promise<void>;
}

async function start(): Promise<H> {
  const c = await startController();
  const dir = mkdtempSync(path.join(tmpdir(), "berth-vn-"));
  const socketPath = path.join(dir, "berth.sock");
  const server = new ApiServer(c.controller.api, { socketPath, logger: pino({ level: "silent" }) });
  await server.listen();
  const out = new Capture();
  const err = new Capture();
  const ctx: CommandContext = { client: new ApiClient(socketPath), stdout: out, stderr: err, stdin: Readable.from([]), clock: c.clock, interrupt: () => new AbortController().signal };
  return {
    c,
    ctx,
    out,
    err,
    reset() {
      out.text = "";
      err.text = "";
    },
    async close() {
      await server.close();
      await c.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const create = { opt: [] as string[], label: [] as string[] };
const ls = { quiet: false, filter: [] as string[] };

describe("berth volume", () => {
  let h: H;
  beforeEach(async () => {
    h = await start();
  });
  afterEach(() => h.close());

  it("create applies a Volume object in stack cli: an object like any other, made by its reconcile, left alone by apply --prune of another stack", async () => {
    expect(await volumeCreate(h.ctx, "data", { ...create, label: ["team=web"] })).toBe(0);
    expect(h.out.text).toBe("data\n");
    await h.c.settle();
    const view = await h.c.controller.api.get("Volume", "data");
    expect(view.metadata).toMatchObject({ stack: "cli", labels: { team: "web" }, annotations: { "berth.dev/created-by": "volume-create" } });
    expect(view.status).toMatchObject({ ready: true, mountpoint: expect.any(String) });
    expect((await h.c.volumes.inspect("data")).labels).toMatchObject({ team: "web", "berth.stack": "cli", "berth.object": "volume/data" });

    await h.c.apply(containerYaml("web"), { stack: "shop", prune: true });
    expect((await h.c.controller.api.get("Volume", "data")).metadata.stack).toBe("cli");

    // The same create again prints the name (Docker's no-op); other options are AlreadyExists.
    h.reset();
    expect(await volumeCreate(h.ctx, "data", { ...create, label: ["team=web"] })).toBe(0);
    expect(h.out.text).toBe("data\n");
    await expect(volumeCreate(h.ctx, "data", { ...create, opt: ["type=tmpfs"] })).rejects.toMatchObject({ kind: "AlreadyExists", message: expect.stringContaining("create volume data: a volume of that name exists (stack cli)") });
  });

  it("create with no name makes an anonymous volume with a generated name; --opt as Docker's tmpfs spelling", async () => {
    expect(await volumeCreate(h.ctx, undefined, { ...create, opt: ["type=tmpfs", "device=tmpfs", "o=size=64m,mode=1777"], stack: "tools" })).toBe(0);
    const name = h.out.text.trim();
    expect(name).toMatch(/^[0-9a-f]{63}$/);
    await h.c.settle();
    const v = await h.c.controller.api.get("Volume", name);
    expect(v.metadata).toMatchObject({ stack: "tools", annotations: { "berth.dev/anonymous": "true" } });
    expect(v.spec).toMatchObject({ options: { type: "tmpfs", sizeBytes: 64 * 1024 * 1024, mode: 0o1777 } });
    expect((await h.c.volumes.inspect(name)).options).toEqual({ type: "tmpfs", size: String(64 * 1024 * 1024), mode: "1777" });
  });

  it("create refuses what the local driver cannot make, and invalid labels as the daemon's validation says, before anything exists", async () => {
    await expect(volumeCreate(h.ctx, "x", { ...create, opt: ["device=/dev/sdb"] })).rejects.toMatchObject({ kind: "NotImplemented", message: expect.stringContaining("option device=/dev/sdb is not supported") });
    await expect(volumeCreate(h.ctx, "x", { ...create, opt: ["size=1g"] })).rejects.toMatchObject({ kind: "InvalidArgument", message: "create volume: size and mode are options of type=tmpfs" });
    await expect(volumeCreate(h.ctx, "x", { ...create, label: ["bad key=1"] })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringMatching(/^create volume x: metadata\.labels/) });
    await expect(volumeCreate(h.ctx, "Bad_Name", create)).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(volumeCreate(h.ctx, "x", { ...create, opt: ["nokv"] })).rejects.toBeInstanceOf(UsageError);
    expect(h.c.controller.api.list("Volume", {})).resolves.toEqual([]);
  });

  it("ls lists objects and the volumes the runtime made for mounts without one, with who mounts them; filters as Docker's", async () => {
    await volumeCreate(h.ctx, "data", create);
    await volumeCreate(h.ctx, "spare", { ...create, label: ["tier=cold"] });
    await h.c.apply(containerYaml("web", "mounts: ['data:/data', 'cache:/cache', '/scratch']"), { stack: "shop" });
    h.reset();
    expect(await volumeLs(h.ctx, ls)).toBe(0);
    const lines = h.out.text.trim().split("\n");
    expect(lines[0]).toMatch(/^DRIVER\s+VOLUME NAME\s+STACK\s+USED BY$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/))).toEqual([
      ["local", "cache", "shop", "web"],
      ["local", "data", "cli", "web"],
      ["local", "spare", "cli"],
      ["local", expect.stringMatching(/^web-anon-[0-9a-f]{12}$/), "shop", "web"],
    ]);
    h.reset();
    await volumeLs(h.ctx, { ...ls, quiet: true, filter: ["dangling=true"] });
    expect(h.out.text).toBe("spare\n");
    h.reset();
    await volumeLs(h.ctx, { ...ls, quiet: true, filter: ["label=tier=cold"] });
    expect(h.out.text).toBe("spare\n");
    h.reset();
    await volumeLs(h.ctx, { ...ls, quiet: true, filter: ["name=ca", "name=sp"] });
    expect(h.out.text).toBe("cache\nspare\n");
    h.reset();
    await volumeLs(h.ctx, { ...ls, format: "json", filter: ["name=spare"] });
    expect(JSON.parse(h.out.text)).toEqual({ Driver: "local", Labels: "tier=cold", Mountpoint: expect.any(String), Name: "spare", Scope: "local", Stack: "cli" });
    h.reset();
    await volumeLs(h.ctx, { ...ls, output: "name", filter: ["name=data"] });
    expect(h.out.text).toBe("volume/data\n");
    await expect(volumeLs(h.ctx, { ...ls, filter: ["size=1"] })).rejects.toThrow('invalid filter "size": this command takes dangling, label, name, driver');
  });

  it("inspect is Docker-shaped; a missing name is NotFound after the others are printed", async () => {
    await volumeCreate(h.ctx, "data", { ...create, label: ["a=b"] });
    await h.c.settle();
    h.reset();
    await expect(volumeInspect(h.ctx, ["data", "nope"])).rejects.toMatchObject({ kind: "NotFound", message: "inspect volume nope: no such volume" });
    const [v] = JSON.parse(h.out.text);
    const rec = await h.c.volumes.inspect("data");
    expect(v).toEqual({
      CreatedAt: rec.createdAt,
      Driver: "local",
      Labels: { a: "b" },
      Mountpoint: rec.mountpoint,
      Name: "data",
      Options: null,
      Scope: "local",
      Berth: { Stack: "cli", Object: true, Anonymous: false, Exists: true, UsedBy: [] },
    });
  });

  it("rm is refused while a desired container mounts it, naming it (exit 5); -f deletes the object anyway; a free one goes", async () => {
    await volumeCreate(h.ctx, "data", create);
    await volumeCreate(h.ctx, "free", create);
    await h.c.apply(containerYaml("web", "mounts: ['data:/data']"), { stack: "shop" });
    h.reset();
    expect(await volumeRm(h.ctx, ["data", "free"], { force: false })).toBe(5);
    expect(h.err.text).toBe("berth: remove volume data: it is in use by container web (desired: a manifest mounts it); remove that container first, or -f to delete the volume object anyway\n");
    expect(h.out.text).toBe("free\n");
    await h.c.settle();
    await expect(h.c.volumes.inspect("free")).rejects.toMatchObject({ kind: "NotFound" });
    expect((await h.c.controller.api.get("Volume", "data")).metadata.name).toBe("data");
    h.reset();
    expect(await volumeRm(h.ctx, ["data", "gone"], { force: true })).toBe(0);
    expect(h.out.text).toBe("data\n");
    await expect(h.c.controller.api.get("Volume", "data")).rejects.toMatchObject({ kind: "NotFound" });
    h.reset();
    expect(await volumeRm(h.ctx, ["gone"], { force: false })).toBe(3);
    expect(h.err.text).toBe("berth: remove volume gone: no such volume\n");
  });

  it("prune removes unused anonymous volumes (objects and runtime ones), with -a unused named ones too; never a mounted one", async () => {
    await volumeCreate(h.ctx, undefined, create);
    const anon = h.out.text.trim();
    await volumeCreate(h.ctx, "named", { ...create, label: ["keep=yes"] });
    await volumeCreate(h.ctx, "used", create);
    await h.c.apply(containerYaml("web", "mounts: ['used:/u', '/scratch']") + containerYaml("tmp", "mounts: ['/t']"), { stack: "shop" });
    // The container with the anonymous /t mount goes; its runtime volume stays, unused.
    await h.c.apply(containerYaml("web", "mounts: ['used:/u', '/scratch']"), { stack: "shop", prune: true });
    const tmpAnon = (await h.c.volumes.list()).map((v) => v.name).find((n) => n.startsWith("tmp-anon-"))!;
    expect(tmpAnon).toBeDefined();

    await expect(volumePrune(h.ctx, { force: false, all: false, filter: [] })).rejects.toThrow(
      "berth volume prune: standard input is not a terminal, so there is nobody to confirm; pass -f (--force) to volume prune without asking",
    );
    h.reset();
    expect(await volumePrune(h.ctx, { force: true, all: false, filter: [] })).toBe(0);
    expect(h.out.text).toBe(`Deleted Volumes:\n${[anon, tmpAnon].sort().join("\n")}\n`);
    await h.c.settle();
    const left = () => h.c.volumes.list().then((vs) => vs.map((v) => v.name).sort());
    expect(await left()).toEqual(["named", "used", expect.stringMatching(/^web-anon-/)]);

    h.reset();
    expect(await volumePrune(h.ctx, { force: true, all: true, filter: ["label!=keep=yes"] })).toBe(0);
    expect(h.out.text).toBe("No volumes to prune.\n");
    expect(await volumePrune(h.ctx, { force: true, all: true, filter: [] })).toBe(0);
    expect(h.out.text).toContain("Deleted Volumes:\nnamed\n");
    await h.c.settle();
    expect(await left()).toEqual(["used", expect.stringMatching(/^web-anon-/)]);
  });
});

describe("berth network", () => {
  let h: H;
  beforeEach(async () => {
    h = await start();
  });
  afterEach(() => h.close());

  it("create applies a Network object that a manifest's container then joins; inspect shows it there, Docker-shaped", async () => {
    expect(await networkCreate(h.ctx, "backend", { internal: true, subnet: "10.89.7.0/24", gateway: "10.89.7.1", label: ["team=db"] })).toBe(0);
    const id = h.out.text.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await h.c.settle();
    await h.c.apply(containerYaml("db", "networks: [backend]"), { stack: "shop" });
    h.reset();
    await networkInspect(h.ctx, [id.slice(0, 12)]);
    const [n] = JSON.parse(h.out.text);
    const st = await h.c.status("db");
    const ctr = await h.c.containers.inspect("db");
    expect(n).toMatchObject({
      Name: "backend",
      Id: id,
      Driver: "bridge",
      Scope: "local",
      Internal: true,
      IPAM: { Driver: "default", Config: [{ Subnet: "10.89.7.0/24", Gateway: "10.89.7.1" }] },
      Containers: { [ctr.id]: { Name: "db", IPv4Address: st.networks![0]!.address, MacAddress: "" } },
      Labels: { team: "db" },
      Berth: { Stack: "cli", Object: true, Role: "object", UsedBy: ["db"] },
    });
    expect(st.networks![0]!.address).toMatch(/^10\.89\.7\.\d+\/24$/);
    await expect(networkCreate(h.ctx, "backend", { internal: false, label: [] })).rejects.toMatchObject({ kind: "AlreadyExists", message: "create network backend: network with name backend already exists (stack cli)" });
  });

  it("ls shows objects, stacks' default networks and the build network; rm refuses a used one and the build network, naming why", async () => {
    await networkCreate(h.ctx, "backend", { internal: false, label: [] });
    await networkCreate(h.ctx, "spare", { internal: false, label: [] });
    await h.c.apply(containerYaml("web") + containerYaml("db", "networks: [backend]"), { stack: "shop" });
    await h.c.networks.create({ name: "berth-build", internal: false, labels: { "berth.dev/build-network": "true" } });
    h.reset();
    await networkLs(h.ctx, { ...ls, noTrunc: false });
    const rows = h.out.text.trim().split("\n").map((l) => l.split(/\s{3,}/));
    expect(rows[0]).toEqual(["NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET", "STACK", "USED BY"]);
    expect(rows.slice(1).map((r) => [r[1], r[5] ?? "", r[6] ?? ""])).toEqual([
      ["backend", "cli", "db"],
      ["berth-build", expect.any(String), ""],
      ["shop-default", "shop", "web"],
      ["spare", "cli", ""],
    ]);
    expect(rows[1]![0]).toMatch(/^[0-9a-f]{12}$/);
    h.reset();
    await networkLs(h.ctx, { ...ls, quiet: false, noTrunc: false, output: "name", filter: ["type=builtin"] });
    expect(h.out.text).toBe("network/berth-build\nnetwork/shop-default\n");
    h.reset();
    await networkLs(h.ctx, { ...ls, noTrunc: false, output: "name", filter: ["dangling=true"] });
    expect(h.out.text).toBe("network/berth-build\nnetwork/spare\n");

    h.reset();
    expect(await networkRm(h.ctx, ["backend", "shop-default", "berth-build", "spare"], { force: false })).toBe(5);
    expect(h.err.text.split("\n").filter(Boolean)).toEqual([
      "berth: delete network backend: it is in use by container/db; delete it first (or delete the whole manifest: containers go before networks)",
      "berth: remove network shop-default: the default network of stack shop, in use by container web; remove that container first",
      "berth: remove network berth-build: it is berth's build network (RUN steps of image builds join it); berth makes it again for the next build",
    ]);
    expect(h.out.text).toBe("spare\n");
    await h.c.settle();
    await expect(h.c.networks.inspect("spare")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("prune removes networks nothing uses — not the build network, not a default network while its stack has containers", async () => {
    await networkCreate(h.ctx, "backend", { internal: false, label: [] });
    await networkCreate(h.ctx, "old", { internal: false, label: ["tier=x"] });
    await h.c.apply(containerYaml("web") + containerYaml("db", "networks: [backend]"), { stack: "shop" });
    await h.c.networks.create({ name: "berth-build", internal: false, labels: { "berth.dev/build-network": "true" } });
    // A default network its stack left: no container of stack gone is on it.
    await h.c.networks.create({ name: "gone-default", internal: false, labels: { "berth.stack": "gone", "berth.dev/default-network": "true" } });
    await expect(networkPrune(h.ctx, { force: false, filter: [] })).rejects.toBeInstanceOf(UsageError);
    h.reset();
    expect(await networkPrune(h.ctx, { force: true, filter: [] })).toBe(0);
    expect(h.out.text).toBe("Deleted Networks:\ngone-default\nold\n");
    await h.c.settle();
    expect((await h.c.networks.list()).map((n) => n.name).sort()).toEqual(["backend", "berth-build", "shop-default"]);
  });
});

describe("berth container prune", () => {
  let h: H;
  beforeEach(async () => {
    h = await start();
  });
  afterEach(() => h.close());

  it("removes the run stack's containers that exited for good; manifests' and restartable ones stay", async () => {
    await h.c.apply(containerYaml("once") + containerYaml("crash", "restartPolicy: on-failure") + containerYaml("svc", "restartPolicy: always") + containerYaml("ok", "restartPolicy: on-failure"), { stack: "run" });
    await h.c.apply(containerYaml("job"), { stack: "batch" });
    for (const [n, code] of [["once", 1], ["crash", 1], ["ok", 0], ["job", 0]] as const) h.c.containers.exit(n, code);
    await h.c.settle();
    expect((await h.c.status("once")).phase).toBe("Exited");
    expect((await h.c.status("job")).phase).toBe("Exited");
    h.reset();
    expect(await containerPrune(h.ctx, { force: true, filter: [] })).toBe(0);
    expect(h.out.text).toBe("Deleted Containers:\nok\nonce\n");
    await h.c.settle();
    expect((await h.c.controller.api.list("Container", {})).map((v) => v.metadata.name).sort()).toEqual(["crash", "job", "svc"]);
    await expect(containerPrune(h.ctx, { force: false, filter: [] })).rejects.toBeInstanceOf(UsageError);
  });
});
