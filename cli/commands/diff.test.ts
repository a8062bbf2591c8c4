import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../testing.js";
import { runDiff, type DiffOptions } from "./diff.js";

describe("berth diff", () => {
  let h: Harness;
  let file: string;
  const opts = (over: Partial<DiffOptions> = {}): DiffOptions => ({ filename: [file], recursive: false, prune: false, allowPrivileged: false, ...over });
  const meta = { name: "web", labels: {} };

  beforeEach(async () => {
    h = await startHarness();
    file = path.join(h.dir, "app.yaml");
    writeFileSync(file, "apiVersion: berth/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: nginx:1.27\n");
  });
  afterEach(() => h.close());

  it("exits 0 and prints nothing without changes; sends a dry run", async () => {
    h.fake.applyResponse = () => ({ dryRun: true, diagnostics: [], changes: [{ kind: "Container", name: "web", action: "unchanged" }], diffs: [] });
    expect(await runDiff(h.ctx, opts({ prune: true }))).toBe(0);
    expect(h.fake.applied[0]).toMatchObject({ stack: "app", dryRun: true, prune: true });
    expect(h.stdout.text).toBe("");
  });

  it("exits 1 with a diff per changed, created and deleted object", async () => {
    h.fake.applyResponse = () => ({
      dryRun: true,
      diagnostics: [],
      changes: [],
      diffs: [
        { kind: "Container", name: "web", before: { metadata: meta, spec: { image: "nginx:1.25", env: [] } }, after: { metadata: meta, spec: { image: "nginx:1.27", env: [] } } },
        { kind: "Volume", name: "data", after: { metadata: { name: "data" }, spec: { driver: "local" } } },
        { kind: "Network", name: "old", before: { metadata: { name: "old" } } },
      ],
    });
    expect(await runDiff(h.ctx, opts())).toBe(1);
    expect(h.stdout.text).toBe(
      [
        "diff container/web",
        "--- container/web (live)",
        "+++ container/web (applied)",
        "@@ -2,5 +2,5 @@",
        "   name: web",
        "   labels: {}",
        " spec:",
        "-  image: nginx:1.25",
        "+  image: nginx:1.27",
        "   env: []",
        "diff volume/data",
        "--- /dev/null",
        "+++ volume/data (applied)",
        "@@ -0,0 +1,4 @@",
        "+metadata:",
        "+  name: data",
        "+spec:",
        "+  driver: local",
        "diff network/old",
        "--- network/old (live)",
        "+++ /dev/null",
        "@@ -1,2 +0,0 @@",
        "-metadata:",
        "-  name: old",
        "",
      ].join("\n"),
    );
  });

  it("exits 2 on diagnostics and on errors", async () => {
    h.fake.applyResponse = () => ({ dryRun: true, changes: [], diagnostics: [{ severity: "error", file, line: 6, column: 3, path: "spec.image", message: "bad" }] });
    expect(await runDiff(h.ctx, opts())).toBe(2);
    expect(h.stderr.text).toContain(`${file}:6:3: error: spec.image: bad`);
    expect(await runDiff(h.ctx, opts({ filename: [path.join(h.dir, "missing.yaml")] }))).toBe(2);
  });
});
