import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { notFound } from "../../lib/errors.js";
import type { ContainerCommitOptions, ContainerRuntime, ImageRecord, ImageStore } from "../../runtime/types.js";
import type { ReconcilerDeps } from "../reconcilers/context.js";
import type { ContainerReconciler } from "../reconcilers/container/reconciler.js";
import { keyOf } from "../store/keys.js";
import { ControllerService } from "./service.js";

const IMAGE = `sha256:${"1".repeat(64)}`;
const image = { digest: IMAGE, configDigest: `sha256:${"2".repeat(64)}`, config: { Cmd: ["sh"], Env: ["PATH=/bin"] } } as ImageRecord;

/**
 * The facade over stub stores: a desired Container "web" whose runtime container runs
 * IMAGE; what reached the runtime is recorded.
 */
function service(o: { imageGone?: boolean; runtime?: Partial<ContainerRuntime> } = {}) {
  const commits: { name: string; options: ContainerCommitOptions }[] = [];
  const exports: string[] = [];
  const containers: Partial<ContainerRuntime> = {
    inspect: async (name) => ({ id: "x", name, labels: {}, image: "localhost/base:1", imageDigest: IMAGE, status: "running", oomKilled: false, createdAt: "t" }),
    changes: async () => [{ kind: "A", path: "/x" }],
    commit: async (name, options) => {
      commits.push({ name, options });
      return { ...image, digest: `sha256:${"3".repeat(64)}` };
    },
    export: async (name, out) => {
      exports.push(name);
      (out as PassThrough).end("tar");
    },
    ...o.runtime,
  };
  const images: Partial<ImageStore> = {
    get: async (ref) => {
      if (o.imageGone || ref !== IMAGE) throw notFound(`get image ${ref}: not found`);
      return image;
    },
    history: async () => [{ emptyLayer: false, size: 5 }],
  };
  const stored = { key: keyOf("Container", "web"), kind: "Container", name: "web" };
  const deps = { desired: { get: (k: string) => (k === stored.key ? stored : undefined) }, runtime: { containers, images } } as unknown as ReconcilerDeps;
  const api = new ControllerService(deps, {} as ContainerReconciler, { version: "0", root: "/r", runRoot: "/rr", startedAtMs: 0, allowPrivileged: false });
  return { api, commits, exports };
}

describe("the facade's container layer verbs", () => {
  it("commit applies --change over the config of the image the container runs", async () => {
    const s = service();
    await s.api.commit("web", { reference: "localhost/web:2", changes: ['CMD ["top"]', "ENV MODE=x"], comment: "fixed", author: "me" });
    expect(s.commits).toEqual([
      { name: "web", options: { reference: "localhost/web:2", config: { Cmd: ["top"], Env: ["PATH=/bin", "MODE=x"] }, comment: "fixed", author: "me" } },
    ]);
    await s.api.commit("web", {});
    expect(s.commits[1]).toEqual({ name: "web", options: {} }); // the runtime keeps the image's config
  });

  it("commit refuses a bad change (before anything), a bad reference, an unknown container; an image gone with changes", async () => {
    const s = service();
    await expect(s.api.commit("nope", { changes: ["FROM x"] })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringMatching(/^commit container nope: change "FROM x": FROM is not a valid change command/) });
    await expect(s.api.commit("web", { reference: "Bad Name" })).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringMatching(/^commit container web: /) });
    await expect(s.api.commit("nope", {})).rejects.toMatchObject({ kind: "NotFound", message: "commit container nope: not found", object: { kind: "Container", name: "nope" } });
    expect(s.commits).toEqual([]);
    const gone = service({ imageGone: true });
    await expect(gone.api.commit("web", { changes: ["USER nobody"] })).rejects.toMatchObject({
      kind: "FailedPrecondition",
      message: `commit container web: its image localhost/base:1 (${IMAGE}) is no longer in the store, so there is no config to apply the changes to`,
    });
    await gone.api.commit("web", {}); // without changes nothing of the image is needed here
    expect(gone.commits).toHaveLength(1);
  });

  it("diff and export go to the runtime for a known container; a runtime without them is NotImplemented", async () => {
    const s = service();
    expect(await s.api.changes("web")).toEqual([{ kind: "A", path: "/x" }]);
    await expect(s.api.changes("nope")).rejects.toMatchObject({ kind: "NotFound", message: "diff container nope: not found" });
    const out = new PassThrough();
    await s.api.exportContainer("web", out, new AbortController().signal);
    expect(String(out.read())).toBe("tar");
    await expect(s.api.exportContainer("nope", new PassThrough(), new AbortController().signal)).rejects.toMatchObject({ kind: "NotFound", message: "export container nope: not found" });
    const bare = service({ runtime: { changes: undefined, commit: undefined, export: undefined } });
    await expect(bare.api.changes("web")).rejects.toMatchObject({ kind: "NotImplemented" });
    await expect(bare.api.commit("web", {})).rejects.toMatchObject({ kind: "NotImplemented" });
    await expect(bare.api.exportContainer("web", new PassThrough(), new AbortController().signal)).rejects.toMatchObject({ kind: "NotImplemented" });
  });

  it("image history comes with the image's ID", async () => {
    expect(await service().api.imageHistory(IMAGE)).toEqual({ id: image.configDigest, items: [{ emptyLayer: false, size: 5 }] });
  });
});
