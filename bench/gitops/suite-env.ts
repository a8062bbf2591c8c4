/**
 * The fixture of the suites that run `berth daemon` as a process (gitops, compose): one temp
 * dir with the run-roots on a private tmpfs (like /run), a busybox rootfs tarball with every
 * applet (bench/build/fixtures.ts), a cgroup parent and an iptables chain prefix of the
 * suite's own, and the daemons' roots it opened.
 *
 * `teardownSuiteEnv` removes, in order and never throwing: every process running from the
 * temp dir (daemons first, then containers by runc and their conmons), mounts under it, the roots'
 * namespaces and bridges and every chain of the prefix (host-cleanup-child.ts, in a process
 * with that prefix), the cgroup parent, the tmpfs and the temp dir. Callers stop their
 * daemons and delete their objects first; this is what puts the host back even when a
 * scenario failed half-way.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { pidsMentioning, removeCgroupTrees, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";
import { makeBusyboxRootfs } from "../build/fixtures.js";
import { must } from "../runtime/helpers.js";

export const IMAGE = "localhost/berth-bench/busybox:1";
export const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CLEANUP_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "host-cleanup-child.js");

export interface SuiteEnv {
  base: string;
  /** tmpfs: the daemons' run-roots. */
  run: string;
  /** The busybox rootfs, gzip tarball (berth and dockerd import it). */
  rootfsTgz: string;
  cgroupParent: string;
  /** BERTH_FIREWALL_PREFIX of the suite's daemons (2-8 capitals, never BERTH). */
  prefix: string;
  /** [root, runRoot] of every daemon started (cleaned in teardown). */
  roots: [string, string][];
  timeoutMs: number;
}

export async function makeSuiteEnv(name: string, prefix: string, timeoutMs: number): Promise<SuiteEnv> {
  const base = await fs.mkdtemp(`/tmp/berth-bench-${name}-`);
  const env: SuiteEnv = {
    base,
    run: path.join(base, "run"),
    rootfsTgz: path.join(base, "busybox.tar.gz"),
    cgroupParent: `berth-bench-${name}-${randomBytes(3).toString("hex")}`,
    prefix,
    roots: [],
    timeoutMs,
  };
  try {
    await fs.mkdir(env.run);
    await must("mount", ["-t", "tmpfs", "-o", "mode=0700,size=256m", `berth-bench-${name}`, env.run], timeoutMs);
    const rootfs = path.join(base, "rootfs");
    await fs.mkdir(rootfs);
    await makeBusyboxRootfs(rootfs, env.rootfsTgz, timeoutMs);
    await fs.rm(rootfs, { recursive: true, force: true });
    return env;
  } catch (err) {
    await teardownSuiteEnv(env);
    throw err;
  }
}

/** Runs host-cleanup-child.js with the suite's prefix; its complaints, if any. */
async function cleanHostNetworks(env: SuiteEnv): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLEANUP_CHILD, JSON.stringify({ roots: env.roots.map(([r]) => r) })], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, BERTH_FIREWALL_PREFIX: env.prefix },
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", () => (clearTimeout(timer), resolve(stderr.trim())));
    child.on("error", (err) => (clearTimeout(timer), resolve(err.message)));
  });
}

/** See the file comment. Returns what could not be cleaned (empty when all went). */
export async function teardownSuiteEnv(env: SuiteEnv): Promise<string[]> {
  const problems: string[] = [];
  const killAll = async () => {
    for (const p of await pidsMentioning(env.base)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
  };
  // daemons first (a live one would restart what runc deletes), then containers and conmons
  await killAll();
  for (const [, runRoot] of env.roots) {
    const runcRoot = path.join(runRoot, "runc");
    if (!existsSync(runcRoot)) continue;
    const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: 30_000 })).stdout.split("\n").filter(Boolean);
    if (ids.length) problems.push(`${ids.length} container(s) left under ${runRoot}, removed by runc delete --force`);
    for (const id of ids) await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: 30_000 });
  }
  await killAll();
  await unmountAllUnder(env.base);
  if (env.roots.length) {
    const complaint = await cleanHostNetworks(env);
    if (complaint) problems.push(`network cleanup: ${complaint.slice(0, 400)}`);
  }
  await removeCgroupTrees(env.cgroupParent);
  if (existsSync(`/sys/fs/cgroup/${env.cgroupParent}`)) problems.push(`cgroup ${env.cgroupParent} still there`);
  await fs.rm(env.base, { recursive: true, force: true }).catch((err: unknown) => problems.push(`rm ${env.base}: ${String(err)}`));
  return problems;
}
