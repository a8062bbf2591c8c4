/**
 * The embedded runtime against its floor and its peers, side by side in one run:
 *
 * - create+start of N busybox containers (`sleep 3600`, no network), sequentially: berth's
 *   runtime API vs `runc run -d` on a prepared bundle (the floor), `runc create` + `runc
 *   start`, and `podman run -d` / `docker run -d` (a private dockerd) where installed;
 * - per-container memory at N=10: the container process, and its monitor (conmon, the
 *   containerd shim), VmRSS and PSS;
 * - layer unpack throughput: the snapshot store's unpack of a ~150 MB gzip layer vs
 *   `tar -xzf` of the same file.
 *
 * Everything lives under one temp dir (the run-roots on a private tmpfs, like /run); every
 * spawned process is bounded by a timeout; containers, mounts, cgroups and daemons are
 * removed in `finally`. Needs root, runc, conmon, overlayfs and busybox; returns a JSON-able
 * summary (with the reason instead of numbers for what cannot run here).
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createGunzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { openRuntime, type Runtime } from "../runtime/index.js";
import { openContentStore } from "../runtime/content/content-store.js";
import { openSnapshotStore } from "../runtime/snapshots/snapshot-store.js";
import type { ContainerCreateSpec } from "../runtime/types.js";
import {
  hostPathsGuard,
  pidsMentioning,
  removeCgroupTrees,
  runProcess,
  startPrivateDockerd,
  unmountAllUnder,
  type PrivateDockerd,
} from "../test/helpers/dockerd.js";
import { which } from "../test/helpers/host.js";
import { testSpec } from "../test/helpers/rootfs.js";
import { mean, median, now, round, sleep } from "./stats.js";

export interface RuntimeBenchOptions {
  /** Container counts of the create+start rounds. */
  sizes: number[];
  /** Repetitions of the N=1 round (median reported). */
  singleReps: number;
  /** N at which memory is measured (must be one of sizes). */
  memoryAt: number;
  /** Uncompressed size of the unpack layer, bytes (approximate). */
  unpackBytes: number;
  unpackMaxFiles: number;
  unpackReps: number;
  /** Bound on any one spawned process or runtime call. */
  stepTimeoutMs: number;
}

export function defaultRuntimeBenchOptions(): RuntimeBenchOptions {
  const quick = process.env.BERTH_BENCH_QUICK === "1";
  return {
    sizes: quick ? [1, 3] : [1, 10, 50],
    singleReps: quick ? 2 : 5,
    memoryAt: quick ? 3 : 10,
    unpackBytes: quick ? 20e6 : 150e6,
    unpackMaxFiles: quick ? 1000 : 6000,
    unpackReps: quick ? 1 : 3,
    stepTimeoutMs: 60_000,
  };
}

const IMAGE = "localhost/berth-bench/busybox:1";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const APPLETS = ["sh", "sleep", "echo", "cat", "ls", "true"];


