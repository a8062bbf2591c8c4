import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { parseAddressPool, resolveGroup } from "./daemon.js";

const dir = mkdtempSync(path.join(tmpdir(), "berth-group-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const groupFile = path.join(dir, "group");
writeFileSync(groupFile, "root:x:0:\nadm:x:4:syslog\nberth:x:998:alice,bob\nbroken:x:nope:\n\n");

describe("resolveGroup", () => {
  it("finds a group's gid in the group file", async () => {
    expect(await resolveGroup("berth", groupFile)).toEqual({ name: "berth", gid: 998 });
    expect(await resolveGroup("root", groupFile)).toEqual({ name: "root", gid: 0 });
  });

  it.each([
    ["nobody-here", "daemon --group nobody-here: no such group in GF"],
    ["broken", "daemon --group broken: no such group in GF"],
    ["ber", "daemon --group ber: no such group in GF"],
    ["a:b", 'daemon --group "a:b": not a valid group name'],
    ["", 'daemon --group "": not a valid group name'],
    ["-rf", 'daemon --group "-rf": not a valid group name'],
    ["x".repeat(33), `daemon --group "${"x".repeat(33)}": not a valid group name`],
  ])("refuses %j as a usage error naming it", async (name, message) => {
    const err = await resolveGroup(name, groupFile).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(message.replace("GF", groupFile));
  });

  it("says when the group file cannot be read", async () => {
    await expect(resolveGroup("berth", path.join(dir, "missing"))).rejects.toThrow(/^daemon --group berth: cannot read .*missing: ENOENT/);
  });
});

describe("parseAddressPool (--address-pool)", () => {
  it("takes a block and the size of each network", () => {
    expect(parseAddressPool("10.90.0.0/16:24")).toEqual({ base: "10.90.0.0/16", size: 24 });
  });
  it.each([
    ["10.90.0.0/16", /expected a block and the prefix length of each network/],
    ["10.90.0.0/16:12", /must be between \/16 and \/30/],
    ["10.90.0.1/16:24", /host bits are set/],
    ["10.90.0.0/16:31", /must be between \/16 and \/30/],
  ])("refuses %s", (text, message) => {
    expect(() => parseAddressPool(text)).toThrow(message);
  });
});
