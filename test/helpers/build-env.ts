/**
 * A real runtime for build tests (test/integration/build*.test.ts): its own root, run root
 * and cgroup parent, the busybox image imported, helpers to write build contexts, build
 * (collecting the events), and run an image to its exit; `close()` removes every container,
 * closes the runtime and checks nothing is left (cgroups, mounts).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { BuildEvent, BuildRequest } from "../../runtime/build/executor/builder.js";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import type { ContainerCreateSpec, ImageRecord } from "../../runtime/types.js";
import { importBusybox } from "./image-fixtures.js";
import { cleanNetworksOfRoot } from "./net-cleanup.js";
import { cgroupDirsOf, removeCgroupTree, testSpec } from "./rootfs.js";

export interface BuildResult {
  image: ImageRecord;
  events: BuildEvent[];
  cached: number;
  misses: string[];
  output: string[];
}

export interface BuildTestEnv {
  base: string;
  root: string;
  rt: Runtime;
  /** A context directory `name` under the env with these files. */
  context(name: string, files: Record<string, string>): string;
  /** Builds with network none unless said otherwise. */
  build(req: Omit<BuildRequest, "tags"> & { tags?: string[] }): Promise<BuildResult>;
  /** Runs `image` to its exit; its exit code and output lines; the container is removed. */
  runImage(name: string, image: string, extra?: Partial<ContainerCreateSpec>): Promise<{ code: number | undefined; out: string }>;
  /** Throws (an assertion error) when cgroups or mounts are left. */
  close(): Promise<void>;
}

export async function buildTestEnv(prefix: string): Promise<BuildTestEnv> {
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const base = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const root = path.join(base, "root");
  const rt = await openRuntime({ root, runRoot: path.join(base, "run"), cgroupParent });
  await importBusybox(rt.images);
  return {
    base,
    root,
    rt,
    context(name, files) {
      const dir = path.join(base, name);
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        writeFileSync(path.join(dir, f), text);
      }
      return dir;
    },
    async build(req) {
      const events: BuildEvent[] = [];
      const image = await rt.builder!.build({ network: "none", tags: [], ...req, onEvent: (e) => events.push(e) });
      return {
        image,
        events,
        cached: events.filter((e) => e.type === "cached").length,
        misses: events.flatMap((e) => (e.type === "miss" ? [e.reason] : [])),
        output: events.flatMap((e) => (e.type === "output" ? [e.line] : [])),
      };
    },
    async runImage(name, image, extra = {}) {
      const c = await rt.containers.create(testSpec(name, { image, labels: {}, stopGracePeriodMs: 1000, ...extra }));
      await rt.containers.start(c.id);
      const deadline = Date.now() + 20_000;
      let state = await rt.containers.inspect(c.id);
      while (state.status === "running" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        state = await rt.containers.inspect(c.id);
      }
      let out = "";
      for await (const l of rt.containers.logs(c.id)) out += `${l.text}\n`;
      await rt.containers.remove(c.id, { force: true });
      return { code: state.exitCode, out };
    },
    async close() {
      for (const c of await rt.containers.list()) await rt.containers.remove(c.id, { force: true });
      await rt.close();
      await cleanNetworksOfRoot(root);
      for (const d of await cgroupDirsOf(cgroupParent)) await removeCgroupTree(d);
      const left = await cgroupDirsOf(cgroupParent);
      const mounted = readFileSync("/proc/mounts", "utf8").includes(base);
      rmSync(base, { recursive: true, force: true });
      if (left.length || mounted) throw new Error(`build test env left ${left.length} cgroups${mounted ? " and mounts" : ""}`);
    },
  };
}
