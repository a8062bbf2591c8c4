import { describe, expect, it } from "vitest";
import type { NetworkState, VolumeRecord } from "../../runtime/types.js";
import type { StoredObject } from "../store/types.js";
import { networkId, networkItems, volumeItems } from "./local-stores.js";

const stored = (kind: "Volume" | "Network", name: string, stack: string, spec: unknown, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): StoredObject =>
  ({
    key: `${kind.toLowerCase()}/${name}`,
    kind,
    name,
    stack,
    generation: 1,
    createdAt: "2024-05-01T10:00:00.000Z",
    updatedAt: "2024-05-01T10:00:00.000Z",
    object: { apiVersion: "berth/v1", kind, metadata: { name, labels: meta.labels ?? {}, annotations: meta.annotations ?? {} }, spec },
  }) as StoredObject;

const volRec = (name: string, labels: Record<string, string> = {}, options: Record<string, string> = {}): VolumeRecord => ({ name, driver: "local", labels, options, mountpoint: `/v/${name}`, createdAt: "2024-05-01T11:00:00.000Z" });

describe("volumeItems", () => {
  it("joins objects with the runtime's volumes by name; undeclared ones carry the runtime's stack label, anonymous by their runtime name", () => {
    const objects = [
      { stored: stored("Volume", "data", "cli", { driver: "local", options: {} }, { labels: { a: "b" } }) },
      { stored: stored("Volume", "pending", "cli", { driver: "local", options: { type: "tmpfs", sizeBytes: 1024, mode: 0o1777 } }, { annotations: { "berth.dev/anonymous": "true" } }), message: "create volume pending: boom" },
    ];
    const runtime = [volRec("data", { a: "b", "berth.stack": "cli", "berth.object": "volume/data" }), volRec("cache", { "berth.stack": "shop" }), volRec("web-anon-0123456789ab", { "berth.stack": "shop" })];
    const users: Record<string, string[]> = { data: ["web"], "web-anon-0123456789ab": ["web"] };
    expect(volumeItems(objects, runtime, (n) => users[n] ?? [])).toEqual([
      { name: "cache", driver: "local", declared: false, stack: "shop", anonymous: false, labels: {}, options: {}, mountpoint: "/v/cache", createdAt: "2024-05-01T11:00:00.000Z", exists: true, usedBy: [] },
      { name: "data", driver: "local", declared: true, stack: "cli", anonymous: false, labels: { a: "b" }, options: {}, mountpoint: "/v/data", createdAt: "2024-05-01T11:00:00.000Z", exists: true, usedBy: ["web"] },
      // Not made yet: the options its reconcile will make it with, the object's time, its status message.
      { name: "pending", driver: "local", declared: true, stack: "cli", anonymous: true, labels: {}, options: { type: "tmpfs", size: "1024", mode: "1777" }, createdAt: "2024-05-01T10:00:00.000Z", exists: false, usedBy: [], message: "create volume pending: boom" },
      { name: "web-anon-0123456789ab", driver: "local", declared: false, stack: "shop", anonymous: true, labels: {}, options: {}, mountpoint: "/v/web-anon-0123456789ab", createdAt: "2024-05-01T11:00:00.000Z", exists: true, usedBy: ["web"] },
    ]);
  });
});

describe("networkItems", () => {
  const netState = (name: string, labels: Record<string, string>, containers: string[] = []): NetworkState => ({ name, bridge: `br-${name}`, subnet: "10.89.1.0/24", gateway: "10.89.1.1", internal: false, labels, createdAt: "2024-05-01T11:00:00.000Z", containers });

  it("roles from the labels berth puts on its own networks; IDs stable for an object across its runtime network's creation; attachments with ids and addresses", () => {
    const obj = stored("Network", "backend", "cli", { driver: "bridge", internal: true, subnet: "10.89.9.0/24" }, { labels: { t: "1" } });
    const before = networkItems({ objects: [obj], runtime: [], attachments: [], containers: [], usersOf: () => [] });
    expect(before).toEqual([
      { name: "backend", id: networkId("backend", "2024-05-01T10:00:00.000Z"), driver: "bridge", declared: true, role: "object", stack: "cli", exists: false, subnet: "10.89.9.0/24", internal: true, labels: { t: "1" }, createdAt: "2024-05-01T10:00:00.000Z", usedBy: [], containers: [] },
    ]);
    const after = networkItems({
      objects: [obj],
      runtime: [
        { ...netState("backend", { "berth.object": "network/backend" }, ["db"]), subnet: "10.89.9.0/24", gateway: "10.89.9.1", internal: true },
        netState("shop-default", { "berth.stack": "shop", "berth.dev/default-network": "true" }),
        netState("berth-build", { "berth.dev/build-network": "true" }),
        netState("stray", { x: "y" }),
      ],
      attachments: [{ network: "backend", container: "db", ifname: "eth0", hostIfname: "v1", address: "10.89.9.2", prefixLength: 24, gateway: "10.89.9.1", names: ["db"] }],
      containers: [{ id: "f".repeat(64), name: "db" }],
      usersOf: (n) => (n === "backend" ? ["db"] : n === "shop-default" ? ["web"] : []),
    });
    expect(after[0]).toMatchObject({ name: "backend", id: before[0]!.id, exists: true, gateway: "10.89.9.1", bridge: "br-backend", createdAt: "2024-05-01T11:00:00.000Z", usedBy: ["db"], containers: [{ name: "db", id: "f".repeat(64), address: "10.89.9.2/24" }] });
    expect(after.map((n) => [n.name, n.role, n.stack ?? "", n.usedBy, n.labels])).toEqual([
      ["backend", "object", "cli", ["db"], { t: "1" }],
      ["berth-build", "build", "", [], { "berth.dev/build-network": "true" }],
      ["shop-default", "default", "shop", ["web"], { "berth.dev/default-network": "true" }],
      ["stray", "other", "", [], { x: "y" }],
    ]);
  });
});
