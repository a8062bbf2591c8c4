import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import pino, { type Logger } from "pino";
import { fsyncDir, readJsonIfExists, writeJsonAtomic } from "../../lib/atomic-file.js";
import { conflict, failedPrecondition, invalidArgument, isBerthError, notFound } from "../../lib/errors.js";
import { assertValidDigest, assertValidId, DIGEST_RE } from "../../lib/names.js";
import { AsyncLock, KeyedLock } from "../content/async-lock.js";
import { digestHex } from "../content/digest.js";
import type { ChainLayer, ContentStore, Descriptor, RootfsMount, SnapshotStore } from "../types.js";
import { chainIds, childChainId } from "./chain-id.js";
import { mountCount, mountOverlay, planOverlayMount, unmountAll, type OverlayLower } from "./overlay-mount.js";
import type { GrowingFileState } from "./growing-file.js";
import { runCommand } from "./run-command.js";
import { UnpackPool } from "./unpack-pool.js";

interface PreparedLayer {
  chainId: string;
  parent: string | undefined;
  tmp: string;
  link: string;
  size: number;
  entries: number;
  ms: number;
}

export interface SnapshotStoreOptions {
  /** State root; everything lives under `<root>/snapshots/`. */
  root: string;
  content: ContentStore;
  logger?: Logger;
  /** Cap on a layer's uncompressed size. */
  maxLayerBytes: number;
  /** Cap on a layer's number of tar entries. */
  maxLayerEntries: number;
  /** Above this, overlay mounts use short relative lowerdirs. */
  maxMountOptionBytes: number;
  /** Where layer unpacks run; default a pool of its own (closed by close()). */
  pool?: UnpackPool;
}

export function defaultSnapshotStoreOptions(): Omit<SnapshotStoreOptions, "root" | "content"> {
  return { maxLayerBytes: 8 * 1024 ** 3, maxLayerEntries: 1_000_000, maxMountOptionBytes: 4095 };
}

/** What `<root>/snapshots/layers/<hex>/meta.json` holds. */
export interface LayerMeta {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Name of the short symlink `<root>/snapshots/l/<link>` → `../layers/<hex>/fs`. */
  link: string;
  /** Uncompressed bytes of the layer tar. */
  size: number;
  unpackedAt: string;
}

/** What `<root>/snapshots/containers/<id>/meta.json` holds: the usage record gc honours. */
export interface ContainerLayerMeta {
  id: string;
  chainIds: string[];
  createdAt: string;
}

export async function openSnapshotStore(
  options: Partial<SnapshotStoreOptions> & { root: string; content: ContentStore },
): Promise<FsSnapshotStore> {
  await fs.mkdir(options.root, { recursive: true, mode: 0o700 });
  const root = await fs.realpath(options.root);
  assertMountableRoot(root);
  const store = new FsSnapshotStore({ ...defaultSnapshotStoreOptions(), ...options, root });
  await store.init();
  return store;
}

/**
 * Unpacked layers and per-container overlay mounts.
 *
 * Layout under `<root>/snapshots/`:
 *   layers/<chainid-hex>/{fs/,meta.json}  committed layers (immutable once there)
 *   l/<short>                            symlink → ../layers/<hex>/fs, for short mount options
 *   containers/<id>/{meta.json,upper/,work/,rootfs/}
 *   tmp/                                 unpacks in progress and deletions; emptied on open
 *   empty/                               the lower of a container over zero layers
 *
 * A layer is unpacked into tmp/, then renamed into layers/ (commit): nothing partial is ever
 * under layers/. Concurrent unpacks of one chain ID share one promise in this process; across
 * processes the losing rename is discarded. A container's meta.json is written before its
 * mount, so gc never deletes a layer a container needs. One process owns a root.
 *
 * Over 400 lines on purpose (issue 7): this is one concept. Layers and the container layers
 * over them share this layout and `layerLock`, and the rule that gc never deletes a layer a
 * container needs spans both halves; split into two classes, that rule would span two files.
 */
