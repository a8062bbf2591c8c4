import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ago, containerView, genericView, NOW, startHarness, type Harness } from "../testing.js";
import { formatDescribe, runDescribe } from "./describe.js";

describe("berth describe", () => {
  it("formats metadata, spec, status, health results and events", () => {
    const view = containerView(
      "web",
      {
        health: "unhealthy",
        restartCount: 2,
        lastRestartAt: ago(60_000),
        startedAt: ago(60_000),
        pid: 77,
        reason: "Unhealthy",
        message: "3 failed probes",
        healthResults: [{ start: "2024-05-01T11:59:30Z", end: "2024-05-01T11:59:31Z", result: "failure", output: "curl: (7) refused\n" }],
      },
      { healthcheck: { intervalMs: 30000 } },
      { labels: { app: "web", tier: "front" }, generation: 3 },
    );
    const text = formatDescribe(view, [{ seq: 1, time: ago(30_000), type: "Warning", reason: "Unhealthy", object: "container/web", message: "probe failed" }], NOW);
    expect(text).toContain("Name:        web\nKind:        Container\nStack:       demo\nLabels:      app=web\n             tier=front\nAnnotations: <none>\nGeneration:  3\nCreated:     2024-05-01T11:57:00.000Z (3m ago)\n");
    expect(text).toContain("Spec:\n  image: docker.io/library/busybox:latest\n  restartPolicy:\n    name: always\n");
    expect(text).toContain("  Phase:          Running\n  Health:         unhealthy\n  Restart Count:  2\n");
    expect(text).toContain("  PID:            77\n");
    expect(text).toContain("  Reason:         Unhealthy\n  Message:        3 failed probes\n");
    expect(text).toMatch(/Health:\n  TIME +RESULT +OUTPUT\n  2024-05-01T11:59:30Z +failure +curl: \(7\) refused\n/);
    expect(text).toMatch(/Events:\n  TYPE +REASON +AGE +MESSAGE\n  Warning +Unhealthy +30s +probe failed\n$/);
  });

  it("prints the status fields of other kinds and <none> without events", () => {
    const text = formatDescribe(genericView("Volume", "data", { ready: true, mountpoint: "/var/lib/berth/volumes/data" }), [], NOW);
    expect(text).toContain("Status:\n  Ready:          true\n  Mountpoint:     /var/lib/berth/volumes/data\nEvents:\n  <none>\n");

    const image = formatDescribe(genericView("Image", "app", { ready: true, digest: "sha256:aa", id: "sha256:bb", size: 1024, observedGeneration: 2 }, { generation: 3 }), [], NOW);
    expect(image).toContain("Generation:  3 (status reflects 2)\n");
    expect(image).toContain("Status:\n  Ready:          true\n  Digest:         sha256:aa\n  ID:             sha256:bb\n  Size:           1024\nEvents:");
    const check = formatDescribe(genericView("HealthCheck", "probe", { ready: false, reason: "NoTarget", matched: ["web", "db"] }), [], NOW);
    expect(check).toContain("Status:\n  Ready:          false\n  Reason:         NoTarget\n  Matched:\n    - web\n    - db\nEvents:");
  });

  describe("against the API", () => {
    let h: Harness;
    beforeEach(async () => {
      h = await startHarness();
    });
    afterEach(() => h.close());

    it("shows only this object's events", async () => {
      h.fake.put(containerView("web"));
      h.fake.eventList = [
        { seq: 1, time: new Date().toISOString(), type: "Normal", reason: "Started", object: "container/web", message: "started web" },
        { seq: 2, time: new Date().toISOString(), type: "Normal", reason: "Started", object: "container/db", message: "started db" },
      ];
      expect(await runDescribe(h.ctx, ["ctr", "web"])).toBe(0);
      expect(h.stdout.text).toContain("started web");
      expect(h.stdout.text).not.toContain("started db");
      await expect(runDescribe(h.ctx, ["container/nope"])).rejects.toMatchObject({ kind: "NotFound" });
      await expect(runDescribe(h.ctx, ["container"])).rejects.toThrow(/usage: berth describe KIND NAME/);
    });
  });
});
