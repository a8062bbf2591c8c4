import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkBindSource } from "./mounts.js";

// The second line of defence behind controller/manifests/host-binds.ts: a symlink that now
// leads to an ancestor of berth's state is refused at start, whatever the apply judged.
describe("bind sources that reach an ancestor of berth's state", () => {
  let base: string;
  let prot: string[];
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), "berth-mnt-anc-"));
    await mkdir(path.join(base, "srv", "state"), { recursive: true });
    await mkdir(path.join(base, "home"));
    prot = [path.join(base, "srv", "state")];
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("refuses a symlink to an ancestor (swapped in after the apply), or through one", async () => {
    await symlink("/", path.join(base, "home", "to-root"));
    await symlink(path.join(base, "srv"), path.join(base, "home", "to-srv"));
    await symlink(base, path.join(base, "home", "to-base"));
    for (const src of ["to-root", "to-srv", "to-base", "to-base/srv"]) {
      await expect(checkBindSource(path.join(base, "home", src), prot, "c"), src).rejects.toMatchObject({
        kind: "InvalidArgument",
        message: expect.stringMatching(/resolves through a symlink to .*, which contains berth's own /),
      });
    }
  });

  it("leaves an ancestor named as such to the apply's judgment, and siblings alone", async () => {
    expect(await checkBindSource(path.join(base, "srv"), prot, "c")).toBe(path.join(base, "srv"));
    expect(await checkBindSource("/", prot, "c")).toBe("/");
    expect(await checkBindSource(path.join(base, "home"), prot, "c")).toBe(path.join(base, "home"));
    await symlink(path.join(base, "home"), path.join(base, "to-home"));
    expect(await checkBindSource(path.join(base, "to-home"), prot, "c")).toBe(path.join(base, "home"));
  });
});
