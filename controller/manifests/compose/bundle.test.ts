import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runConvert } from "../../../cli/commands/convert.js";
import { loadManifestTexts, readManifestInputs } from "../load.js";
import type { ContainerObject } from "../model.js";
import { composeBundleStack } from "./bundle.js";
import { projectDir } from "./testing.js";

const files = {
  "compose.yaml": "services:\n  app:\n    image: busybox:${TAG}\n    env_file: app.env\n    environment: [FROM_SHELL]\n",
  ".env": "TAG=1.36\n",
  "app.env": "GREETING=hi\n",
};

describe("the bundle the CLI sends", () => {
  it("holds every file and variable the load used, so the daemon converts it without the disk", async () => {
    const dir = projectDir(files);
    const { texts, diagnostics } = await readManifestInputs([path.join(dir, "compose.yaml")], { compose: { env: { FROM_SHELL: "yes", UNRELATED_SECRET: "x" }, profiles: ["p"] } });
    expect(diagnostics).toEqual([]);
    expect(composeBundleStack(texts[0]!.text)).toBe("shop");
    expect(texts[0]!.text).not.toContain("UNRELATED_SECRET");
    rmSync(dir, { recursive: true }); // the daemon side reads nothing
    const r = loadManifestTexts(texts);
    expect(r.diagnostics).toEqual([]);
    const c = r.objects.find((o) => o.kind === "Container") as ContainerObject;
    expect(c.spec.image).toBe("docker.io/library/busybox:1.36");
    expect(c.spec.env).toEqual([{ name: "GREETING", value: "hi" }, { name: "FROM_SHELL", value: "yes" }]);
  });

  it("a plain Compose text handed to the daemon's loader reads its files from the project directory only", async () => {
    const dir = projectDir({ ...files, "compose.yaml": "services:\n  app:\n    image: busybox\n    env_file: ../outside.env\n" });
    writeFileSync(path.join(path.dirname(dir), "outside.env"), "STOLEN=1\n");
    const text = "services:\n  app:\n    image: busybox\n    env_file: ../outside.env\n";
    const r = loadManifestTexts([{ file: path.join(dir, "compose.yaml"), text, baseDir: dir }], { compose: { env: {} } });
    expect(r.objects).toEqual([]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([`env file ${path.join(path.dirname(dir), "outside.env")} not found`]);
  });
});

describe("berth convert", () => {
  it("prints the objects as manifests berth apply takes, and the host-level access", async () => {
    const dir = projectDir({ "compose.yaml": "services:\n  web:\n    image: busybox\n    network_mode: host\n" });
    let out = "";
    let err = "";
    const code = await runConvert({ filename: [path.join(dir, "compose.yaml")], output: "yaml", allowPrivileged: false, env: {}, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    expect(code).toBe(0);
    expect(out).toBe("apiVersion: berth/v1\nkind: Container\nmetadata:\n  name: shop-web\nspec:\n  image: busybox\n  networkMode: host\n");
    expect(err).toContain("stack shop grants host-level access:\n  container/shop-web: network_mode: host (the host's network stack) (");
    // what it printed loads as berth manifests
    const again = loadManifestTexts([{ file: "out.yaml", text: out, baseDir: dir }]);
    expect(again.diagnostics).toEqual([]);
    let json = "";
    expect(await runConvert({ filename: [path.join(dir, "compose.yaml")], output: "json", allowPrivileged: false, env: {}, stdout: { write: (s: string) => (json += s) }, stderr: { write: () => {} } })).toBe(0);
    expect(JSON.parse(json)).toHaveLength(1);
  });

  it("exits 1 with located errors", async () => {
    const dir = projectDir({ "compose.yaml": "services:\n  web:\n    image: busybox\n    devices: [/dev/kvm]\n" });
    let err = "";
    const code = await runConvert({ filename: [path.join(dir, "compose.yaml")], output: "yaml", allowPrivileged: false, env: {}, stdout: { write: () => {} }, stderr: { write: (s: string) => (err += s) } });
    expect(code).toBe(1);
    expect(err).toContain("compose.yaml:4:5: error: services.web.devices: devices is not supported by berth");
  });
});
