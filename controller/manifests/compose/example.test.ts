import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadManifests } from "../load.js";
import type { ContainerObject } from "../model.js";

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples/compose");

describe("examples/compose", () => {
  it("converts to the shop stack: one built image, four containers gated by health, two networks, a volume", async () => {
    const r = await loadManifests([path.join(dir, "compose.yaml")], { compose: { env: {} } });
    expect(r.diagnostics).toEqual([]);
    expect(r.composeStack).toBe("shop");
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Image/shop-web", "Container/shop-web", "Container/shop-api", "Container/shop-db", "Container/shop-cache",
      "Network/shop-front", "Network/shop-back", "Volume/shop-db-data",
    ]);
    const c = (n: string) => r.objects.find((o) => o.kind === "Container" && o.metadata.name === n) as ContainerObject;
    expect(c("shop-web").spec.ports).toEqual([{ containerPort: 80, hostPort: 8088, hostIP: "127.0.0.1", protocol: "tcp" }]);
    expect(c("shop-web").spec.dependsOn).toEqual([{ name: "shop-api", condition: "healthy" }]);
    expect(c("shop-api").spec.env).toContainEqual({ name: "SHOP_NAME", value: "the berth shop" });
    expect(c("shop-api").spec.dependsOn).toEqual([{ name: "shop-db", condition: "healthy" }, { name: "shop-cache", condition: "started" }]);
    expect(c("shop-cache").spec.networks).toEqual([{ name: "shop-back", aliases: ["cache", "redis"] }]);
    expect(c("shop-db").spec.mounts.map((m) => m.target)).toEqual(["/data", "/run/secrets/db_password"]);
    for (const n of ["shop-web", "shop-api", "shop-db", "shop-cache"]) {
      expect(c(n).spec.image).toBe("localhost/shop-base:latest");
      expect(c(n).spec.resources).toEqual({ memoryBytes: 64 * 1024 * 1024, pids: 64 });
      expect(c(n).spec.restartPolicy.name).toBe("unless-stopped");
    }
    expect(r.hostGrants).toBeUndefined();
  });
});