export class FsSnapshotStore implements SnapshotStore {
  readonly dir: string;
  readonly layersDir: string;
  readonly containersDir: string;
  private readonly linksDir: string;
  private readonly tmpDir: string;
  private readonly emptyDir: string;
  private readonly log: Logger;
  private readonly inflight = new Map<string, Promise<string>>();
  /** Serializes layer deletion against container creation and layer commit. */
  private readonly layerLock = new AsyncLock();
  private readonly containerLocks = new KeyedLock();
  private overlayExtra: string[] | undefined;
  private readonly pool: UnpackPool;

  constructor(private readonly opts: SnapshotStoreOptions) {
    this.dir = path.join(opts.root, "snapshots");
    this.layersDir = path.join(this.dir, "layers");
    this.containersDir = path.join(this.dir, "containers");
    this.linksDir = path.join(this.dir, "l");
    this.tmpDir = path.join(this.dir, "tmp");
    this.emptyDir = path.join(this.dir, "empty");
    this.log = opts.logger ?? pino({ level: "silent" });
    this.pool = opts.pool ?? new UnpackPool({ logger: this.log });
  }

  /** Creates the layout, empties tmp/ and removes short links whose layer is gone. */
  async init(): Promise<void> {
    for (const d of [this.layersDir, this.containersDir, this.linksDir, this.tmpDir, this.emptyDir]) {
      await fs.mkdir(d, { recursive: true, mode: 0o700 });
    }
    await fs.chmod(this.emptyDir, 0o755);
    for (const name of await fs.readdir(this.tmpDir)) {
      this.log.info({ dir: name }, "removing stale snapshot temp dir");
      // an image view a crash left mounted (withImageView) is unmounted first: it is read-only
      await unmountAll(path.join(this.tmpDir, name), { lazy: true });
      await fs.rm(path.join(this.tmpDir, name), { recursive: true, force: true });
    }
    for (const name of await fs.readdir(this.linksDir)) {
      const link = path.join(this.linksDir, name);
      const ok = await fs.stat(link).then(() => true, () => false);
      if (!ok) await fs.rm(link, { force: true });
    }
  }

  private layerDir(chainId: string): string {
    return path.join(this.layersDir, digestHex(chainId));
  }

  /** Path of a committed layer's directory (a lowerdir); NotFound when not unpacked. */
  async layerPath(chainId: string): Promise<string> {
    if (!(await this.has(chainId))) throw notFound(`find snapshot ${chainId}: not unpacked`, { object: { kind: "snapshot", name: chainId } });
    return path.join(this.layerDir(chainId), "fs");
  }

  async has(chainId: string): Promise<boolean> {
    return fs.lstat(path.join(this.layerDir(chainId), "meta.json")).then(() => true, () => false);
  }

  async layerMeta(chainId: string): Promise<LayerMeta> {
    const meta = await readJsonIfExists<LayerMeta>(path.join(this.layerDir(chainId), "meta.json"));
    if (!meta) throw notFound(`find snapshot ${chainId}: not unpacked`, { object: { kind: "snapshot", name: chainId } });
    return meta;
  }

  /** Chain IDs of all committed layers. */
  async listLayers(): Promise<string[]> {
    const names = await fs.readdir(this.layersDir);
    return names.map((n) => `sha256:${n}`).filter((d) => DIGEST_RE.test(d)).sort();
  }

  /**
   * Unpacks `layer` (a committed blob) on top of `parentChainId`; idempotent. The parent must
   * already be unpacked (FailedPrecondition). InvalidArgument for a bad or hostile layer, a
   * diff ID mismatch or a size cap; NotImplemented for an unsupported compression.
   */
  async unpack(parentChainId: string | undefined, layer: Descriptor, diffId: string, signal?: AbortSignal): Promise<string> {
    assertValidDigest(layer.digest);
    const chainId = childChainId(parentChainId, diffId);
    if (await this.has(chainId)) return chainId;
    const running = this.inflight.get(chainId);
    if (running) return running;
    const p = (async () => {
      if (parentChainId !== undefined && !(await this.has(parentChainId))) {
        throw failedPrecondition(`unpack layer ${layer.digest}: parent snapshot ${parentChainId} is not unpacked`);
      }
      const prepared = await this.prepareLayer(chainId, parentChainId, layer, diffId, signal);
      await this.commitPrepared([prepared]);
      return chainId;
    })().finally(() => this.inflight.delete(chainId));
    this.inflight.set(chainId, p);
    return p;
  }

