import { describe, expect, it } from "vitest";
import { parseMountPoints, planOverlayMount } from "./overlay-mount.js";

const lower = (i: number) => ({ abs: `/var/lib/berth/snapshots/layers/${String(i).padStart(64, "0")}/fs`, short: `l/SHORT${i}` });

describe("planOverlayMount", () => {
  const base = { upper: "/var/lib/berth/snapshots/containers/c/upper", work: "/var/lib/berth/snapshots/containers/c/work", target: "/t", baseDir: "/var/lib/berth/snapshots" };

  it("uses absolute lowerdirs, top first as given, when they fit", () => {
    const plan = planOverlayMount({ ...base, lowers: [lower(2), lower(1)], extraOptions: ["index=off"] });
    expect(plan.relative).toBe(false);
    expect(plan.cwd).toBeUndefined();
    expect(plan.args).toEqual([
      "-t", "overlay", "overlay", "-o",
      `lowerdir=${lower(2).abs}:${lower(1).abs},upperdir=${base.upper},workdir=${base.work},index=off`,
      "/t",
    ]);
  });

  it("switches to short relative paths with cwd when the options exceed the limit", () => {
    const lowers = Array.from({ length: 60 }, (_, i) => lower(60 - i));
    const plan = planOverlayMount({ ...base, lowers });
    expect(plan.relative).toBe(true);
    expect(plan.cwd).toBe(base.baseDir);
    expect(plan.args[4]).toMatch(/^lowerdir=l\/SHORT60:l\/SHORT59:.*,upperdir=containers\/c\/upper,workdir=containers\/c\/work$/);
    expect(Buffer.byteLength(plan.args[4]!)).toBeLessThan(4096);
  });

  it("refuses paths that would break the option syntax", () => {
    expect(() => planOverlayMount({ ...base, lowers: [{ abs: "/a,b", short: "l/x" }] })).toThrow(/contains/);
    expect(() => planOverlayMount({ ...base, lowers: [] })).toThrow(/at least one/);
  });

  it("fails clearly when even short paths do not fit", () => {
    const lowers = Array.from({ length: 400 }, (_, i) => lower(i));
    expect(() => planOverlayMount({ ...base, lowers })).toThrow(/do not fit/);
  });
});

describe("parseMountPoints", () => {
  it("decodes octal escapes", () => {
    const text = "36 35 98:0 / /mnt/a\\040b rw - ext4 /dev/x rw\n37 35 98:0 / /proc rw - proc proc rw\n";
    expect(parseMountPoints(text)).toEqual(["/mnt/a b", "/proc"]);
  });
});
