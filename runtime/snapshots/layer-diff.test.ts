import { describe, expect, it } from "vitest";
import { changesOf, dropPlaceholders, parseOpaque, type LowerLookup, type UpperEntry } from "./layer-diff.js";

const e = (rel: string, type: UpperEntry["type"], extra: Partial<UpperEntry> = {}): UpperEntry => ({ rel, type, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: new Date(0), ino: 1, nlink: 1, rdev: 0, ...extra });

/** An image with these paths (directories end with /). */
const image = (...paths: string[]): LowerLookup => async (rel) => (paths.includes(`${rel}/`) ? "dir" : paths.includes(rel) ? "other" : undefined);

describe("parseOpaque", () => {
  it("takes the directories getfattr reports with trusted.overlay.opaque=y, relative, names unescaped", () => {
    const out = ["# file: /u/usr", 'trusted.overlay.opaque="y"', "", "# file: /u/a\\040b", 'trusted.overlay.opaque="y"', "", "# file: /u/x", 'trusted.overlay.opaque="n"', ""].join("\n");
    expect([...parseOpaque(out, "/u")]).toEqual(["usr", "a b"]);
  });
});

describe("changesOf", () => {
  it("A for paths the image lacks, C for ones it has, D for whiteouts; contents of added or opaque directories are A", async () => {
    const entries = [e("bin", "dir"), e("bin/vi", "whiteout"), e("etc", "dir"), e("etc/passwd", "file"), e("srv", "dir"), e("srv/x", "file"), e("usr", "dir", { opaque: true }), e("usr/bin", "dir")];
    const lower = image("bin/", "bin/vi", "etc/", "etc/passwd", "usr/", "usr/bin/");
    expect(await changesOf(entries, lower)).toEqual([
      { kind: "C", path: "/bin" },
      { kind: "D", path: "/bin/vi" },
      { kind: "C", path: "/etc" },
      { kind: "C", path: "/etc/passwd" },
      { kind: "A", path: "/srv" },
      { kind: "A", path: "/srv/x" },
      { kind: "C", path: "/usr" },
      { kind: "A", path: "/usr/bin" },
    ]);
  });
});

describe("dropPlaceholders", () => {
  const mounts = ["/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf", "/data"];

  it("drops empty mount points the image lacks and directories that only led to them", async () => {
    const entries = [e("data", "dir"), e("etc", "dir"), e("etc/hosts", "file"), e("etc/resolv.conf", "file"), e("proc", "dir"), e("srv", "dir")];
    const kept = await dropPlaceholders(entries, mounts, image("etc/"));
    // /srv is an empty directory the container made: a change
    expect(kept.map((k) => k.rel)).toEqual(["srv"]);
  });

  it("keeps a mount point with content, one the image has, and the directory of a real change", async () => {
    const entries = [e("etc", "dir"), e("etc/hosts", "file"), e("etc/passwd", "file", { size: 4 }), e("data", "dir"), e("data/file", "file"), e("proc", "dir")];
    const kept = await dropPlaceholders(entries, mounts, image("etc/", "proc/"));
    expect(kept.map((k) => k.rel)).toEqual(["etc", "etc/passwd", "data", "data/file", "proc"]);
  });

  it("keeps an opaque directory even when only placeholders are under it", async () => {
    const entries = [e("etc", "dir", { opaque: true }), e("etc/hosts", "file")];
    const kept = await dropPlaceholders(entries, mounts, image("etc/"));
    expect(kept.map((k) => k.rel)).toEqual(["etc"]);
  });
});
