import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { containerView, genericView, startHarness, type Harness } from "../testing.js";
import { runApply, type ApplyOptions } from "./apply.js";

const WEB = `apiVersion: berth/v1
kind: Container
metadata:
  name: web
spec:
  image: busybox
`;

describe("berth apply", () => {
  let h: Harness;
  let dir: string;
  const opts = (over: Partial<ApplyOptions> = {}): ApplyOptions => ({
    filename: [dir],
    recursive: false,
    prune: false,
    dryRun: false,
    allowPrivileged: false,
    wait: false,
    timeout: "5m",
    pollMs: 10,
    ...over,
  });

  beforeEach(async () => {
    h = await startHarness();
    dir = path.join(h.dir, "My_Site");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "web.yaml"), WEB);
    writeFileSync(path.join(dir, "data.yaml"), "apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: data\n");
    h.fake.applyResponse = (req) => ({
      dryRun: !!req.dryRun,
      diagnostics: [],
      changes: [
        { kind: "Volume", name: "data", action: "unchanged" },
        { kind: "Container", name: "web", action: "created" },
        { kind: "Container", name: "old", action: "deleted" },
      ],
    });
  });
  afterEach(() => h.close());

  it("sends the manifest texts with the options and prints a line per change", async () => {
    expect(await runApply(h.ctx, opts({ prune: true, allowPrivileged: true }))).toBe(0);
    const req = h.fake.applied[0]!;
    expect(req).toMatchObject({ stack: "my-site", prune: true, dryRun: false, allowPrivileged: true });
    expect(req.files.map((f) => path.basename(f.file))).toEqual(["data.yaml", "web.yaml"]);
    expect(req.files[1]).toEqual({ file: path.join(dir, "web.yaml"), text: WEB, baseDir: dir });
    expect(h.stdout.text).toBe("volume/data unchanged\ncontainer/web created\ncontainer/old deleted\n");
    expect(h.stderr.text).toBe("");
  });

  it("marks dry runs and names the stack after a file", async () => {
    expect(await runApply(h.ctx, opts({ filename: [path.join(dir, "web.yaml")], dryRun: true }))).toBe(0);
    expect(h.fake.applied[0]).toMatchObject({ stack: "web", dryRun: true });
    expect(h.stdout.text).toContain("container/web created (dry run)\n");
  });

  it("reads standard input with --stack, and refuses - without it", async () => {
    const piped = await startHarness({ stdin: WEB });
    try {
      piped.fake.applyResponse = h.fake.applyResponse;
      expect(await runApply(piped.ctx, opts({ filename: ["-"], stack: "shop" }))).toBe(0);
      expect(piped.fake.applied[0]!.files[0]).toMatchObject({ file: "<stdin>", text: WEB });
      await expect(runApply(piped.ctx, opts({ filename: ["-"] }))).rejects.toThrow("reading manifests from standard input needs --stack NAME");
    } finally {
      await piped.close();
    }
  });

  it("prints the daemon's diagnostics like validate, with the code frame, and exits 1", async () => {
    const file = path.join(dir, "web.yaml");
    h.fake.applyResponse = () => ({
      dryRun: false,
      changes: [],
      diagnostics: [{ severity: "error", file, line: 6, column: 3, object: "container/web", path: "spec.image", message: "image is required" }],
    });
    expect(await runApply(h.ctx, opts())).toBe(1);
    expect(h.stdout.text).toBe("");
    expect(h.stderr.text).toBe(`${file}:6:3: error: container/web: spec.image: image is required\n  |\n6 |   image: busybox\n  |   ^\n1 error in 1 file\n`);
  });

  it("reports local read errors without calling the daemon", async () => {
    expect(await runApply(h.ctx, opts({ filename: [path.join(dir, "nope.yaml")], stack: "x" }))).toBe(1);
    expect(h.stderr.text).toContain("nope.yaml: error: no such file or directory");
    expect(h.fake.applied).toHaveLength(0);
  });

  describe("--wait", () => {
    beforeEach(() => {
      h.fake.applyResponse = () => ({
        dryRun: false,
        diagnostics: [],
        changes: [
          { kind: "Volume", name: "data", action: "created" },
          { kind: "Container", name: "web", action: "created" },
          { kind: "Container", name: "gone", action: "deleted" },
        ],
      });
      h.fake.put(genericView("Volume", "data"));
    });

    it("waits until containers run and are healthy, printing state changes", async () => {
      h.fake.put((n) => (n < 3 ? containerView("web", { phase: "Pending", reason: "PullingImage" }) : n < 5 ? containerView("web", { health: "starting" }) : containerView("web", { health: "healthy" })), "Container/web");
      expect(await runApply(h.ctx, opts({ wait: true }))).toBe(0);
      const lines = h.stdout.text.split("\n");
      expect(lines.slice(0, 3)).toEqual(["volume/data created", "container/web created", "container/gone deleted"]);
      expect(h.stdout.text).toContain("container/web: Pending (PullingImage)\n");
      expect(h.stdout.text).toContain("container/web: Running (health: starting)\n");
      expect(h.stdout.text).toContain("container/web: Running (healthy) ✓\n");
      expect(h.stdout.text).toMatch(/2 objects ready in \d+ms\n$/);
      expect(h.fake.gets.has("Container/gone")).toBe(false);
    });

    it("redraws a table on a terminal", async () => {
      const tty = await startHarness({ tty: true });
      try {
        tty.fake.applyResponse = h.fake.applyResponse;
        tty.fake.put(genericView("Volume", "data"));
        tty.fake.put((n) => containerView("web", n < 3 ? { phase: "Pending" } : {}), "Container/web");
        expect(await runApply(tty.ctx, opts({ wait: true }))).toBe(0);
        expect(tty.stdout.text).toMatch(/OBJECT +STATE +MESSAGE/);
        expect(tty.stdout.text).toContain("\u001b[3A\r\u001b[0J");
      } finally {
        await tty.close();
      }
    });

    it("fails fast when a container is Failed, with its reason and message", async () => {
      h.fake.put((n) => containerView("web", n < 2 ? { phase: "Pending" } : { phase: "Failed", reason: "ImagePullFailed", message: "pull busybox: not found" }), "Container/web");
      expect(await runApply(h.ctx, opts({ wait: true, timeout: "1m" }))).toBe(1);
      expect(h.stderr.text).toBe("berth: container/web failed: ImagePullFailed: pull busybox: not found\n");
    });

    it("times out naming what was not ready", async () => {
      h.fake.put(containerView("web", { health: "starting" }));
      const t0 = Date.now();
      expect(await runApply(h.ctx, opts({ wait: true, timeout: "200ms" }))).toBe(1);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(h.stderr.text).toBe("berth: timed out after 200ms waiting for container/web (Running (health: starting)) to be ready\n");
    });

    it("refuses --wait with --dry-run", async () => {
      await expect(runApply(h.ctx, opts({ wait: true, dryRun: true }))).rejects.toThrow("--wait cannot be combined with --dry-run");
    });
  });
});
