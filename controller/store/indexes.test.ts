import { describe, expect, it } from "vitest";
import type { AnyObject, HealthCheckObject, ImageObject } from "../manifests/model.js";
import { containerObject, healthcheck } from "../testing.js";
import { DesiredStore } from "./desired-store.js";
import { DesiredIndexes } from "./indexes.js";

const image = (name: string, reference: string): ImageObject => ({
  apiVersion: "berth/v1",
  kind: "Image",
  metadata: { name, labels: {}, annotations: {} },
  spec: { reference, source: { type: "pull", reference }, pullPolicy: "ifNotPresent" } as ImageObject["spec"],
});
const check = (name: string, target: HealthCheckObject["spec"]["target"]): HealthCheckObject => ({
  apiVersion: "berth/v1",
  kind: "HealthCheck",
  metadata: { name, labels: {}, annotations: {} },
  spec: { target, check: healthcheck() } as HealthCheckObject["spec"],
});

async function indexed(objects: AnyObject[]) {
  const desired = DesiredStore.inMemory();
  const indexes = new DesiredIndexes(desired);
  await desired.apply("s", objects);
  return { desired, indexes };
}

describe("DesiredIndexes", () => {
  const web = containerObject("web", {
    image: "localhost/web:1",
    mounts: [{ type: "volume", source: "data", target: "/data", readOnly: false }],
    networks: [{ name: "front", aliases: [] }] as never,
    dependsOn: [{ name: "db", condition: "healthy" }],
  }, { tier: "web" });
  const db = containerObject("db", { image: "localhost/db:1", mounts: [{ type: "volume", source: "data", target: "/d", readOnly: false }] }, { tier: "db" });

  it("finds containers by image, volume, network and dependency, and images by reference", async () => {
    const { indexes } = await indexed([web, db, image("webimg", "localhost/web:1")]);
    expect(indexes.containersUsingImage("localhost/web:1")).toEqual(["container/web"]);
    expect(indexes.containersUsingVolume("data")).toEqual(["container/db", "container/web"]);
    expect(indexes.containersOnNetwork("front")).toEqual(["container/web"]);
    expect(indexes.dependentsOf("db")).toEqual(["container/web"]);
    expect(indexes.dependentsOf("web")).toEqual([]);
    expect(indexes.imageProviding("localhost/web:1")?.key).toBe("image/webimg");
    expect(indexes.imageProviding("localhost/db:1")).toBeUndefined();
    expect(indexes.keysOfKind("Container")).toEqual(["container/db", "container/web"]);
  });

  it("follows applies and deletes: a changed image moves, a deleted object is gone", async () => {
    const { desired, indexes } = await indexed([web, db]);
    await desired.apply("s", [{ ...web, spec: { ...web.spec, image: "localhost/web:2", dependsOn: [] } }, db]);
    expect(indexes.containersUsingImage("localhost/web:1")).toEqual([]);
    expect(indexes.containersUsingImage("localhost/web:2")).toEqual(["container/web"]);
    expect(indexes.dependentsOf("db")).toEqual([]);
    await desired.delete("container/db");
    expect(indexes.containersUsingVolume("data")).toEqual(["container/web"]);
    expect(indexes.keysOfKind("Container")).toEqual(["container/web"]);
  });

  it("attaches a HealthCheck by name before any selector, selectors in name order", async () => {
    const { desired, indexes } = await indexed([web, db, check("b-sel", { selector: { matchLabels: { tier: "web" } } }), check("a-sel", { selector: { matchLabels: { tier: "web" } } })]);
    expect(indexes.checkFor(web)?.metadata.name).toBe("a-sel");
    expect(indexes.checkFor(db)).toBeUndefined();
    expect(indexes.containersCheckedBy(check("a-sel", { selector: { matchLabels: { tier: "web" } } }))).toEqual(["container/web"]);
    expect(indexes.containersCheckedBy(check("b-sel", { selector: { matchLabels: { tier: "web" } } }))).toEqual([]);
    await desired.apply("s", [web, db, check("z-name", { name: "web" }), check("a-sel", { selector: { matchLabels: { tier: "web" } } })], { prune: true });
    expect(indexes.checkFor(web)?.metadata.name).toBe("z-name");
    expect(indexes.containersCheckedBy(check("z-name", { name: "web" }))).toEqual(["container/web"]);
    expect(indexes.containersCheckedBy(check("a-sel", { selector: { matchLabels: { tier: "web" } } }))).toEqual([]);
  });

  it("a dry run changes no index", async () => {
    const { desired, indexes } = await indexed([web]);
    await desired.apply("s", [db], { prune: true, dryRun: true });
    expect(indexes.keysOfKind("Container")).toEqual(["container/web"]);
  });
});
