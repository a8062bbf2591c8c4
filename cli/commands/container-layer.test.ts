import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { containerView, fakeImageRecord, startHarness, type Harness } from "../testing.js";
import { diffMode, runCommit, runContainerDiff, runExport } from "./container-layer.js";

describe("berth diff CONTAINER, commit, export (through the API, against a fake controller)", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.put(containerView("web"));
  });
  afterEach(() => h.close());

  it("diff prints docker diff's lines; an unknown container is NotFound naming it", async () => {
    h.fake.changeList = [
      { kind: "C", path: "/etc" },
      { kind: "D", path: "/etc/motd" },
      { kind: "A", path: "/srv/new file" },
    ];
    expect(await runContainerDiff(h.ctx, "web")).toBe(0);
    expect(h.stdout.text).toBe("C /etc\nD /etc/motd\nA /srv/new file\n");
    await expect(runContainerDiff(h.ctx, "nope")).rejects.toMatchObject({ kind: "NotFound", message: "diff container nope: not found" });
  });

  it("diff takes a CONTAINER or -f, not both, not neither", () => {
    expect(diffMode("web", undefined, [])).toBe("container");
    expect(diffMode(undefined, ["a.yaml"], ["prune"])).toBe("manifest");
    expect(() => diffMode("web", ["a.yaml"], [])).toThrow(new UsageError("diff: give either -f FILE (what apply would change) or a CONTAINER (its changes to its image), not both"));
    expect(() => diffMode("web", undefined, ["stack"])).toThrow(UsageError);
    expect(() => diffMode(undefined, undefined, [])).toThrow(new UsageError("diff: expected -f FILE (what apply would change) or a CONTAINER (its changes to its image)"));
  });

  it("commit sends the reference, changes, message and author, and prints the new image ID", async () => {
    h.fake.commitResult = fakeImageRecord({ configDigest: `sha256:${"7".repeat(64)}` });
    expect(await runCommit(h.ctx, "web", "localhost/web:2", { change: ['CMD ["sh"]', "ENV A=1"], message: "fixed", author: "me" })).toBe(0);
    expect(h.stdout.text).toBe(`sha256:${"7".repeat(64)}\n`);
    expect(h.fake.commits).toEqual([{ name: "web", req: { reference: "localhost/web:2", changes: ['CMD ["sh"]', "ENV A=1"], comment: "fixed", author: "me" } }]);
    await runCommit(h.ctx, "web", undefined, { change: [] });
    expect(h.fake.commits[1]).toEqual({ name: "web", req: {} });
  });

  it("commit refuses a bad --change or reference before asking the daemon", async () => {
    await expect(runCommit(h.ctx, "web", undefined, { change: ["ENV A=1", "COPY . /"] })).rejects.toMatchObject({
      kind: "InvalidArgument",
      message: 'commit container web: change "COPY . /": COPY is not a valid change command (expected CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)',
    });
    await expect(runCommit(h.ctx, "web", "localhost/web@sha256:" + "a".repeat(64), { change: [] })).rejects.toMatchObject({
      kind: "InvalidArgument",
      message: `commit container web: parse reference "localhost/web@sha256:${"a".repeat(64)}": a digest reference cannot name a tag`,
    });
    await expect(runCommit(h.ctx, "nope", undefined, { change: [] })).rejects.toMatchObject({ kind: "NotFound", message: "commit container nope: not found" });
    expect(h.fake.commits).toEqual([]);
  });

  it("export writes the tar to a file whole, or to standard output; never to a terminal", async () => {
    h.fake.exportBytes = Buffer.from("pretend this is a tar".repeat(1000));
    const file = path.join(h.dir, "web.tar");
    expect(await runExport(h.ctx, "web", { output: file })).toBe(0);
    expect(readFileSync(file)).toEqual(h.fake.exportBytes);
    expect(await runExport(h.ctx, "web", {})).toBe(0);
    expect(h.stdout.text).toBe(h.fake.exportBytes.toString());
    const tty = await startHarness({ tty: true });
    try {
      tty.fake.put(containerView("web"));
      await expect(runExport(tty.ctx, "web", {})).rejects.toMatchObject({ kind: "InvalidArgument", message: "export container web: refusing to write a tar to a terminal; use -o FILE or redirect standard output" });
    } finally {
      await tty.close();
    }
  });

  it("an export cut off after it began is Unavailable and leaves no file; before it began, the daemon's error", async () => {
    h.fake.exportBytes = Buffer.alloc(64 * 1024, 1);
    h.fake.exportFailsAfter = 1000;
    const file = path.join(h.dir, "cut.tar");
    await expect(runExport(h.ctx, "web", { output: file })).rejects.toMatchObject({ kind: "Unavailable", message: expect.stringMatching(/^export container web: the transfer from .* broke off after \d+ bytes: /) });
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(h.dir).filter((n) => n.includes("cut.tar"))).toEqual([]);
    await expect(runExport(h.ctx, "nope", { output: file })).rejects.toMatchObject({ kind: "NotFound", message: "export container nope: not found" });
    expect(existsSync(file)).toBe(false);
  });
});