  /**
   * Unpacks a whole chain of layers, base first, skipping those already unpacked; returns the
   * chain IDs. The layers' unpacks run at once on the unpack pool's threads — a layer's
   * content does not depend on its parent's, only its commit does — each starting when its
   * `ready` resolves (a pull passes the end of the layer's download, so unpacking overlaps
   * the downloads still running), or, given `growing`, as soon as its download starts, from
   * the download's file; such an unpack that cannot go on (the download restarted) is done
   * again from the committed blob. Then one `sync -f` for all of them, and the commits in
   * chain order, none before every `ready` resolved. A failure (or an abort) stops the rest
   * and removes every uncommitted unpack; layers committed before it stay (they are valid on
   * their own). Layers another call is already unpacking are awaited, not unpacked twice.
   */
  async unpackChain(layers: readonly ChainLayer[], signal?: AbortSignal): Promise<string[]> {
    for (const l of layers) l.ready?.catch(() => {}); // a gate may fail before it is awaited below
    signal?.throwIfAborted();
    const ids = chainIds(layers.map((l) => l.diffId));
    const mine: number[] = [];
    const theirs: Promise<string>[] = [];
    const settle = new Map<number, { resolve: (id: string) => void; reject: (err: unknown) => void }>();
    for (const l of layers) assertValidDigest(l.desc.digest);
    for (const [i, id] of ids.entries()) {
      if (await this.has(id)) continue;
      const running = this.inflight.get(id);
      if (running) {
        theirs.push(running);
        continue;
      }
      mine.push(i);
      const p = new Promise<string>((resolve, reject) => settle.set(i, { resolve, reject }));
      p.catch(() => {}); // observed by the caller of the failing unpackChain; others see it through inflight
      this.inflight.set(id, p);
    }
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const prepared = new Map<number, PreparedLayer>();
    try {
      const results = await Promise.allSettled(
        mine.map(async (i) => {
          const l = layers[i]!;
          const parent = i > 0 ? ids[i - 1] : undefined;
          try {
            const growing = l.growing && (await raceAbort(l.growing.catch(() => undefined), stop.signal));
            if (growing) {
              stop.signal.throwIfAborted();
              try {
                prepared.set(i, await this.prepareLayer(ids[i]!, parent, l.desc, l.diffId, stop.signal, growing));
              } catch (err) {
                // The download restarted, or moved on before this unpack began, or failed
                // (then `ready` says so below): unpack the committed blob as without streaming.
                if (stop.signal.aborted) throw err;
                this.log.debug({ digest: l.desc.digest, err: (err as Error).message }, "unpack during download stopped; unpacking the committed blob");
              }
            }
            await l.ready;
            stop.signal.throwIfAborted();
            if (!prepared.has(i)) prepared.set(i, await this.prepareLayer(ids[i]!, parent, l.desc, l.diffId, stop.signal));
          } catch (err) {
            if (!stop.signal.aborted) stop.abort(err);
            throw err;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw signal?.aborted ? signal.reason : stop.signal.reason ?? failed.reason;
      await Promise.all(theirs);
      await this.commitPrepared(mine.map((i) => prepared.get(i)!));
      for (const i of mine) settle.get(i)!.resolve(ids[i]!);
      return ids;
    } catch (err) {
      for (const i of mine) if (prepared.has(i)) await this.discardPrepared(prepared.get(i)!);
      for (const s of settle.values()) s.reject(err);
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      for (const i of mine) this.inflight.delete(ids[i]!);
    }
  }

  /**
   * Unpacks one layer into a fresh dir under tmp/ with its short link and meta.json, nothing
   * synced and nothing visible yet (commitPrepared makes it so). On failure nothing is left.
   */
  private async prepareLayer(chainId: string, parent: string | undefined, layer: Descriptor, diffId: string, signal?: AbortSignal, growing?: GrowingFileState): Promise<PreparedLayer> {
    const what = `unpack layer ${layer.digest}`;
    let blobPath = "";
    if (!growing) {
      try {
        blobPath = await this.opts.content.pathOf(layer.digest);
      } catch (err) {
        if (isBerthError(err, "NotFound")) throw failedPrecondition(`${what}: blob is not in the content store`, { cause: err });
        throw err;
      }
    }
    const tmp = path.join(this.tmpDir, `unpack-${randomBytes(8).toString("hex")}`);
    const fsDir = path.join(tmp, "fs");
    let link: string | undefined;
    try {
      await fs.mkdir(tmp, { mode: 0o700 });
      await fs.mkdir(fsDir, { mode: 0o755 });
      const started = Date.now();
      const { size, entries } = await this.pool.unpack(
        { blobPath, ...(growing ? { growing } : {}), mediaType: layer.mediaType, target: fsDir, scratch: tmp, diffId, maxBytes: this.opts.maxLayerBytes, maxEntries: this.opts.maxLayerEntries, chown: process.getuid?.() === 0, what },
        signal,
      );
      link = await this.createLink(chainId);
      const meta: LayerMeta = { chainId, diffId, link, size, unpackedAt: new Date().toISOString() };
      if (parent !== undefined) meta.parent = parent;
      // Synced with the layer's files by commitPrepared's one `sync -f`, before the rename.
      await fs.writeFile(path.join(tmp, "meta.json"), JSON.stringify(meta, null, 2) + "\n", { mode: 0o600 });
      return { chainId, parent, tmp, link, size, entries, ms: Date.now() - started };
    } catch (err) {
      await this.discardPrepared({ tmp, link });
      throw err;
    }
  }

  /**
   * Makes prepared layers visible, in order: one `sync -f` (their files and meta.json reach
   * the disk), each renamed into layers/ (a parent must be committed before its child), then
   * layers/ fsynced. A layer another process committed first is discarded (same content).
   */
  private async commitPrepared(prepared: PreparedLayer[]): Promise<void> {
    if (!prepared.length) return;
    await runCommand("sync", ["-f", this.tmpDir]);
    let renamed = false;
    for (const p of prepared) {
      if (p.parent !== undefined && !(await this.has(p.parent))) {
        throw failedPrecondition(`unpack layer ${p.chainId}: parent snapshot ${p.parent} is not unpacked`);
      }
      const committed = await this.layerLock.run(async () => {
        try {
          await fs.rename(p.tmp, this.layerDir(p.chainId));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "EEXIST" || code === "ENOTEMPTY") return false;
          throw err;
        }
        return true;
      });
      if (!committed) {
        this.log.debug({ chainId: p.chainId }, "layer committed concurrently; discarding ours");
        await this.discardPrepared(p);
      } else {
        renamed = true;
        this.log.info({ chainId: p.chainId, size: p.size, entries: p.entries, ms: p.ms }, "layer unpacked");
      }
    }
    if (renamed) await fsyncDir(this.layersDir);
  }

  private async discardPrepared(p: Pick<PreparedLayer, "tmp"> & { link?: string | undefined }): Promise<void> {
    if (p.link) await fs.rm(path.join(this.linksDir, p.link), { force: true });
    await fs.rm(p.tmp, { recursive: true, force: true });
  }

  /** Starts an unpack thread ahead of unpacks that are coming (a pull's downloads); resolves once it is ready. */
  warmUnpacker(): Promise<void> {
    return this.pool.warm();
  }

  /** Terminates the unpack pool's threads. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  private async createLink(chainId: string): Promise<string> {
    const target = path.join("..", "layers", digestHex(chainId), "fs");
    for (;;) {
      const name = randomBytes(8).toString("base64url").replace(/[-_]/g, "x").slice(0, 11).toUpperCase();
      try {
        await fs.symlink(target, path.join(this.linksDir, name));
        return name;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
  }

  private containerDir(id: string): string {
    assertValidId(id, "container id");
    return path.join(this.containersDir, id);
  }

  async containerMeta(id: string): Promise<ContainerLayerMeta | undefined> {
    return readJsonIfExists<ContainerLayerMeta>(path.join(this.containerDir(id), "meta.json"));
  }

  /** Container id → chain IDs (base first) of every container layer on disk. */
  async containerUsage(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const name of await fs.readdir(this.containersDir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const meta = await readJsonIfExists<ContainerLayerMeta>(path.join(this.containersDir, name, "meta.json"));
      if (meta) out.set(name, meta.chainIds);
    }
    return out;
  }

  async usedChainIds(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const ids of (await this.containerUsage()).values()) for (const c of ids) used.add(c);
    return used;
  }

  /**
   * Creates and mounts the writable layer of container `id` over `chainIds` (base first).
   * Idempotent for the same chain IDs; Conflict when `id` exists over other layers;
   * FailedPrecondition when a layer is not unpacked.
   */
  async prepare(id: string, chainIds: string[]): Promise<RootfsMount> {
    const dir = this.containerDir(id);
    chainIds.forEach((c) => assertValidDigest(c));
    return this.containerLocks.run(id, async () => {
      await this.layerLock.run(async () => {
        const existing = await this.containerMeta(id);
        if (existing) {
          if (existing.chainIds.join(",") !== chainIds.join(",")) {
            throw conflict(`prepare container layer ${id}: exists over other layers`, { object: { kind: "container", name: id } });
          }
          return;
        }
        for (const c of chainIds) {
          if (!(await this.has(c))) throw failedPrecondition(`prepare container layer ${id}: snapshot ${c} is not unpacked`);
        }
        await fs.mkdir(dir, { mode: 0o700 });
        const meta: ContainerLayerMeta = { id, chainIds: [...chainIds], createdAt: new Date().toISOString() };
        await writeJsonAtomic(path.join(dir, "meta.json"), meta);
        await fsyncDir(this.containersDir);
      });
      for (const sub of ["upper", "work", "rootfs"]) await fs.mkdir(path.join(dir, sub), { recursive: true, mode: 0o755 });
      return this.mountLocked(id);
    });
  }

  /** The writable (upper) directory of container `id`'s layer; NotFound when not prepared. */
  async upperDir(id: string): Promise<string> {
    const dir = this.containerDir(id);
    if (!(await this.containerMeta(id))) throw notFound(`find container layer ${id}: not prepared`, { object: { kind: "container", name: id } });
    return path.join(dir, "upper");
  }

  /**
   * Runs `fn` over a read-only view of the image made of `chainIds` (base first): the
   * layers as one overlay with no upper (the kernel resolves whiteouts and opaque
   * directories), a single layer as it is, none as an empty directory. Unmounted after.
   */
  async withImageView<T>(chainIds: string[], fn: (root: string) => Promise<T>): Promise<T> {
    if (chainIds.length === 0) return fn(this.emptyDir);
    const dirs: string[] = [];
    for (const c of chainIds) dirs.push(await this.layerPath(c));
    if (dirs.length === 1) return fn(dirs[0]!);
    const target = path.join(this.tmpDir, `view-${randomBytes(8).toString("hex")}`);
    await fs.mkdir(target, { mode: 0o700 });
    try {
      // lowerdir only: a read-only overlay (paths from layerPath hold no ',' or ':')
      await runCommand("mount", ["-t", "overlay", "overlay", "-o", `ro,lowerdir=${[...dirs].reverse().join(":")}`, target]);
      try {
        return await fn(target);
      } finally {
        await unmountAll(target, { lazy: true });
      }
    } finally {
      await fs.rmdir(target).catch(() => {});
    }
  }

  /** Mounts a prepared container layer (again); no-op when mounted. NotFound when not prepared. */
  async mount(id: string): Promise<RootfsMount> {
    this.containerDir(id);
    return this.containerLocks.run(id, () => this.mountLocked(id));
  }

  private async mountLocked(id: string): Promise<RootfsMount> {
    const dir = this.containerDir(id);
    const rootfs = path.join(dir, "rootfs");
    const meta = await this.containerMeta(id);
    if (!meta) throw notFound(`mount container layer ${id}: not prepared`, { object: { kind: "container", name: id } });
    if ((await mountCount(rootfs)) > 0) return { rootfs };
    const lowers: OverlayLower[] = [];
    for (const c of [...meta.chainIds].reverse()) {
      let lm: LayerMeta;
      try {
        lm = await this.layerMeta(c);
      } catch (err) {
        throw failedPrecondition(`mount container layer ${id}: snapshot ${c} is missing`, { cause: err });
      }
      const linkPath = path.join(this.linksDir, lm.link);
      if (!(await fs.lstat(linkPath).then(() => true, () => false))) {
        await fs.symlink(path.join("..", "layers", digestHex(c), "fs"), linkPath);
      }
      lowers.push({ abs: path.join(this.layerDir(c), "fs"), short: path.join("l", lm.link) });
    }
    if (lowers.length === 0) lowers.push({ abs: this.emptyDir, short: "empty" });
    const plan = planOverlayMount({
      lowers,
      upper: path.join(dir, "upper"),
      work: path.join(dir, "work"),
      target: rootfs,
      baseDir: this.dir,
      extraOptions: await this.overlayOptions(),
      maxOptionBytes: this.opts.maxMountOptionBytes,
    });
    await mountOverlay(plan);
    this.log.info({ id, layers: meta.chainIds.length, relative: plan.relative }, "container layer mounted");
    return { rootfs };
  }

  /** index=off where the kernel knows it: the upper dir must not pin lower file handles. */
  private async overlayOptions(): Promise<string[]> {
    if (!this.overlayExtra) {
      const hasIndex = await fs.stat("/sys/module/overlay/parameters/index").then(() => true, () => false);
      this.overlayExtra = hasIndex ? ["index=off"] : [];
    }
    return this.overlayExtra;
  }

  /** Unmounts the container's rootfs (lazily when busy); idempotent. */
  async unmount(id: string): Promise<void> {
    const rootfs = path.join(this.containerDir(id), "rootfs");
    await this.containerLocks.run(id, async () => {
      const { lazy } = await unmountAll(rootfs, { lazy: true });
      if (lazy) this.log.warn({ id }, "container rootfs was busy; unmounted lazily");
    });
  }

  /** Unmounts and deletes the writable layer of `id`; idempotent. */
  async removeContainerLayer(id: string): Promise<void> {
    const dir = this.containerDir(id);
    await this.containerLocks.run(id, async () => {
      if (!(await fs.lstat(dir).then(() => true, () => false))) return;
      const rootfs = path.join(dir, "rootfs");
      await unmountAll(rootfs, { lazy: true });
      if ((await mountCount(rootfs)) > 0) {
        throw failedPrecondition(`remove container layer ${id}: rootfs is still mounted`);
      }
      const trash = path.join(this.tmpDir, `rm-${randomBytes(8).toString("hex")}`);
      await this.layerLock.run(async () => {
        await fs.rename(dir, trash);
        await fsyncDir(this.containersDir);
      });
      await fs.rm(trash, { recursive: true, force: true });
    });
  }

  /**
   * Deletes the given layers unless a container layer uses them or an unpack of them is in
   * flight. Returns the chain IDs deleted. The caller decides which layers no image needs.
   */
  async deleteLayers(chainIds: Iterable<string>): Promise<string[]> {
    const wanted = [...chainIds];
    wanted.forEach((c) => assertValidDigest(c));
    return this.layerLock.run(async () => {
      const used = await this.usedChainIds();
      const deleted: string[] = [];
      for (const c of wanted) {
        if (used.has(c) || this.inflight.has(c) || !(await this.has(c))) continue;
        await this.deleteLayerLocked(c);
        deleted.push(c);
      }
      return deleted;
    });
  }

  /** Deletes unpacked layers not in `keep` and not used by any container layer. */
  async gc(keep: Set<string>): Promise<number> {
    const candidates = (await this.listLayers()).filter((c) => !keep.has(c));
    return (await this.deleteLayers(candidates)).length;
  }

  private async deleteLayerLocked(chainId: string): Promise<void> {
    const dir = this.layerDir(chainId);
    const meta = await readJsonIfExists<LayerMeta>(path.join(dir, "meta.json")).catch(() => undefined);
    const trash = path.join(this.tmpDir, `rm-${randomBytes(8).toString("hex")}`);
    await fs.rename(dir, trash);
    await fsyncDir(this.layersDir);
    if (meta?.link && /^[A-Za-z0-9]+$/.test(meta.link)) await fs.rm(path.join(this.linksDir, meta.link), { force: true });
    await fs.rm(trash, { recursive: true, force: true });
    this.log.info({ chainId }, "layer deleted");
  }
}

export function assertMountableRoot(root: string): void {
  if (/[,:\n\\]/.test(root)) throw invalidArgument(`open snapshot store ${JSON.stringify(root)}: the path must not contain ',', ':', '\\' or a newline (overlay mount options)`);
}

/** `p`, or the signal's reason once it aborts first. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}