function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms}ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function must(cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await runProcess(cmd, args, { timeoutMs, ...(env ? { env } : {}) });
  if (r.code !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
  }
  return r.stdout;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

// ---------------------------------------------------------------------------- /proc

async function statusKiB(pid: number, field: string): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function pssKiB(pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
  const m = /^Pss:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function parentOf(pid: number): Promise<{ pid: number; comm: string } | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const ppid = Number(stat.slice(close + 2).split(" ")[1]);
  if (!Number.isInteger(ppid) || ppid <= 1) return undefined;
  const comm = (await fs.readFile(`/proc/${ppid}/comm`, "utf8").catch(() => "")).trim();
  return { pid: ppid, comm };
}

function hostHardLimit(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\s{2,}\\S+\\s+(\\S+)`, "m").exec(text);
  return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------- contenders

interface Pids {
  container: number;
  /** The process monitoring the container (conmon, containerd-shim), when there is one. */
  monitor?: number;
}

interface Contender {
  name: string;
  version: string;
  /** Untimed work before a round (e.g. writing bundles). */
  prepare?(names: string[]): Promise<void>;
  /** Creates and starts one container; returns its handle. Timed. */
  startOne(name: string): Promise<string>;
  pids(handles: string[]): Promise<Pids[]>;
  /** Removes the containers (force). Timed separately. */
  removeAll(handles: string[]): Promise<void>;
  close(): Promise<void>;
}

interface BenchEnv {
  base: string;
  /** tmpfs, like /run. */
  run: string;
  rootfsDir: string;
  rootfsTgz: string;
  cgroupPrefix: string;
  timeoutMs: number;
}

function createSpec(name: string): ContainerCreateSpec {
  return testSpec(name, { image: IMAGE, labels: { "berth.bench": "runtime" }, command: ["sleep", "3600"] });
}

async function berthContender(env: BenchEnv): Promise<Contender> {
  const cgroupParentExisted = existsSync("/sys/fs/cgroup/memory/berth") || existsSync("/sys/fs/cgroup/berth");
  const root = path.join(env.base, "berth-root");
  const runRoot = path.join(env.run, "berth");
  let rt: Runtime | undefined;
  const close = async () => {
    await rt?.close().catch(() => {});
    const runcRoot = path.join(runRoot, "runc");
    if (existsSync(runcRoot)) {
      const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: env.timeoutMs })).stdout.split("\n").filter(Boolean);
      for (const id of ids) {
        await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: env.timeoutMs });
        await removeCgroupTrees(`berth/${id}`);
      }
    }
    // conmon exits once its container is gone; anything still running from our dirs is a leak.
    for (const p of [...(await pidsMentioning(runRoot)), ...(await pidsMentioning(root))]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    await unmountAllUnder(root);
    // The production cgroup parent: removed only when this bench created it (and it is empty).
    if (!cgroupParentExisted) await removeCgroupTrees("berth");
  };
  try {
    rt = await openRuntime({ root, runRoot, owner: "berth bench" });
    await rt.images.importRootfs(env.rootfsTgz, IMAGE, { config: { Cmd: ["sh"], Env: [PATH_ENV] } });
  } catch (err) {
    await close();
    throw err;
  }
  const containers = rt.containers;
  return {
    name: "berth (runtime API)",
    version: (await must("conmon", ["--version"], env.timeoutMs)).split("\n")[0]!.trim(),
    async startOne(name) {
      const c = await withTimeout(containers.create(createSpec(name)), env.timeoutMs, `create ${name}`);
      await withTimeout(containers.start(c.id), env.timeoutMs, `start ${name}`);
      return c.id;
    },
    async pids(ids) {
      const out: Pids[] = [];
      for (const id of ids) {
        const pid = (await containers.inspect(id)).pid!;
        const parent = await parentOf(pid);
        out.push({ container: pid, ...(parent ? { monitor: parent.pid } : {}) });
      }
      return out;
    },
    async removeAll(ids) {
      await eachLimited(ids, 4, (id) => withTimeout(containers.remove(id, { force: true }), env.timeoutMs, `remove ${id}`));
    },
    close,
  };
}

/** The floor: runc on a prepared bundle per container (shared busybox rootfs dir). */
async function runcContender(env: BenchEnv, mode: "run" | "create+start"): Promise<Contender> {
  const runc = which("runc") ?? "/usr/sbin/runc";
  const tag = mode === "run" ? "run" : "cs";
  const runcRoot = path.join(env.run, `runc-${tag}`);
  const bundles = path.join(env.base, `bundles-${tag}`);
  const cgroupParent = `${env.cgroupPrefix}-runc-${tag}`;
  await fs.mkdir(runcRoot, { recursive: true, mode: 0o700 });
  await fs.mkdir(bundles, { recursive: true });
  // `runc spec`, then: no terminal, our args, writable root, our cgroup; namespaces as given (network included).
  const specDir = path.join(bundles, ".spec");
  await fs.mkdir(specDir);
  await must(runc, ["spec", "--bundle", specDir], env.timeoutMs);
  const template = JSON.parse(await fs.readFile(path.join(specDir, "config.json"), "utf8")) as {
    process: { terminal: boolean; args: string[]; env: string[] };
    root: { path: string; readonly: boolean };
    hostname?: string;
    linux: { cgroupsPath?: string; namespaces: { type: string }[] };
  };
  template.process.terminal = false;
  template.process.args = ["sleep", "3600"];
  template.process.env = [PATH_ENV];
  template.root = { path: env.rootfsDir, readonly: false };
  const version = (await must(runc, ["--version"], env.timeoutMs)).split("\n")[0]!.trim();
  const bundleOf = (id: string) => path.join(bundles, id);
  const runcArgs = (...a: string[]) => ["--root", runcRoot, ...a];
  return {
    name: mode === "run" ? "runc run -d (floor)" : "runc create + start",
    version,
    async prepare(ids) {
      for (const id of ids) {
        await fs.mkdir(bundleOf(id), { recursive: true });
        const cfg = structuredClone(template);
        cfg.linux.cgroupsPath = `/${cgroupParent}/${id}`;
        cfg.hostname = id.slice(0, 63);
        await fs.writeFile(path.join(bundleOf(id), "config.json"), JSON.stringify(cfg));
      }
    },
    async startOne(id) {
      const pidFile = path.join(bundleOf(id), "pid");
      if (mode === "run") {
        // Detached without a terminal: the container's stdio is runc's, so /dev/null.
        const r = await runProcess(runc, runcArgs("run", "-d", "--pid-file", pidFile, "--bundle", bundleOf(id), id), { timeoutMs: env.timeoutMs, stdio: "ignore" });
        if (r.code !== 0) throw new Error(`runc run ${id} exited ${r.code}`);
      } else {
        const c = await runProcess(runc, runcArgs("create", "--pid-file", pidFile, "--bundle", bundleOf(id), id), { timeoutMs: env.timeoutMs, stdio: "ignore" });
        if (c.code !== 0) throw new Error(`runc create ${id} exited ${c.code}`);
        await must(runc, runcArgs("start", id), env.timeoutMs);
      }
      return id;
    },
    async pids(ids) {
      const out: Pids[] = [];
      for (const id of ids) out.push({ container: Number((await fs.readFile(path.join(bundleOf(id), "pid"), "utf8")).trim()) });
      return out;
    },
    async removeAll(ids) {
      await eachLimited(ids, 4, (id) => must(runc, runcArgs("delete", "--force", id), env.timeoutMs));
    },
    async close() {
      const ids = (await runProcess(runc, runcArgs("list", "-q"), { timeoutMs: env.timeoutMs })).stdout.split("\n").filter(Boolean);
      for (const id of ids) await runProcess(runc, runcArgs("delete", "--force", id), { timeoutMs: env.timeoutMs });
      await removeCgroupTrees(cgroupParent);
    },
  };
}

/** Paths podman creates outside --root/--runroot/--tmpdir; children first. */
const PODMAN_HOST_PATHS = [
  "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
  "/var/lib/containers/cache",
  "/var/lib/containers",
  "/run/containers/networks",
  "/run/containers",
  "/run/libpod",
  "/etc/cni/net.d/cni.lock",
  "/etc/containers/networks/netavark.lock",
  "/etc/containers/networks",
];

async function podmanContender(env: BenchEnv): Promise<Contender> {
  const podman = which("podman");
  if (!podman) throw new Error("podman is not installed (apt-get install podman)");
  const dir = path.join(env.base, "podman");
  const runDir = path.join(env.run, "podman");
  const cgroupParent = `${env.cgroupPrefix}-podman`;
  const restoreHost = hostPathsGuard(PODMAN_HOST_PATHS);
  for (const d of ["root", "net"]) await fs.mkdir(path.join(dir, d), { recursive: true });
  for (const d of ["run", "tmp"]) await fs.mkdir(path.join(runDir, d), { recursive: true });
  const global = [
    "--root", path.join(dir, "root"),
    "--runroot", path.join(runDir, "run"),
    "--tmpdir", path.join(runDir, "tmp"),
    "--network-config-dir", path.join(dir, "net"),
    "--storage-driver", "overlay",
    "--cgroup-manager", "cgroupfs",
    "--events-backend", "file",
    "--runtime", which("runc") ?? "/usr/sbin/runc",
    "--conmon", which("conmon") ?? "/usr/bin/conmon",
    "--log-level", "error",
  ];
  const penv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir };
  const pm = (args: string[], timeoutMs = env.timeoutMs) => must(podman, [...global, ...args], timeoutMs, penv);
  // podman asks for RLIMIT_NOFILE 1048576 and lowers its own RLIMIT_NPROC to 32768; runc
  // refuses limits above what it may set here (hard nofile 20000): ask for what the host allows.
  const limits = await fs.readFile("/proc/self/limits", "utf8");
  const nofile = hostHardLimit(limits, "Max open files") ?? 1024;
  const nproc = Math.min(hostHardLimit(limits, "Max processes") ?? 32768, 32768);
  const runArgs = ["run", "-d", "--network", "none", "--cgroup-parent", `/${cgroupParent}`, "--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${nproc}:${nproc}`];
  const close = async () => {
    await runProcess(podman, [...global, "rm", "-a", "-f", "-t", "0"], { timeoutMs: 120_000, env: penv });
    await runProcess(podman, [...global, "unmount", "-a"], { timeoutMs: env.timeoutMs, env: penv });
    for (const p of [...(await pidsMentioning(dir)), ...(await pidsMentioning(runDir))]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    await unmountAllUnder(dir);
    await unmountAllUnder(runDir);
    await removeCgroupTrees(cgroupParent);
    await removeCgroupTrees("libpod_parent");
    await restoreHost();
  };
  try {
    const version = (await pm(["--version"])).trim();
    await pm(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTgz, IMAGE]);
    return {
      name: "podman run -d",
      version,
      async startOne() {
        return (await pm([...runArgs, IMAGE, "sleep", "3600"])).trim();
      },
      async pids(ids) {
        const text = await pm(["inspect", "--format", "{{.State.Pid}} {{.State.ConmonPid}}", ...ids]);
        return text
          .trim()
          .split("\n")
          .map((l) => {
            const [pid, conmon] = l.trim().split(/\s+/).map(Number);
            return { container: pid!, monitor: conmon! };
          });
      },
      async removeAll(ids) {
        await pm(["rm", "-f", "-t", "0", ...ids], 300_000);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function dockerContender(env: BenchEnv): Promise<Contender> {
  let dockerd: PrivateDockerd | undefined;
  try {
    dockerd = await startPrivateDockerd();
    const d = dockerd;
    await d.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTgz, IMAGE]);
    return {
      name: "docker run -d (private dockerd)",
      version: `dockerd ${d.version}`,
      async startOne() {
        return (await d.mustDocker(["run", "-d", "--network", "none", IMAGE, "sleep", "3600"], { timeoutMs: env.timeoutMs })).trim();
      },
      async pids(ids) {
        const text = await d.mustDocker(["inspect", "--format", "{{.State.Pid}}", ...ids]);
        const out: Pids[] = [];
        for (const l of text.trim().split("\n")) {
          const pid = Number(l.trim());
          const parent = await parentOf(pid);
          out.push({ container: pid, ...(parent ? { monitor: parent.pid } : {}) });
        }
        return out;
      },
      async removeAll(ids) {
        await d.mustDocker(["rm", "-f", ...ids], { timeoutMs: 300_000 });
      },
      close: () => d.stop(),
    };
  } catch (err) {
    await dockerd?.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------- fixtures

/** A minimal busybox rootfs dir (the runc bundle's rootfs) and a gzip tarball of it. */
async function makeBusybox(env: BenchEnv): Promise<void> {
  const busybox = which("busybox");
  if (!busybox) throw new Error("busybox is not installed (apt-get install busybox-static)");
  const r = env.rootfsDir;
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "usr/bin"]) await fs.mkdir(path.join(r, d), { recursive: true });
  await fs.chmod(path.join(r, "tmp"), 0o1777);
  await fs.copyFile(busybox, path.join(r, "bin/busybox"));
  await fs.chmod(path.join(r, "bin/busybox"), 0o755);
  for (const a of APPLETS) await fs.symlink("busybox", path.join(r, "bin", a));
  await fs.writeFile(path.join(r, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await fs.writeFile(path.join(r, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await must("tar", ["--numeric-owner", "-C", r, "-czf", env.rootfsTgz, "."], env.timeoutMs);
}

/**
 * Regular files under each root (depth first, sorted), each at most `maxFile` bytes, until
 * the root's share of the byte budget or the file budget is spent.
 */
async function pickFiles(
  roots: { dir: string; share: number }[],
  budgetBytes: number,
  maxFiles: number,
  maxFile = 8e6,
): Promise<{ files: string[]; dirs: string[]; bytes: number }> {
  const files: string[] = [];
  const dirs = new Set<string>();
  let bytes = 0;
  for (const { dir: root, share } of roots) {
    const perRoot = budgetBytes * share;
    let rootBytes = 0;
    const walk = async (dir: string): Promise<void> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (rootBytes >= perRoot || files.length >= maxFiles) return;
        const p = path.join(dir, e.name);
        if (/[\n\\]/.test(p)) continue;
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) {
          const st = await fs.stat(p).catch(() => undefined);
          if (!st || st.size > maxFile) continue;
          files.push(p);
          rootBytes += st.size;
          bytes += st.size;
          for (let d = path.dirname(p); d !== "/" && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
        }
      }
    };
    await walk(root);
  }
  return { files, dirs: [...dirs].sort(), bytes };
}

// ---------------------------------------------------------------------------- rounds

interface RoundResult {
  n: number;
  totalMs: number;
  perContainerMs: number;
  removeMsPerContainer: number;
}

interface MemoryResult {
  n: number;
  monitor?: string;
  containerRssKiB: number;
  monitorRssKiB: number | null;
  totalRssKiB: number;
  containerPssKiB: number;
  monitorPssKiB: number | null;
  totalPssKiB: number;
}

interface ContenderResult {
  name: string;
  available: boolean;
  reason?: string;
  version?: string;
  rounds: Record<string, RoundResult>;
  memory?: MemoryResult;
}

async function measureMemory(c: Contender, handles: string[]): Promise<MemoryResult> {
  await sleep(500); // let monitors settle after start-up
  const pids = await c.pids(handles);
  const cr: number[] = [];
  const cp: number[] = [];
  const mr: number[] = [];
  const mp: number[] = [];
  let monitor: string | undefined;
  for (const p of pids) {
    cr.push(await statusKiB(p.container, "VmRSS"));
    cp.push(await pssKiB(p.container));
    if (p.monitor) {
      monitor ??= (await fs.readFile(`/proc/${p.monitor}/comm`, "utf8").catch(() => "?")).trim();
      mr.push(await statusKiB(p.monitor, "VmRSS"));
      mp.push(await pssKiB(p.monitor));
    }
  }
  const m = (xs: number[]) => (xs.length ? mean(xs) : null);
  return {
    n: handles.length,
    ...(monitor ? { monitor } : {}),
    containerRssKiB: mean(cr),
    monitorRssKiB: m(mr),
    totalRssKiB: mean(cr) + (m(mr) ?? 0),
    containerPssKiB: mean(cp),
    monitorPssKiB: m(mp),
    totalPssKiB: mean(cp) + (m(mp) ?? 0),
  };
}

async function runRound(c: Contender, prefix: string, n: number, memoryAt: number, res: ContenderResult): Promise<RoundResult> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  await c.prepare?.(names);
  const handles: string[] = [];
  let removeMs = 0;
  try {
    const t0 = now();
    for (const name of names) handles.push(await c.startOne(name));
    const totalMs = now() - t0;
    if (n === memoryAt && !res.memory) res.memory = await measureMemory(c, handles);
    const r0 = now();
    await c.removeAll(handles.splice(0));
    removeMs = now() - r0;
    return { n, totalMs, perContainerMs: totalMs / n, removeMsPerContainer: removeMs / n };
  } finally {
    if (handles.length) await c.removeAll(handles).catch(() => {});
  }
}

// ---------------------------------------------------------------------------- unpack

interface UnpackResult {
  files: number;
  dirs: number;
  uncompressedBytes: number;
  compressedBytes: number;
  reps: number;
  rows: { name: string; medianMs: number; mbPerS: number; timeRatio: number; samplesMs: number[] }[];
}

async function benchUnpack(env: BenchEnv, o: RuntimeBenchOptions): Promise<UnpackResult> {
  const dir = path.join(env.base, "unpack");
  await fs.mkdir(dir);
  // Shared libraries and binaries (larger files) plus docs and data (many small ones).
  const pick = await pickFiles([{ dir: "/usr/lib", share: 0.7 }, { dir: "/usr/share", share: 0.3 }], o.unpackBytes, o.unpackMaxFiles);
  const list = path.join(dir, "files.list");
  // Relative names, directories first, NUL-separated: no shell, no surprises in names.
  await fs.writeFile(list, [...pick.dirs, ...pick.files].map((p) => p.slice(1)).join("\0") + "\0");
  const layer = path.join(dir, "layer.tar.gz");
  await must("tar", ["--numeric-owner", "--no-recursion", "-C", "/", "--null", "-T", list, "-czf", layer], 300_000);
  const compressedBytes = (await fs.stat(layer)).size;
  const hash = createHash("sha256");
  let uncompressedBytes = 0;
  await pipeline(createReadStream(layer), createGunzip(), async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      hash.update(chunk);
      uncompressedBytes += chunk.length;
    }
  });
  const diffId = `sha256:${hash.digest("hex")}`;
  const content = await openContentStore({ root: path.join(dir, "content") });
  const ingested = await content.ingest(createReadStream(layer));
  const desc = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: ingested.digest, size: ingested.size };

  const samples: Record<string, number[]> = { tar: [], tarSync: [], berth: [] };
  for (let i = 0; i < o.unpackReps; i++) {
    const out = path.join(dir, `tar-${i}`);
    await fs.mkdir(out);
    await must("sync", ["-f", dir], o.stepTimeoutMs);
    let t0 = now();
    await must("tar", ["-xzf", layer, "-C", out], 300_000);
    const tarMs = now() - t0;
    await must("sync", ["-f", out], 300_000);
    samples.tar!.push(tarMs);
    samples.tarSync!.push(now() - t0);
    await fs.rm(out, { recursive: true, force: true });

    const snapRoot = path.join(dir, `snap-${i}`);
    const snapshots = await openSnapshotStore({ root: snapRoot, content });
    await must("sync", ["-f", dir], o.stepTimeoutMs);
    t0 = now();
    await withTimeout(snapshots.unpack(undefined, desc, diffId), 600_000, "unpack layer");
    samples.berth!.push(now() - t0);
    await fs.rm(snapRoot, { recursive: true, force: true });
  }
  await fs.rm(dir, { recursive: true, force: true });
  const floor = median(samples.tar!);
  const row = (name: string, xs: number[]) => ({
    name,
    medianMs: round(median(xs))!,
    mbPerS: round(uncompressedBytes / 1e6 / (median(xs) / 1000))!,
    timeRatio: round(median(xs) / floor, 2)!,
    samplesMs: xs.map((x) => round(x)!),
  });
  return {
    files: pick.files.length,
    dirs: pick.dirs.length,
    uncompressedBytes,
    compressedBytes,
    reps: o.unpackReps,
    rows: [
      row("tar -xzf (floor)", samples.tar!),
      row("tar -xzf + sync -f", samples.tarSync!),
      row("berth snapshots.unpack", samples.berth!),
    ],
  };
}

