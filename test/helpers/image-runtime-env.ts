/**
 * The real image store and snapshots with a container runtime on them, for integration
 * tests that move images in and out of berth (Docker interop, registries): a fresh root,
 * run-root and cgroup parent under /tmp; `runToExit` runs an image to its exit; `close()`
 * deletes what runc still has, unmounts, removes the cgroups and the directory.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { openContainerRuntime, type ConmonRuncRuntime } from "../../runtime/containers/runtime.js";
import { openImageRuntime, type ImageRuntime } from "../../runtime/images/index.js";
import type { ContainerCreateSpec, LogLine } from "../../runtime/types.js";
import { openVolumeStore } from "../../runtime/volumes/volume-store.js";
import { removeCgroupTrees, runProcess, unmountAllUnder } from "./dockerd.js";
import { testSpec } from "./rootfs.js";

export interface ImageRuntimeEnv {
  base: string;
  root: string;
  images: ImageRuntime;
  containers: ConmonRuncRuntime;
  /** Runs `spec` (a testSpec of `name`) to its exit (`timeoutMs`, default 20 s): its state and its log lines; the container is removed. */
  runToExit(name: string, spec: Partial<ContainerCreateSpec>, timeoutMs?: number): Promise<{ exitCode: number | undefined; status: string; logs: LogLine[] }>;
  close(): Promise<void>;
}

export async function imageRuntimeEnv(prefix: string): Promise<ImageRuntimeEnv> {
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const base = await fs.mkdtemp(`/tmp/${prefix}-`);
  const root = path.join(base, "root");
  const images = await openImageRuntime({ root });
  const containers = await openContainerRuntime({
    root,
    runRoot: path.join(base, "run"),
    images: images.images,
    snapshots: images.snapshots,
    volumes: await openVolumeStore({ root }),
    cgroupParent,
    pollIntervalMs: 200,
  });
  return {
    base,
    root,
    images,
    containers,
    async runToExit(name, spec, timeoutMs = 20_000) {
      await containers.create(testSpec(name, spec));
      await containers.start(name);
      const deadline = Date.now() + timeoutMs;
      let state = await containers.inspect(name);
      while (state.status !== "exited" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        state = await containers.inspect(name);
      }
      const logs: LogLine[] = [];
      for await (const l of containers.logs(name)) logs.push(l);
      await containers.remove(name, { force: true });
      return { exitCode: state.exitCode, status: state.status, logs };
    },
    async close() {
      await containers.close();
      const runcRoot = path.join(base, "run", "runc");
      const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
      for (const id of ids) await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: 30_000 });
      await unmountAllUnder(base);
      await removeCgroupTrees(cgroupParent);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}
