import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ago, containerView, genericView, startHarness, type Harness } from "../testing.js";
import { runGet } from "./get.js";

describe("berth get", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    const now = Date.now();
    h.fake.put(containerView("web", { startedAt: ago(3 * 60_000, now), health: "healthy", pid: 42 }, {}, { labels: { app: "web" }, createdAt: ago(3 * 60_000, now) }));
    h.fake.put(containerView("db", { phase: "Restarting", exitCode: 1, finishedAt: ago(5_000, now), restartCount: 2, lastRestartAt: ago(5_000, now) }, {}, { createdAt: ago(3 * 60_000, now) }));
    h.fake.put(genericView("Volume", "data", {}, { createdAt: ago(4 * 86_400_000, now) }));
  });
  afterEach(() => h.close());

  it("lists a kind as a table", async () => {
    expect(await runGet(h.ctx, ["ctr"], {})).toBe(0);
    const lines = h.stdout.text.split("\n");
    expect(lines[0]).toMatch(/^NAME +IMAGE +STATUS +RESTARTS +AGE$/);
    expect(lines[1]).toMatch(/^web +docker\.io\/library\/busybox:latest +Up 3 minutes \(healthy\) +0 +3m$/);
    expect(lines[2]).toMatch(/^db +\S+ +Restarting \(1\) 5 seconds ago +2 \(5s ago\) +3m$/);
  });

  it("filters by label and shows wide columns", async () => {
    expect(await runGet(h.ctx, ["containers"], { selector: "app=web", output: "wide" })).toBe(0);
    expect(h.stdout.text).toMatch(/PID +IP +PORTS +STACK +REASON\nweb .* 42 +- +- +demo +-\n$/);
    expect(h.stdout.text).not.toContain("db");
  });

  it("wide shows a container's addresses and published ports (docker's PORTS)", async () => {
    const now = Date.now();
    h.fake.put(
      containerView(
        "api",
        { startedAt: ago(60_000, now), pid: 43, networks: [{ network: "demo-default", address: "172.18.0.3/16", gateway: "172.18.0.1", aliases: [] }], ports: [{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80 }] },
        {},
        { labels: { app: "api" }, createdAt: ago(60_000, now) },
      ),
    );
    expect(await runGet(h.ctx, ["containers"], { selector: "app=api", output: "wide" })).toBe(0);
    expect(h.stdout.text).toMatch(/\napi .* 43 +172\.18\.0\.3 +127\.0\.0\.1:8080->80\/tcp +demo +-\n$/);
  });

  it("lists every kind in tables separated by a blank line, names prefixed", async () => {
    expect(await runGet(h.ctx, [], {})).toBe(0);
    const blocks = h.stdout.text.split("\n\n");
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toMatch(/^NAME +READY +STATUS +AGE\nvolume\/data +True +Ready +4d\n?$/);
    expect(blocks[1]).toMatch(/^NAME +IMAGE/);
    expect(blocks[1]).toContain("container/web ");
  });

  it("prints one object as json or yaml, several as {items}", async () => {
    await runGet(h.ctx, ["container", "web"], { output: "json" });
    expect(JSON.parse(h.stdout.text)).toMatchObject({ kind: "Container", metadata: { name: "web" } });
    h.stdout.text = "";
    await runGet(h.ctx, ["container/web"], { output: "yaml" });
    expect(parse(h.stdout.text)).toMatchObject({ kind: "Container", metadata: { name: "web" } });
    h.stdout.text = "";
    await runGet(h.ctx, ["containers"], { output: "json" });
    const list = JSON.parse(h.stdout.text);
    expect(list.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(["web", "db"]);
    h.stdout.text = "";
    await runGet(h.ctx, [], { output: "yaml" });
    expect(parse(h.stdout.text).items).toHaveLength(3);
  });

  it("prints names with -o name", async () => {
    await runGet(h.ctx, [], { output: "name" });
    expect(h.stdout.text).toBe("volume/data\ncontainer/web\ncontainer/db\n");
  });

  it("says when nothing is found, on stderr", async () => {
    expect(await runGet(h.ctx, ["networks"], {})).toBe(0);
    expect(h.stdout.text).toBe("");
    expect(h.stderr.text).toBe("No networks found.\n");
  });

  it("refuses unknown kinds with a suggestion, and reports NotFound", async () => {
    await expect(runGet(h.ctx, ["contaners"], {})).rejects.toThrow(/unknown kind "contaners"; did you mean "containers"\?/);
    await expect(runGet(h.ctx, ["container", "nope"], {})).rejects.toMatchObject({ kind: "NotFound", message: "get container nope: not found" });
  });
});
