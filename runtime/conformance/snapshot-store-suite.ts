import { createHash } from "node:crypto";
import { promises as fs, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Descriptor, SnapshotStore } from "../types.js";

/**
 * The SnapshotStore conformance suite: FsSnapshotStore (runtime/snapshots) and the test
 * overlay store (test/helpers/rootfs.ts) pass the same tests — `has`, container layers
 * prepared over a base layer with real overlay mounts, unmount and remount (also across a
 * reboot), idempotent removal, and the error kinds of each. What only a store that really
 * unpacks and collects layers can honour runs under a capability; the others report those
 * tests as skipped with the capability in the name.
 *
 * Needs root and overlayfs (the caller gates on them). Each test opens a harness in
 * beforeEach; afterEach removes every container layer the test prepared, then calls
 * `cleanup`, also when the test failed.
 */

/** What a store under test can do beyond the operations every store honours. */
export interface SnapshotSuiteCapabilities {
  /** `unpack` unpacks layer blobs (from `layerBlob`) over any parent it has; needs `layerBlob`. */
  layers?: boolean;
  /** `gc` deletes the layers not kept that no container layer uses (with `layers`). */
  gc?: boolean;
}

/** A snapshot store under test over one base layer it has. */
export interface SnapshotSuiteHarness {
  /** The store under test; `reboot` replaces it, so always read it from here. */
  readonly snapshots: SnapshotStore;
  /** A real path (no symlinks) every file and mount of the store lives under. */
  readonly dir: string;
  /** A one-layer chain the store has, and at least two of its regular files (path under the root → content). */
  readonly base: { chainId: string; files: Record<string, string> };
  /** Stores a layer blob of these regular files where the store reads blobs from; with capability `layers`. */
  layerBlob?(files: Record<string, string>): Promise<{ layer: Descriptor; diffId: string }>;
  /** A reboot: every mount under `dir` is gone and a new store instance opens on the same state. */
  reboot(): Promise<void>;
  /** Unmounts and deletes whatever the test left under `dir`. */
  cleanup(): Promise<void>;
}

const UNKNOWN_CHAIN = `sha256:${"0".repeat(64)}`;

/** Mount points at or below `dir`, from this mount namespace's mountinfo (field 5, octal escapes decoded). */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort();
}

const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

/** The OCI chain ID of `diffId` over `parent` (image-spec config.md), computed here, not by the store. */
const chainOf = (parent: string, diffId: string) => `sha256:${createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`;