// ---------------------------------------------------------------------------- main

export async function benchRuntime(o: RuntimeBenchOptions = defaultRuntimeBenchOptions()) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const started = now();
  const base = await fs.mkdtemp("/tmp/berth-bench-");
  const env: BenchEnv = {
    base,
    run: path.join(base, "run"),
    rootfsDir: path.join(base, "rootfs"),
    rootfsTgz: path.join(base, "busybox.tar.gz"),
    cgroupPrefix: `berth-bench-${randomBytes(3).toString("hex")}`,
    timeoutMs: o.stepTimeoutMs,
  };
  let tmpfsMounted = false;
  const contenders: Contender[] = [];
  const results: ContenderResult[] = [];
  try {
    await fs.mkdir(env.run);
    await must("mount", ["-t", "tmpfs", "-o", "mode=0700,size=512m", "berth-bench", env.run], o.stepTimeoutMs);
    tmpfsMounted = true;
    await fs.mkdir(env.rootfsDir);
    await makeBusybox(env);

    const setups: [string, () => Promise<Contender>][] = [
      ["runc run -d (floor)", () => runcContender(env, "run")],
      ["runc create + start", () => runcContender(env, "create+start")],
      ["berth (runtime API)", () => berthContender(env)],
      ["podman run -d", () => podmanContender(env)],
      ["docker run -d (private dockerd)", () => dockerContender(env)],
    ];
    const active: { c: Contender; res: ContenderResult }[] = [];
    for (const [name, setup] of setups) {
      try {
        const c = await setup();
        contenders.push(c);
        const res: ContenderResult = { name: c.name, available: true, version: c.version, rounds: {} };
        // Warm-up: one container started and removed, untimed (page cache, first-use costs).
        await runRound(c, "warm", 1, -1, res);
        results.push(res);
        active.push({ c, res });
      } catch (err) {
        results.push({ name, available: false, reason: (err as Error).message.slice(0, 600), rounds: {} });
      }
    }

    for (const n of o.sizes) {
      for (const { c, res } of active) {
        if (!res.available) continue;
        try {
          const reps = n === 1 ? o.singleReps : 1;
          const rs: RoundResult[] = [];
          for (let i = 0; i < reps; i++) rs.push(await runRound(c, `b${n}x${i}`, n, o.memoryAt, res));
          const pick = (k: keyof RoundResult) => median(rs.map((r) => r[k]));
          res.rounds[String(n)] = { n, totalMs: pick("totalMs"), perContainerMs: pick("perContainerMs"), removeMsPerContainer: pick("removeMsPerContainer") };
        } catch (err) {
          res.available = false;
          res.reason = `failed at N=${n}: ${(err as Error).message.slice(0, 600)}`;
        }
      }
    }

    let unpack: UnpackResult | { error: string };
    try {
      unpack = await benchUnpack(env, o);
    } catch (err) {
      unpack = { error: (err as Error).message.slice(0, 600) };
    }

    const summary = report(results, unpack, o);
    return { ...summary, durationS: round((now() - started) / 1000) };
  } finally {
    for (const c of contenders.reverse()) await c.close().catch(() => {});
    if (tmpfsMounted) await unmountAllUnder(env.run);
    await unmountAllUnder(base);
    await fs.rm(base, { recursive: true, force: true }).catch(() => {});
  }
}

