import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatDiagnostic } from "../manifests/diagnostics.js";
import { containerYaml, startHarness, type Harness } from "../testing.js";
import type { ApplyRequest } from "./protocol.js";

// The daemon judges bind sources against its own root, run-root and socket, and allows host
// binds when the daemon (--allow-host-binds: ControllerOptions) or the apply (ApplyRequest) does.
describe("apply: bind sources that expose the host", () => {
  let base: string;
  let h: Harness | undefined;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(path.join(tmpdir(), "berth-svc-binds-")));
    for (const d of ["srv/state", "run", "sock", "data"]) mkdirSync(path.join(base, d), { recursive: true });
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    rmSync(base, { recursive: true, force: true });
  });
  const paths = () => ({ root: path.join(base, "srv", "state"), runRoot: path.join(base, "run"), socketPath: path.join(base, "sock", "api.sock") });
  const apply = (yaml: string, over: Partial<ApplyRequest> = {}) =>
    h!.controller.api.apply({ stack: "s", files: [{ file: "stack.yaml", text: yaml, baseDir: base }], ...over }, new AbortController().signal);
  const errors = async (yaml: string, over: Partial<ApplyRequest> = {}) => (await apply(yaml, over)).diagnostics.map(formatDiagnostic);

  it("refuses sources exposing the daemon's root, run-root and socket, located, and stores nothing", async () => {
    h = await startHarness(paths());
    const hint = "refused unless the daemon or the apply allows host binds (--allow-host-binds)";
    expect(await errors(containerYaml("web", "mounts: ['./srv:/srv']"))).toEqual([
      `stack.yaml:7:12: error: container/web: spec.mounts[0]: bind source ${base}/srv exposes berth's state directory ${base}/srv/state; ${hint}`,
    ]);
    expect(await errors(containerYaml("web", `mounts: [{type: bind, source: ${base}/sock, target: /s}]`))).toEqual([
      `stack.yaml:7:33: error: container/web: spec.mounts[0].source: bind source ${base}/sock exposes berth's API socket ${base}/sock/api.sock; ${hint}`,
    ]);
    expect(await errors(containerYaml("web", "mounts: ['./run:/r']"), { allowHostBinds: true })).toEqual([
      `stack.yaml:7:12: error: container/web: spec.mounts[0]: bind source ${base}/run is berth's run directory ${base}/run: berth's own state is never bind-mounted`,
    ]);
    expect(await h.controller.api.list("Container", {})).toEqual([]);
    expect(await errors(containerYaml("web", "mounts: ['./data:/data']"))).toEqual([]);
  });

  it("accepts them when the apply allows host binds", async () => {
    h = await startHarness(paths());
    expect((await apply(containerYaml("web", "mounts: ['/:/host:ro', './srv:/srv']"), { allowHostBinds: true })).changes).toEqual([{ kind: "Container", name: "web", action: "created" }]);
  });

  it("accepts them from every apply when the daemon allows host binds", async () => {
    h = await startHarness({ ...paths(), allowHostBinds: true });
    expect((await apply(containerYaml("web", "mounts: ['/:/host:ro']"))).diagnostics).toEqual([]);
    expect(await errors(containerYaml("web", "mounts: ['./srv/state:/s']"))).toEqual([
      `stack.yaml:7:12: error: container/web: spec.mounts[0]: bind source ${base}/srv/state is berth's state directory ${base}/srv/state: berth's own state is never bind-mounted`,
    ]);
  });
});
