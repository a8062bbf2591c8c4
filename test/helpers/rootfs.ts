import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { conflict, failedPrecondition, notFound, notImplemented } from "../../lib/errors.js";
import { assertValidDigest, assertValidId } from "../../lib/names.js";
import { KeyedLock } from "../../runtime/content/async-lock.js";
import { childChainId } from "../../runtime/snapshots/chain-id.js";
import type { Descriptor, ImageRuntimeConfig, RootfsMount, SnapshotStore } from "../../runtime/types.js";
import { FakeImageStore } from "../../runtime/testing/fake-image-store.js";
import { which } from "./host.js";
import { randomBytes } from "node:crypto";
import { openContainerRuntime, type ConmonRuncRuntime, type ContainerRuntimeOptions } from "../../runtime/containers/runtime.js";
import { openVolumeStore } from "../../runtime/volumes/volume-store.js";
import type { LocalVolumeStore } from "../../runtime/volumes/types.js";
import { cleanNetworksOfRoot, containerIds, netnsOfIds } from "./net-cleanup.js";

/**
 * Test doubles for the image store and the overlay snapshot store, real enough to run
 * containers: one busybox image (in runtime/testing's FakeImageStore) whose single layer is
 * a directory built from the host's static /bin/busybox, and container layers that are real
 * overlay mounts over it. The container runtime is exercised for real; tests that want the
 * real image and snapshot stores use openRuntime (see runtime-conformance.test.ts).
 */

export const BUSYBOX_APPLETS = [
  "sh", "echo", "cat", "sleep", "ls", "id", "env", "true", "false", "mkdir", "touch", "head", "dd", "yes", "kill",
  "ps", "hostname", "grep", "wc", "httpd", "wget", "chown", "rm", "seq", "tr", "stat", "printf", "test", "cut",
  "uname", "readlink", "tail", "pwd", "chmod", "mount", "cp",
];

export const BUSYBOX_REF = "docker.io/library/busybox:latest";

/**
 * Builds a minimal rootfs in `dir`: /bin/busybox (a copy) with applet symlinks, /etc/passwd
 * and /etc/group (root, nobody, app 1000:1000 also in group `staff` 50), usual empty dirs.
 */
