import { describe, expect, it } from "vitest";
import { formatTable, humanDuration } from "./table.js";

describe("formatTable", () => {
  it("aligns columns and trims the last", () => {
    expect(formatTable(["NAME", "SIZE"], [["busybox", "1MB"], ["a", "12MB"]])).toBe("NAME      SIZE\nbusybox   1MB\na         12MB\n");
  });
});

describe("humanDuration (Docker's wording)", () => {
  it.each([
    [0, "Less than a second"],
    [1000, "1 second"],
    [45_000, "45 seconds"],
    [60_000, "About a minute"],
    [180_000, "3 minutes"],
    [3_600_000, "About an hour"],
    [5 * 3_600_000, "5 hours"],
    [3 * 86_400_000, "3 days"],
    [21 * 86_400_000, "3 weeks"],
  ])("%d ms → %s", (ms, text) => expect(humanDuration(ms)).toBe(text));
});