export function snapshotStoreSuite(name: string, open: () => Promise<SnapshotSuiteHarness>, capabilities: SnapshotSuiteCapabilities = {}): void {
  describe(`SnapshotStore conformance: ${name}`, () => {
    let h: SnapshotSuiteHarness | undefined;
    const prepared = new Set<string>();
    const ctr = (n: number) => n.toString(16).padStart(64, "c");
    const harness = (): SnapshotSuiteHarness => {
      if (!h) throw new Error("harness not open");
      return h;
    };
    const store = () => harness().snapshots;
    const baseFiles = () => Object.entries(harness().base.files);
    /** prepare, remembering the id for afterEach. */
    const prepare = (id: string, chainIds: string[]) => {
      prepared.add(id);
      return store().prepare(id, chainIds);
    };
    const read = (rootfs: string, rel: string) => fs.readFile(path.join(rootfs, rel), "utf8");
    const write = async (rootfs: string, rel: string, data: string) => {
      await fs.mkdir(path.dirname(path.join(rootfs, rel)), { recursive: true });
      await fs.writeFile(path.join(rootfs, rel), data);
    };

    beforeEach(async () => {
      h = await open();
      expect(baseFiles().length, "the harness names at least two files of the base layer").toBeGreaterThanOrEqual(2);
    });

    afterEach(async () => {
      if (!h) return;
      try {
        for (const id of prepared) await h.snapshots.removeContainerLayer(id);
      } finally {
        prepared.clear();
        const done = h;
        h = undefined;
        await done.cleanup();
      }
    });

    describe("layers", () => {
      it("has the base chain, and not an unknown one", async () => {
        expect(await store().has(harness().base.chainId)).toBe(true);
        expect(await store().has(UNKNOWN_CHAIN)).toBe(false);
        expect(await store().has(chainOf(harness().base.chainId, UNKNOWN_CHAIN))).toBe(false);
      });
    });

    describe("prepare", () => {
      it("mounts a rootfs showing the base's files; writes land in that container layer only", async () => {
        const { chainId } = harness().base;
        const [[changed, original], [deleted, kept]] = baseFiles() as [[string, string], [string, string]];
        const a = await prepare(ctr(1), [chainId]);
        expect(mountsUnder(harness().dir)).toEqual([a.rootfs]);
        for (const [rel, data] of baseFiles()) expect(await read(a.rootfs, rel), rel).toBe(data);

        await write(a.rootfs, "conformance/new.txt", "written in a\n");
        await fs.writeFile(path.join(a.rootfs, changed), "changed in a\n");
        await fs.rm(path.join(a.rootfs, deleted));

        const b = await prepare(ctr(2), [chainId]);
        expect(b.rootfs).not.toBe(a.rootfs);
        expect(mountsUnder(harness().dir)).toEqual([a.rootfs, b.rootfs].sort());
        expect(await exists(path.join(b.rootfs, "conformance/new.txt"))).toBe(false);
        expect(await read(b.rootfs, changed)).toBe(original);
        expect(await read(b.rootfs, deleted)).toBe(kept);

        expect(await read(a.rootfs, "conformance/new.txt")).toBe("written in a\n");
        expect(await read(a.rootfs, changed)).toBe("changed in a\n");
        expect(await exists(path.join(a.rootfs, deleted))).toBe(false);
      });

      it("is idempotent for the same layers (same rootfs, mounted once, writes kept), also concurrently; other layers are Conflict", async () => {
        const { chainId } = harness().base;
        const a = await prepare(ctr(1), [chainId]);
        await write(a.rootfs, "conformance/a.txt", "a\n");
        expect(await prepare(ctr(1), [chainId])).toEqual(a);
        expect(mountsUnder(harness().dir)).toEqual([a.rootfs]);
        expect(await read(a.rootfs, "conformance/a.txt")).toBe("a\n");
        await expect(prepare(ctr(1), [])).rejects.toMatchObject({ kind: "Conflict" });

        const racing = await Promise.all([1, 2, 3, 4].map(() => prepare(ctr(2), [chainId])));
        for (const r of racing) expect(r).toEqual(racing[0]);
        expect(mountsUnder(harness().dir)).toEqual([a.rootfs, racing[0]!.rootfs].sort());
      });

      it("prepares over zero layers: an empty, writable rootfs", async () => {
        const { rootfs } = await prepare(ctr(1), []);
        expect(mountsUnder(harness().dir)).toEqual([rootfs]);
        expect(await fs.readdir(rootfs)).toEqual([]);
        await write(rootfs, "only.txt", "x\n");
        expect(await read(rootfs, "only.txt")).toBe("x\n");
      });

      it("refuses layers the store does not have (FailedPrecondition) and leaves no container layer behind", async () => {
        const { chainId } = harness().base;
        await expect(prepare(ctr(1), [UNKNOWN_CHAIN])).rejects.toMatchObject({ kind: "FailedPrecondition" });
        await expect(prepare(ctr(1), [chainId, UNKNOWN_CHAIN])).rejects.toMatchObject({ kind: "FailedPrecondition" });
        expect(mountsUnder(harness().dir)).toEqual([]);
        await expect(store().mount(ctr(1))).rejects.toMatchObject({ kind: "NotFound" });
        // Nothing of the failed attempts is left: the id is free for any layers.
        const { rootfs } = await prepare(ctr(1), [chainId]);
        expect(mountsUnder(harness().dir)).toEqual([rootfs]);
      });

      it("refuses an id that is not a container id, and a chain id that is not a digest (InvalidArgument)", async () => {
        const { chainId } = harness().base;
        for (const bad of ["../escape", "Bad", "", ctr(1).toUpperCase(), `${ctr(1)}/x`]) {
          await expect(store().prepare(bad, [chainId]), bad).rejects.toMatchObject({ kind: "InvalidArgument" });
          await expect(store().mount(bad), bad).rejects.toMatchObject({ kind: "InvalidArgument" });
          await expect(store().unmount(bad), bad).rejects.toMatchObject({ kind: "InvalidArgument" });
          await expect(store().removeContainerLayer(bad), bad).rejects.toMatchObject({ kind: "InvalidArgument" });
        }
        await expect(prepare(ctr(1), ["busybox"])).rejects.toMatchObject({ kind: "InvalidArgument" });
        await expect(prepare(ctr(1), [chainId, "sha256:XYZ"])).rejects.toMatchObject({ kind: "InvalidArgument" });
        expect(mountsUnder(harness().dir)).toEqual([]);
      });
    });

    describe("mount and unmount", () => {
      it("unmount then mount shows the same writes; both are idempotent", async () => {
        const a = await prepare(ctr(1), [harness().base.chainId]);
        await write(a.rootfs, "conformance/kept.txt", "kept\n");
        await store().unmount(ctr(1));
        await store().unmount(ctr(1));
        expect(mountsUnder(harness().dir)).toEqual([]);
        expect(await exists(path.join(a.rootfs, "conformance/kept.txt"))).toBe(false);

        expect(await store().mount(ctr(1))).toEqual(a);
        expect(await store().mount(ctr(1))).toEqual(a);
        await store().unmount(ctr(1));
        expect(await Promise.all([1, 2, 3, 4].map(() => store().mount(ctr(1))))).toEqual([a, a, a, a]);
        expect(mountsUnder(harness().dir)).toEqual([a.rootfs]);
        expect(await read(a.rootfs, "conformance/kept.txt")).toBe("kept\n");
        for (const [rel, data] of baseFiles()) expect(await read(a.rootfs, rel), rel).toBe(data);
      });

      it("after a reboot (every mount gone, the store reopened) mount brings a container layer back with its writes", async () => {
        const { chainId } = harness().base;
        const a = await prepare(ctr(1), [chainId]);
        const z = await prepare(ctr(2), []);
        await write(a.rootfs, "conformance/kept.txt", "kept\n");
        await write(z.rootfs, "kept.txt", "kept in z\n");
        await harness().reboot();
        expect(mountsUnder(harness().dir)).toEqual([]);
        expect(await store().has(chainId)).toBe(true);

        await store().unmount(ctr(1));
        expect(await store().mount(ctr(1))).toEqual(a);
        expect(await store().mount(ctr(2))).toEqual(z);
        expect(mountsUnder(harness().dir)).toEqual([a.rootfs, z.rootfs].sort());
        expect(await read(a.rootfs, "conformance/kept.txt")).toBe("kept\n");
        for (const [rel, data] of baseFiles()) expect(await read(a.rootfs, rel), rel).toBe(data);
        expect(await fs.readdir(z.rootfs)).toEqual(["kept.txt"]);
        // prepare of a prepared layer after the reboot is the same idempotent prepare
        expect(await prepare(ctr(1), [chainId])).toEqual(a);
      });

      it("mount of a container layer never prepared is NotFound", async () => {
        await expect(store().mount(ctr(7))).rejects.toMatchObject({ kind: "NotFound" });
        expect(mountsUnder(harness().dir)).toEqual([]);
      });
    });

    describe("removeContainerLayer", () => {
      it("unmounts and deletes: nothing mounted, the rootfs path gone, the id free; idempotent, also for an id never prepared", async () => {
        const { chainId } = harness().base;
        const a = await prepare(ctr(1), [chainId]);
        const b = await prepare(ctr(2), [chainId]);
        await write(a.rootfs, "conformance/a.txt", "a\n");
        await write(b.rootfs, "conformance/b.txt", "b\n");

        await store().removeContainerLayer(ctr(1));
        await store().removeContainerLayer(ctr(1));
        expect(mountsUnder(harness().dir)).toEqual([b.rootfs]);
        expect(await exists(a.rootfs)).toBe(false);
        await expect(store().mount(ctr(1))).rejects.toMatchObject({ kind: "NotFound" });
        await store().unmount(ctr(1));
        expect(await read(b.rootfs, "conformance/b.txt")).toBe("b\n");

        await store().unmount(ctr(9));
        await store().removeContainerLayer(ctr(9));
        await store().unmount(ctr(9));

        // Prepared again, the id starts from the base: the old writes went with the layer.
        const again = await prepare(ctr(1), [chainId]);
        expect(await exists(path.join(again.rootfs, "conformance/a.txt"))).toBe(false);
        for (const [rel, data] of baseFiles()) expect(await read(again.rootfs, rel), rel).toBe(data);

        await store().removeContainerLayer(ctr(1));
        await store().unmount(ctr(2));
        await store().removeContainerLayer(ctr(2));
        expect(mountsUnder(harness().dir)).toEqual([]);
        expect(await exists(b.rootfs)).toBe(false);
        expect(await store().has(chainId)).toBe(true);
      });

      it("removes a container layer whose rootfs is busy (a file open in it)", async () => {
        const [[rel]] = baseFiles() as [[string, string]];
        const { rootfs } = await prepare(ctr(1), [harness().base.chainId]);
        const fh = await fs.open(path.join(rootfs, rel), "r");
        try {
          await store().removeContainerLayer(ctr(1));
          expect(mountsUnder(harness().dir)).toEqual([]);
          expect(await exists(rootfs)).toBe(false);
        } finally {
          await fh.close();
        }
      });
    });

    describe("unpack and gc", () => {
      const layersReason = capabilities.layers ? "" : " (skipped: needs capability layers)";
      const gcReason = capabilities.layers && capabilities.gc ? "" : " (skipped: needs capabilities layers and gc)";
      const blob = (files: Record<string, string>) => {
        const make = harness().layerBlob;
        if (!make) throw new Error("capability layers needs harness.layerBlob");
        return make(files);
      };

      it.skipIf(!capabilities.layers)(`unpack returns the chain id and is idempotent, also concurrently; a layer stacks over its parent${layersReason}`, async () => {
        const base = harness().base.chainId;
        const [[changed], [untouched, untouchedData]] = baseFiles() as [[string, string], [string, string]];
        const child = await blob({ [changed]: "from the child layer\n", "conformance/child.txt": "child\n" });
        const id = chainOf(base, child.diffId);
        expect(await store().has(id)).toBe(false);
        expect(await store().unpack(base, child.layer, child.diffId)).toBe(id);
        expect(await store().unpack(base, child.layer, child.diffId)).toBe(id);
        expect(await Promise.all([1, 2, 3].map(() => store().unpack(base, child.layer, child.diffId)))).toEqual([id, id, id]);
        expect(await store().has(id)).toBe(true);
        const root = await blob({ "conformance/root.txt": "root\n" });
        expect(await Promise.all([1, 2].map(() => store().unpack(undefined, root.layer, root.diffId)))).toEqual([root.diffId, root.diffId]);
        expect(await store().has(root.diffId)).toBe(true);

        const { rootfs } = await prepare(ctr(1), [base, id]);
        expect(await read(rootfs, changed)).toBe("from the child layer\n");
        expect(await read(rootfs, untouched)).toBe(untouchedData);
        expect(await read(rootfs, "conformance/child.txt")).toBe("child\n");
        expect(await exists(path.join(rootfs, "conformance/root.txt"))).toBe(false);

        const orphan = await blob({ "conformance/orphan.txt": "o\n" });
        await expect(store().unpack(UNKNOWN_CHAIN, orphan.layer, orphan.diffId)).rejects.toMatchObject({ kind: "FailedPrecondition" });
        expect(await store().has(chainOf(UNKNOWN_CHAIN, orphan.diffId))).toBe(false);
      });

      it.skipIf(!(capabilities.layers && capabilities.gc))(`gc never deletes a layer a container layer uses (mounted or not) and deletes the unkept ones${gcReason}`, async () => {
        const base = harness().base.chainId;
        const c = await blob({ "conformance/child.txt": "child\n" });
        const child = await store().unpack(base, c.layer, c.diffId);
        const o = await blob({ "conformance/other.txt": "other\n" });
        const other = await store().unpack(undefined, o.layer, o.diffId);
        const k = await blob({ "conformance/kept.txt": "kept\n" });
        const kept = await store().unpack(undefined, k.layer, k.diffId);
        const { rootfs } = await prepare(ctr(1), [base, child]);
        await prepare(ctr(2), [base]);

        expect(await store().gc(new Set([kept]))).toBe(1);
        expect(await store().has(other)).toBe(false);
        for (const c of [base, child, kept]) expect(await store().has(c), c).toBe(true);
        expect(await read(rootfs, "conformance/child.txt")).toBe("child\n");

        // A container layer that is not mounted (after a reboot) still holds its layers.
        await harness().reboot();
        expect(await store().gc(new Set())).toBe(1);
        for (const c of [base, child]) expect(await store().has(c), c).toBe(true);
        expect(await store().has(kept)).toBe(false);
        await store().mount(ctr(1));
        expect(await read(rootfs, "conformance/child.txt")).toBe("child\n");

        await store().removeContainerLayer(ctr(1));
        expect(await store().gc(new Set([base]))).toBe(1);
        expect(await store().has(child)).toBe(false);
        expect(await store().has(base)).toBe(true);
        await store().removeContainerLayer(ctr(2));
        expect(await store().gc(new Set())).toBe(1);
        expect(await store().has(base)).toBe(false);
        expect(await store().gc(new Set())).toBe(0);
        expect(mountsUnder(harness().dir)).toEqual([]);
      });
    });
  });
}