export async function buildBusyboxRootfs(dir: string): Promise<void> {
  const busybox = which("busybox");
  if (!busybox) throw new Error("busybox not found");
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app", "var", "run", "usr/bin"]) {
    await fs.mkdir(path.join(dir, d), { recursive: true });
  }
  await fs.chmod(path.join(dir, "tmp"), 0o1777);
  await fs.copyFile(busybox, path.join(dir, "bin", "busybox"));
  await fs.chmod(path.join(dir, "bin", "busybox"), 0o755);
  for (const a of BUSYBOX_APPLETS) await fs.symlink("busybox", path.join(dir, "bin", a));
  await fs.writeFile(
    path.join(dir, "etc", "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n",
  );
  await fs.writeFile(path.join(dir, "etc", "group"), "root:x:0:\nstaff:x:50:app\nnogroup:x:65534:\napp:x:1000:\n");
  await fs.chown(path.join(dir, "home", "app"), 1000, 1000);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, _o, stderr) => (err ? reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || err.message}`)) : resolve())),
  );
}

async function mountedTargets(): Promise<string[]> {
  return (await fs.readFile("/proc/self/mounts", "utf8")).split("\n").map((l) => l.split(" ")[1] ?? "");
}

/**
 * Snapshot store whose only layer is a ready directory (`lowerDir`, chain `chainId`);
 * container layers are real overlay mounts at `<dir>/<id>/merged` with their own upper and
 * work dirs and a `chain-ids.json` saying what they were prepared over (written last: it
 * makes the layer prepared). Passes runtime/conformance/snapshot-store-suite.ts without its
 * `layers` and `gc` capabilities: `unpack` only names the one layer, `gc` deletes nothing.
 * Errors as FsSnapshotStore's: InvalidArgument for a bad id or chain id, FailedPrecondition
 * for layers it does not have, Conflict for a prepared id over other layers, NotFound for a
 * mount of an id never prepared. Operations on one id are serialized.
 */
export class OverlaySnapshotStore implements SnapshotStore {
  private readonly locks = new KeyedLock();

  constructor(
    readonly dir: string,
    readonly lowerDir: string,
    readonly chainId: string,
  ) {}

  async unpack(parent: string | undefined, layer: Descriptor, diffId: string): Promise<string> {
    const chainId = childChainId(parent, diffId);
    if (chainId !== this.chainId) throw notImplemented(`unpack layer ${layer.digest}: the test overlay store has only its one layer`);
    return chainId;
  }
  async unpackChain(layers: readonly { desc: Descriptor; diffId: string; ready?: Promise<void> }[]): Promise<string[]> {
    const out: string[] = [];
    for (const l of layers) {
      await l.ready;
      out.push(await this.unpack(out[out.length - 1], l.desc, l.diffId));
    }
    return out;
  }
  async has(chainId: string) {
    return chainId === this.chainId;
  }
  private paths(id: string) {
    assertValidId(id, "container id");
    const base = path.join(this.dir, id);
    return { base, meta: path.join(base, "chain-ids.json"), upper: path.join(base, "upper"), work: path.join(base, "work"), merged: path.join(base, "merged") };
  }
  private async preparedOver(id: string): Promise<string[] | undefined> {
    return fs.readFile(this.paths(id).meta, "utf8").then((t) => JSON.parse(t) as string[], () => undefined);
  }
  async prepare(id: string, chainIds: string[]): Promise<RootfsMount> {
    const p = this.paths(id);
    chainIds.forEach((c) => assertValidDigest(c));
    return this.locks.run(id, async () => {
      const existing = await this.preparedOver(id);
      if (existing && existing.join(",") !== chainIds.join(",")) {
        throw conflict(`prepare container layer ${id}: exists over other layers`, { object: { kind: "container", name: id } });
      }
      if (!existing) {
        const unknown = chainIds.find((c) => c !== this.chainId);
        if (unknown) throw failedPrecondition(`prepare container layer ${id}: snapshot ${unknown} is not unpacked`);
        if (chainIds.length > 1) throw failedPrecondition(`prepare container layer ${id}: the test overlay store has only one layer`);
        for (const d of [p.upper, p.work, p.merged]) await fs.mkdir(d, { recursive: true });
        await fs.writeFile(p.meta, JSON.stringify(chainIds));
      }
      return this.mountLocked(id);
    });
  }
  async mount(id: string): Promise<RootfsMount> {
    this.paths(id);
    return this.locks.run(id, () => this.mountLocked(id));
  }
  private async mountLocked(id: string): Promise<RootfsMount> {
    const p = this.paths(id);
    const chainIds = await this.preparedOver(id);
    if (!chainIds) throw notFound(`mount container layer ${id}: not prepared`, { object: { kind: "container", name: id } });
    if (!(await mountedTargets()).includes(p.merged)) {
      let lower = this.lowerDir;
      if (chainIds.length === 0) {
        lower = path.join(this.dir, "empty");
        await fs.mkdir(lower, { recursive: true });
      }
      await run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${p.upper},workdir=${p.work}`, p.merged]);
    }
    return { rootfs: p.merged };
  }
  /** Unmounts (lazily when busy); idempotent. */
  async unmount(id: string): Promise<void> {
    this.paths(id);
    await this.locks.run(id, () => this.unmountLocked(id));
  }
  private async unmountLocked(id: string): Promise<void> {
    const { merged } = this.paths(id);
    while ((await mountedTargets()).includes(merged)) await run("umount", [merged]).catch(() => run("umount", ["-l", merged]));
  }
  /** Unmounts and deletes the container layer; idempotent. */
  async removeContainerLayer(id: string): Promise<void> {
    const p = this.paths(id);
    await this.locks.run(id, async () => {
      await this.unmountLocked(id);
      await fs.rm(p.base, { recursive: true, force: true });
    });
  }
  async gc(): Promise<number> {
    return 0;
  }
}

export interface BusyboxFixture {
  images: FakeImageStore;
  snapshots: OverlaySnapshotStore;
}

/** A busybox image + overlay snapshot store under `dir`. */
export async function busyboxFixture(dir: string, config?: ImageRuntimeConfig): Promise<BusyboxFixture> {
  const layer = path.join(dir, "layer");
  await buildBusyboxRootfs(layer);
  const images = new FakeImageStore();
  const image = images.addImage(
    BUSYBOX_REF,
    { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"], ...config },
    { layers: [`busybox-layer:${layer}`], size: 0 },
  );
  const snapshots = new OverlaySnapshotStore(path.join(dir, "snapshots"), layer, image.chainIds[0]!);
  await fs.mkdir(snapshots.dir, { recursive: true });
  return { images, snapshots };
}

/** Every mount point at or below `dir` (for leak checks and cleanup). */
export async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountedTargets()).filter((t) => t === dir || t.startsWith(`${dir}/`));
}

