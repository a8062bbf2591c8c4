import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LocalVolumeStore } from "../volumes/types.js";

/**
 * The VolumeStore conformance suite (with the container side, LocalVolumeStore's acquire
 * and release): the local store (runtime/volumes) and FakeVolumeStore (runtime/testing)
 * pass the same tests. Only directory volumes: tmpfs ones need root (volumes-tmpfs test).
 */
export function volumeStoreSuite(name: string, open: () => Promise<{ volumes: LocalVolumeStore; cleanup(): Promise<void> }>): void {
  describe(`VolumeStore conformance: ${name}`, () => {
    let h: { volumes: LocalVolumeStore; cleanup(): Promise<void> };
    const ctr = (n: number) => n.toString(16).padStart(64, "a");

    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it("creates idempotently for the same options; Conflict for different ones; InvalidArgument for bad input", async () => {
      const v = await h.volumes.create("data", { labels: { stack: "a" } });
      expect(v).toMatchObject({ name: "data", driver: "local", labels: { stack: "a" }, options: {} });
      expect(typeof v.mountpoint).toBe("string");
      expect(Number.isNaN(Date.parse(v.createdAt))).toBe(false);
      expect(await h.volumes.create("data", { labels: { stack: "a" } })).toEqual(v);
      await expect(h.volumes.create("data", { options: { type: "tmpfs" } })).rejects.toMatchObject({ kind: "Conflict" });
      await expect(h.volumes.create("Bad_Name")).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(h.volumes.create("odd", { options: { colour: "blue" } })).rejects.toMatchObject({ kind: "InvalidArgument" });
      await expect(h.volumes.create("odd", { options: { size: "1Mi" } })).rejects.toMatchObject({ kind: "InvalidArgument" });
      expect(await h.volumes.inspect("data")).toEqual(v);
      await expect(h.volumes.inspect("nope")).rejects.toMatchObject({ kind: "NotFound" });
    });

    it("lists by labels, by name", async () => {
      await h.volumes.create("b1", { labels: { stack: "b" } });
      await h.volumes.create("a2", { labels: { stack: "a", role: "db" } });
      await h.volumes.create("a1", { labels: { stack: "a" } });
      expect((await h.volumes.list()).map((v) => v.name)).toEqual(["a1", "a2", "b1"]);
      expect((await h.volumes.list({ stack: "a" })).map((v) => v.name)).toEqual(["a1", "a2"]);
      expect((await h.volumes.list({ stack: "a", role: "db" })).map((v) => v.name)).toEqual(["a2"]);
      expect(await h.volumes.list({ stack: "c" })).toEqual([]);
    });

    it("refuses to remove a volume in use (FailedPrecondition) unless forced; acquire creates, release frees", async () => {
      await h.volumes.acquire("shared", ctr(1));
      await h.volumes.acquire("shared", ctr(1));
      await h.volumes.acquire("shared", ctr(2));
      expect(await h.volumes.users("shared")).toEqual([ctr(1), ctr(2)]);
      await expect(h.volumes.remove("shared")).rejects.toMatchObject({ kind: "FailedPrecondition" });
      await h.volumes.release("shared", ctr(1));
      await h.volumes.release("shared", ctr(1));
      await expect(h.volumes.remove("shared")).rejects.toMatchObject({ kind: "FailedPrecondition" });
      await h.volumes.release("shared", ctr(2));
      await h.volumes.remove("shared");
      await expect(h.volumes.remove("shared")).rejects.toMatchObject({ kind: "NotFound" });
      await h.volumes.acquire("forced", ctr(3));
      await h.volumes.remove("forced", { force: true });
      await expect(h.volumes.inspect("forced")).rejects.toMatchObject({ kind: "NotFound" });
    });

    it("use gives the mountpoint of an existing volume, NotFound otherwise", async () => {
      const v = await h.volumes.create("used");
      expect(await h.volumes.use("used")).toBe(v.mountpoint);
      await expect(h.volumes.use("absent")).rejects.toMatchObject({ kind: "NotFound" });
    });
  });
}
