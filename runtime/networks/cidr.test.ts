import { describe, expect, it } from "vitest";
import { contains, formatCidr, formatIPv4, overlaps, parseCidr, parseIPv4, sizeOf, subnetsOf } from "./cidr.js";

describe("IPv4 and CIDR", () => {
  it("parses and formats addresses strictly", () => {
    expect(parseIPv4("10.1.2.3")).toBe(0x0a010203);
    expect(formatIPv4(0xc0a80001)).toBe("192.168.0.1");
    expect(formatIPv4(parseIPv4("255.255.255.255"))).toBe("255.255.255.255");
    for (const bad of ["10.1.2", "10.1.2.3.4", "010.1.2.3", "256.0.0.1", "1.2.3.-1", "a.b.c.d", " 1.2.3.4", ""]) {
      expect(() => parseIPv4(bad), bad).toThrow(/expected an IPv4 address/);
    }
  });
  it("parses blocks, refusing host bits with a suggestion", () => {
    expect(parseCidr("10.88.0.0/16")).toEqual({ base: 0x0a580000, prefix: 16 });
    expect(formatCidr(parseCidr("0.0.0.0/0"))).toBe("0.0.0.0/0");
    expect(sizeOf(parseCidr("10.0.0.0/24"))).toBe(256);
    expect(() => parseCidr("10.88.1.0/16")).toThrow(/host bits are set \(did you mean 10\.88\.0\.0\/16\?\)/);
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/a"]) expect(() => parseCidr(bad), bad).toThrow(/expected a CIDR block/);
  });
  it("contains and overlaps at the edges", () => {
    const a = parseCidr("10.0.0.0/24");
    expect(contains(a, parseIPv4("10.0.0.0"))).toBe(true);
    expect(contains(a, parseIPv4("10.0.0.255"))).toBe(true);
    expect(contains(a, parseIPv4("10.0.1.0"))).toBe(false);
    expect(overlaps(a, parseCidr("10.0.0.128/25"))).toBe(true);
    expect(overlaps(a, parseCidr("10.0.1.0/24"))).toBe(false);
    expect(overlaps(parseCidr("0.0.0.0/0"), a)).toBe(true);
  });
  it("splits a pool into blocks of a prefix", () => {
    expect([...subnetsOf(parseCidr("192.168.0.0/16"), 20)].map(formatCidr).slice(0, 3)).toEqual(["192.168.0.0/20", "192.168.16.0/20", "192.168.32.0/20"]);
    expect([...subnetsOf(parseCidr("192.168.0.0/16"), 20)]).toHaveLength(16);
    expect([...subnetsOf(parseCidr("10.0.0.0/24"), 16)]).toEqual([]);
  });
});