/** Unmounts everything at or below `dir`, deepest first (lazy as a last resort). */
export async function unmountUnder(dir: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const ms = (await mountsUnder(dir)).sort((a, b) => b.length - a.length);
    if (ms.length === 0) return;
    for (const m of ms) await run("umount", i < 3 ? [m] : ["-l", m]).catch(() => {});
  }
}

// ---------------------------------------------------------------------------- runtime env


export interface ContainerTestEnv {
  base: string;
  root: string;
  runRoot: string;
  cgroupParent: string;
  fixture: BusyboxFixture;
  volumes: LocalVolumeStore;
  /** Opens a runtime instance on this env (closed by cleanup). */
  open(extra?: Partial<ContainerRuntimeOptions>): Promise<ConmonRuncRuntime>;
  /** Kills and deletes every container of the env, unmounts, removes cgroups and files. */
  cleanup(): Promise<void>;
}

async function runcList(runcRoot: string): Promise<string[]> {
  // `runc --root X list` would create X: do not resurrect a removed root.
  if (!(await fs.stat(runcRoot).then(() => true, () => false))) return [];
  return new Promise((resolve) =>
    execFile("runc", ["--root", runcRoot, "list", "-q"], (err, out) => resolve(err ? [] : String(out).split("\n").filter(Boolean))),
  );
}

export async function runcIds(runRoot: string): Promise<string[]> {
  return runcList(path.join(runRoot, "runc"));
}

/** cgroup directories named `<parent>` under any hierarchy. */
export async function cgroupDirsOf(parent: string): Promise<string[]> {
  const out: string[] = [];
  for (const h of await fs.readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
    const d = path.join("/sys/fs/cgroup", h, parent);
    if (await fs.stat(d).then(() => true, () => false)) out.push(d);
  }
  return out;
}

export async function removeCgroupTree(dir: string): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) await removeCgroupTree(path.join(dir, e.name));
  }
  await fs.rmdir(dir).catch(() => {});
}

/** A fresh root, run-root, cgroup parent and busybox image under a short /tmp dir. */
export async function containerTestEnv(): Promise<ContainerTestEnv> {
  const base = await fs.mkdtemp("/tmp/berth-it-");
  const fixture = await busyboxFixture(path.join(base, "img"));
  const root = path.join(base, "root");
  const runRoot = path.join(base, "run");
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const volumes = await openVolumeStore({ root });
  const opened: ConmonRuncRuntime[] = [];
  return {
    base,
    root,
    runRoot,
    cgroupParent,
    fixture,
    volumes,
    async open(extra = {}) {
      const rt = await openContainerRuntime({
        root,
        runRoot,
        images: fixture.images,
        snapshots: fixture.snapshots,
        volumes,
        cgroupParent,
        pollIntervalMs: 200,
        ...extra,
      });
      opened.push(rt);
      return rt;
    },
    async cleanup() {
      for (const rt of opened) await rt.close();
      const runcRoot = path.join(runRoot, "runc");
      for (const id of await runcList(runcRoot)) await run("runc", ["--root", runcRoot, "delete", "--force", id]).catch(() => {});
      // conmon exits on its own once its container is gone; give it a moment.
      await new Promise((r) => setTimeout(r, 200));
      await unmountUnder(base);
      for (const d of await cgroupDirsOf(cgroupParent)) await removeCgroupTree(d);
      await cleanNetworksOfRoot(root);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/**
 * Cleans the env up and says what is left of it on the host (runc containers, mounts,
 * cgroups): an afterEach asserts `{ runc: [], mounts: [], cgroups: [] }`.
 */
export async function cleanupAndLeftovers(env: ContainerTestEnv): Promise<{ runc: string[]; mounts: string[]; cgroups: string[] }> {
  const ids = await containerIds(env.root); // read before the cleanup removes the root
  await env.cleanup();
  const netns = netnsOfIds(ids);
  // A namespace left is a leftover like a mount: reported under mounts, with its path.
  return { runc: await runcIds(env.runRoot), mounts: [...(await mountsUnder(env.base)), ...netns.map((n) => `/run/netns/${n}`)], cgroups: await cgroupDirsOf(env.cgroupParent) };
}

export { testSpec } from "../../runtime/testing/create-spec.js";
