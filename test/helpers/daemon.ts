import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pino from "pino";
import { ApiClient } from "../../controller/api/client.js";
import type { ContainerStatusView, ObjectView } from "../../controller/api/protocol.js";
import { startDaemon, type Daemon } from "../../controller/daemon.js";
import type { ControllerOptions } from "../../controller/controller.js";
import { REPO } from "./cli.js";
import { cgroupDirsOf, removeCgroupTree } from "./rootfs.js";
import { cleanNetworksOfRoot } from "./net-cleanup.js";

/** A temp state root, run-root and cgroup parent, plus a busybox rootfs tarball, for daemon tests. */
export interface DaemonEnv {
  base: string;
  root: string;
  runRoot: string;
  socket: string;
  cgroupParent: string;
  busyboxTar: string;
  /** An Image manifest importing busybox as localhost/busybox:latest. */
  imageManifest: string;
  cleanup(): Promise<void>;
}

export function daemonEnv(): DaemonEnv {
  const base = mkdtempSync(path.join(tmpdir(), "berth-d-"));
  const busyboxTar = path.join(base, "busybox.tar");
  execFileSync(path.join(REPO, "scripts/busybox-rootfs.sh"), [busyboxTar]);
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const root = path.join(base, "root");
  const runRoot = path.join(base, "run");
  return {
    base,
    root,
    runRoot,
    socket: path.join(runRoot, "berth.sock"),
    cgroupParent,
    busyboxTar,
    imageManifest: `apiVersion: berth/v1\nkind: Image\nmetadata: {name: busybox}\nspec:\n  reference: localhost/busybox:latest\n  import: {path: ${busyboxTar}, config: {cmd: [sh]}}\n`,
    async cleanup() {
      // Remove every container under this run-root's runc state, then mounts and cgroups.
      const runc = path.join(runRoot, "runc");
      let ids: string[] = [];
      try {
        ids = execFileSync("runc", ["--root", runc, "list", "-q"], { encoding: "utf8" }).split("\n").filter(Boolean);
      } catch {
        /* no runc state */
      }
      for (const id of ids) {
        try {
          execFileSync("runc", ["--root", runc, "delete", "-f", id], { stdio: "ignore" });
        } catch {
          /* gone */
        }
      }
      const mounts = execFileSync("cat", ["/proc/mounts"], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.split(" ")[1] ?? "")
        .filter((m) => m.startsWith(base))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) {
        try {
          execFileSync("umount", ["-l", m], { stdio: "ignore" });
        } catch {
          /* already gone */
        }
      }
      for (const d of await cgroupDirsOf(cgroupParent)) await removeCgroupTree(d);
      await cleanNetworksOfRoot(root);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Starts a daemon in this process on the env, with quick resyncs. */
export function startTestDaemon(env: DaemonEnv, controller: Partial<ControllerOptions> = {}): Promise<Daemon> {
  return startDaemon({
    root: env.root,
    runRoot: env.runRoot,
    logger: pino({ level: process.env.BERTH_TEST_LOG ?? "silent" }),
    version: "test",
    cgroupParent: env.cgroupParent,
    controller: { resyncMs: 1000, ...controller },
  });
}

/** Polls `fn` until it returns a value (not undefined), at most `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const status = (v: ObjectView) => v.status as ContainerStatusView;

/** Waits for container `name` to satisfy `pred`, returning its view. */
export function untilContainer(client: ApiClient, name: string, what: string, pred: (s: ContainerStatusView) => boolean, timeoutMs = 30_000) {
  return until(`container ${name} ${what}`, async () => {
    const v = await client.get("Container", name);
    return pred(status(v)) ? v : undefined;
  }, timeoutMs);
}

export const files = (text: string, file = "stack.yaml") => [{ file, text, baseDir: "/" }];
