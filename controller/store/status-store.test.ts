import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StatusStore } from "./status-store.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "berth-status-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("StatusStore", () => {
  it("keeps one typed record per key, empty ones of the asked kind, and persists on flush", async () => {
    const dir = tmp();
    const s = await StatusStore.open(dir);
    expect(s.get("container/web", "Container")).toEqual({ kind: "Container", ready: false, restart: { restartCount: 0, retries: 0, lastBackoffMs: 0 } });
    s.update("container/web", "Container", (r) => {
      r.restart.restartCount = 2;
      r.observedGeneration = 3;
    });
    s.update("volume/data", "Volume", (r) => void (r.mountpoint = "/v/data"));
    await s.flush();
    const again = await StatusStore.open(dir);
    expect(again.get("container/web", "Container").restart.restartCount).toBe(2);
    expect(again.get("container/web", "Container").observedGeneration).toBe(3);
    expect(again.get("volume/data", "Volume").mountpoint).toBe("/v/data");
    again.delete("volume/data");
    await again.flush();
    expect(JSON.parse(readFileSync(path.join(dir, "status.json"), "utf8"))).toMatchObject({ version: 2, objects: { "container/web": { kind: "Container" } } });
    expect((await StatusStore.open(dir)).has("volume/data")).toBe(false);
  });

  it("converts a version 1 file (untyped records with details)", async () => {
    const dir = tmp();
    writeFileSync(
      path.join(dir, "status.json"),
      JSON.stringify({
        version: 1,
        objects: {
          "container/web": { restart: { restartCount: 4, lastBackoffMs: 800, lastStop: { cause: "user", atMs: 5 } }, nextRestartAtMs: 9, ready: false, reason: "CrashLoopBackOff" },
          "image/busybox": { restart: { restartCount: 0, lastBackoffMs: 0 }, ready: true, details: { digest: "sha256:aa", id: "sha256:bb", size: 10, importedGeneration: 2 } },
          "healthcheck/hc": { restart: { restartCount: 0, lastBackoffMs: 0 }, ready: true, details: { matched: ["web", 3] } },
          "bogus/x": { ready: true },
        },
      }),
    );
    const s = await StatusStore.open(dir);
    expect(s.get("container/web", "Container")).toEqual({
      kind: "Container",
      ready: false,
      reason: "CrashLoopBackOff",
      restart: { restartCount: 4, retries: 4, lastBackoffMs: 800, lastStop: { cause: "user", atMs: 5 } },
      nextRestartAtMs: 9,
    });
    expect(s.get("image/busybox", "Image")).toEqual({ kind: "Image", ready: true, digest: "sha256:aa", id: "sha256:bb", size: 10, importedGeneration: 2 });
    expect(s.get("healthcheck/hc", "HealthCheck").matched).toEqual(["web"]);
    expect(s.has("bogus/x")).toBe(false);
  });

  it("ignores an unreadable file (status is re-observed) and a record of the wrong kind", async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, "status.json"), "{ torn");
    expect((await StatusStore.open(dir)).has("container/web")).toBe(false);
    writeFileSync(path.join(dir, "status.json"), JSON.stringify({ version: 2, objects: { "container/web": { kind: "Image", ready: true } } }));
    const s = await StatusStore.open(dir);
    expect(s.has("container/web")).toBe(false);
    expect(s.get("container/web", "Container").kind).toBe("Container");
  });

  it("coalesces writes and an in-memory store never writes", async () => {
    const dir = tmp();
    const s = await StatusStore.open(dir, { writeDelayMs: 10 });
    for (let i = 0; i < 50; i++) s.update("container/web", "Container", (r) => void (r.restart.restartCount = i));
    await new Promise((r) => setTimeout(r, 50));
    await s.flush();
    expect(JSON.parse(readFileSync(path.join(dir, "status.json"), "utf8")).objects["container/web"].restart.restartCount).toBe(49);
    const m = StatusStore.inMemory();
    m.update("container/x", "Container", () => {});
    await m.flush();
    expect(m.has("container/x")).toBe(true);
  });
});
