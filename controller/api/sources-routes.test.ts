import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../lib/clock.js";
import { notImplemented } from "../../lib/errors.js";
import { SourceManager } from "../sources/manager.js";
import { containerYaml, FakeApplyTarget } from "../sources/testing.js";
import { ApiClient } from "./client.js";
import { ApiServer } from "./server.js";
import type { ControllerApi } from "./types.js";

/** A facade that answers only version() (the server's staging asks it); sources do not use it. */
const noApi = (root: string) =>
  new Proxy({} as ControllerApi, {
    get: (_t, key) => (key === "version" ? () => ({ version: "t", pid: 1, root, runRoot: root, startedAt: "t" }) : () => Promise.reject(notImplemented(String(key)))),
  });

/** The /v1/sources routes over a real SourceManager (no watch: changes come from sync) and an in-memory apply target. */
describe("source routes", () => {
  let base: string;
  let src: string;
  let server: ApiServer;
  let bare: ApiServer;
  let client: ApiClient;
  let target: FakeApplyTarget;
  let sources: SourceManager;

  beforeEach(async () => {
    base = mkdtempSync(path.join(tmpdir(), "berth-api-src-"));
    src = path.join(base, "src");
    mkdirSync(src);
    writeFileSync(path.join(src, "web.yaml"), containerYaml("web"));
    target = new FakeApplyTarget();
    const logger = pino({ level: "silent" });
    sources = await SourceManager.open({ root: base, clock: systemClock, logger, target, watch: () => ({ ready: Promise.resolve(), close: async () => {} }) });
    server = new ApiServer(noApi(base), { socketPath: path.join(base, "api.sock"), logger, sources });
    bare = new ApiServer(noApi(base), { socketPath: path.join(base, "bare.sock"), logger });
    await server.listen();
    await bare.listen();
    client = new ApiClient(path.join(base, "api.sock"));
  });
  afterEach(async () => {
    await server.close();
    await bare.close();
    await sources.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it("register, list, get, plan, sync and unregister through the client", async () => {
    const v = await client.registerSource({ stack: "shop", dir: src, sync: "manual", allow: ["hostNetwork"] });
    expect(v).toMatchObject({ stack: "shop", state: "OutOfSync", sync: "manual", prune: true, allow: ["hostNetwork"], plan: { changes: [{ kind: "Container", name: "web", action: "created" }] } });
    expect((await client.listSources()).map((s) => s.stack)).toEqual(["shop"]);
    expect((await client.sourcePlan("shop")).revision).toBe(v.revision);
    expect(await client.syncSource("shop")).toMatchObject({ stack: "shop", applied: true, changes: [{ name: "web", action: "created" }] });
    expect((await client.getSource("shop")).state).toBe("Synced");
    expect((await client.sourcePlan("shop")).changes).toEqual([]);
    await expect(client.registerSource({ stack: "shop", dir: src })).rejects.toMatchObject({ kind: "AlreadyExists" });
    expect(await client.unregisterSource("shop")).toEqual({ stack: "shop", kept: false, changes: [{ kind: "Container", name: "web", action: "deleted" }] });
    await expect(client.getSource("shop")).rejects.toMatchObject({ kind: "NotFound", message: expect.stringContaining("no source is watched as this stack") });
  });

  it("refuses bad registrations before anything is stored", async () => {
    await expect(client.registerSource({ stack: "x", dir: "relative/dir" })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("absolute") });
    await expect(client.registerSource({ stack: "x", dir: path.join(base, "nope") })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("no such directory") });
    await expect(client.registerSource({ stack: "x" })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("exactly one") });
    await expect(client.request("POST", "/v1/sources", { stack: "x", dir: src, allow: ["root"] })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("watch: body.allow[0]") });
    await expect(client.request("POST", "/v1/sources", { stack: "x", git: { url: "--upload-pack=touch /tmp/x" } })).rejects.toMatchObject({ kind: "InvalidArgument" });
    expect(await client.listSources()).toEqual([]);
  });

  it("is NotImplemented on a server without sources", async () => {
    await expect(new ApiClient(path.join(base, "bare.sock")).listSources()).rejects.toMatchObject({ kind: "NotImplemented" });
  });
});