function report(results: ContenderResult[], unpack: UnpackResult | { error: string }, o: RuntimeBenchOptions) {
  const floor = results.find((r) => r.name.startsWith("runc run"));
  const berth = results.find((r) => r.name.startsWith("berth"));
  const fmt = (x: number | null | undefined, w: number, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d)).padStart(w);

  console.log(`\nContainer create+start, sequential (busybox \`sleep 3600\`, no network; N=1 is the median of ${o.singleReps})`);
  console.log(`  ${"".padEnd(34)}${o.sizes.map((n) => `N=${n} ms/ctr  ratio`.padStart(21)).join("")}   rm ms/ctr@N=${o.sizes[o.sizes.length - 1]}`);
  for (const r of results) {
    if (!r.available && Object.keys(r.rounds).length === 0) {
      console.log(`  ${r.name.padEnd(34)}not measured: ${r.reason}`);
      continue;
    }
    const cells = o.sizes.map((n) => {
      const x = r.rounds[String(n)];
      const f = floor?.rounds[String(n)];
      return `${fmt(x?.perContainerMs, 12)} ${fmt(x && f ? x.perContainerMs / f.perContainerMs : undefined, 6, 2)}x`;
    });
    const last = r.rounds[String(o.sizes[o.sizes.length - 1])];
    console.log(`  ${r.name.padEnd(34)}${cells.join("")}   ${fmt(last?.removeMsPerContainer, 8)}${r.available ? "" : `  (${r.reason})`}`);
  }
  for (const r of results) if (r.version) console.log(`    ${r.name}: ${r.version}`);
  console.log(`    totals (ms): ${results.filter((r) => r.rounds[String(o.sizes[o.sizes.length - 1])]).map((r) => `${r.name.split(" ")[0]} ${o.sizes.map((n) => fmt(r.rounds[String(n)]?.totalMs, 0, 0).trim()).join("/")}`).join("; ")}`);

  console.log(`\nPer-container memory at N=${o.memoryAt} (mean KiB; monitor = the process watching the container)`);
  console.log(`  ${"".padEnd(34)}${"monitor".padEnd(16)}${"mon RSS".padStart(9)}${"ctr RSS".padStart(9)}${"total RSS".padStart(10)}${"mon PSS".padStart(9)}${"total PSS".padStart(10)}${"RSS over floor".padStart(16)}`);
  const floorMem = floor?.memory?.totalRssKiB;
  for (const r of results) {
    if (!r.memory) continue;
    const m = r.memory;
    console.log(
      `  ${r.name.padEnd(34)}${(m.monitor ?? "(none)").padEnd(16)}${fmt(m.monitorRssKiB, 9, 0)}${fmt(m.containerRssKiB, 9, 0)}${fmt(m.totalRssKiB, 10, 0)}${fmt(m.monitorPssKiB, 9, 0)}${fmt(m.totalPssKiB, 10, 0)}${fmt(floorMem !== undefined ? m.totalRssKiB - floorMem : undefined, 16, 0)}`,
    );
  }

  if ("error" in unpack) console.log(`\nLayer unpack: not measured: ${unpack.error}`);
  else {
    console.log(
      `\nLayer unpack (median of ${unpack.reps}): ${(unpack.uncompressedBytes / 1e6).toFixed(1)} MB uncompressed, ${unpack.files} files + ${unpack.dirs} dirs, ${(unpack.compressedBytes / 1e6).toFixed(1)} MB gzip`,
    );
    for (const r of unpack.rows) console.log(`  ${r.name.padEnd(34)}${fmt(r.medianMs, 8, 0)} ms ${fmt(r.mbPerS, 7)} MB/s ${fmt(r.timeRatio, 6, 2)}x floor time`);
    console.log(`    berth's unpack also hashes the tar (diff ID check) and syncs the layer before commit`);
  }

  const ratios: Record<string, number | null> = {};
  for (const n of o.sizes) {
    const b = berth?.rounds[String(n)];
    const f = floor?.rounds[String(n)];
    ratios[String(n)] = b && f ? round(b.perContainerMs / f.perContainerMs, 2) : null;
  }
  const known = Object.values(ratios).filter((x): x is number => x !== null);
  const worst = known.length === o.sizes.length ? Math.max(...known) : null;
  const met = worst !== null && worst <= 1.5;
  console.log(
    `\n  goal: start latency within 1.5× of the runc floor: ${worst === null ? "NOT measured" : met ? "met" : "NOT met"} (${o.sizes.map((n) => `N=${n} ${ratios[String(n)] ?? "-"}x`).join(", ")}; worst ${worst ?? "-"}x)`,
  );

  return {
    options: o,
    host: { cpus: os.cpus().length, kernel: os.release() },
    startLatency: results.map((r) => ({
      name: r.name,
      available: r.available,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.version ? { version: r.version } : {}),
      rounds: Object.fromEntries(
        Object.entries(r.rounds).map(([n, x]) => [n, { totalMs: round(x.totalMs), perContainerMs: round(x.perContainerMs), removeMsPerContainer: round(x.removeMsPerContainer), ratioToFloor: floor?.rounds[n] ? round(x.perContainerMs / floor.rounds[n]!.perContainerMs, 2) : null }]),
      ),
    })),
    memory: results.filter((r) => r.memory).map((r) => ({ name: r.name, ...r.memory!, overRuncFloorRssKiB: floorMem !== undefined ? round(r.memory!.totalRssKiB - floorMem, 0) : null })),
    unpack,
    goal: { target: 1.5, ratios, worstRatio: worst, met },
  };
}
