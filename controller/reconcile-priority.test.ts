/** The order the controller takes ready work in: the critical path of a stack's start first. */
import { describe, expect, it } from "vitest";
import { dependentChain, reconcilePriority } from "./controller.js";
import type { DesiredStore } from "./store/desired-store.js";
import { containerYaml, startHarness } from "./testing.js";

/** db ← api ← web ← proxy, cache ← api; two leaves no one waits for. */
const graph: Record<string, string[]> = { db: ["api"], cache: ["api"], api: ["web"], web: ["proxy"], proxy: [], mailer: [], metrics: [] };
const dependentsOf = (name: string) => (graph[name] ?? []).map((n) => `container/${n}`);

describe("reconcile priority", () => {
  it("counts the levels of dependents waiting on a container", () => {
    expect(["db", "cache", "api", "web", "proxy", "mailer"].map((n) => dependentChain(n, dependentsOf))).toEqual([3, 3, 2, 1, 0, 0]);
  });

  it("cuts a cycle where it closes, and stays linear on a graph with many paths", () => {
    const cyc: Record<string, string[]> = { a: ["b"], b: ["c"], c: ["a"] };
    expect(dependentChain("a", (n) => (cyc[n] ?? []).map((x) => `container/${x}`))).toBe(2);
    // 30 layers of 3, each depending on all 3 of the layer below: 3^30 paths, answered at once.
    const layered = (n: string) => {
      const layer = Number(n.split("-")[1]);
      return layer >= 29 ? [] : [0, 1, 2].map((i) => `container/l-${layer + 1}-${i}`);
    };
    expect(dependentChain("l-0-0", layered)).toBe(29);
  });

  it("puts networks and volumes first (the one whose containers start the longest chain first), then containers by their chain of dependents, longest first", () => {
    const kinds: Record<string, string> = { "network/back": "Network", "network/front": "Network", "network/unused": "Network", "volume/data": "Volume" };
    const desired = {
      get: (key: string) => {
        const [k, name] = key.split("/") as [string, string];
        return { object: { kind: kinds[key] ?? (k === "container" ? "Container" : "Image"), metadata: { name } } };
      },
    } as unknown as DesiredStore;
    const graph = {
      dependentsOf,
      containersOnNetwork: (n: string) => ({ back: ["container/db", "container/api"], front: ["container/proxy", "container/web"] })[n] ?? [],
      containersUsingVolume: (n: string) => (n === "data" ? ["container/db"] : []),
    };
    const p = (key: string) => reconcilePriority(desired, key, graph);
    // The network of the chain's bottom (db, on back) before the one of its top (proxy, web on front).
    expect(p("network/back")).toBeLessThan(p("network/front"));
    expect(p("network/front")).toBeLessThan(0);
    expect(p("volume/data")).toBe(p("network/back"));
    expect(p("network/unused")).toBe(0);
    expect(p("network/front")).toBeLessThan(p("container/db"));
    expect(p("container/db")).toBeLessThan(p("container/api"));
    expect(p("container/api")).toBeLessThan(p("container/web"));
    expect(p("container/web")).toBeLessThan(p("container/proxy"));
    expect(p("container/proxy")).toBe(p("container/mailer"));
    expect(p("network/back")).toBeLessThan(p("container/db"));
  });

  it("a stack apply creates the bottom of the longest chain before a leaf queued ahead of it", async () => {
    const h = await startHarness({ concurrency: 1 });
    try {
      const yaml =
        containerYaml("aa-leaf") +
        containerYaml("ab-leaf") +
        containerYaml("zdb") +
        containerYaml("zapi", "dependsOn: [{name: zdb}]") +
        containerYaml("zweb", "dependsOn: [{name: zapi}]");
      await h.apply(yaml);
      const order = h.containers.calls.filter((c) => c.method === "create").map((c) => String((c.args[0] as { name: string }).name));
      // aa-leaf may be taken the moment it is queued, before the rest of the stack is; of
      // what was queued together, the chain's bottom goes first, in name order or not.
      expect(order).toHaveLength(5);
      expect(order.indexOf("zdb")).toBeLessThan(order.indexOf("ab-leaf"));
      expect(order.indexOf("zapi")).toBeLessThan(order.indexOf("ab-leaf"));
    } finally {
      await h.close();
    }
  });
});
