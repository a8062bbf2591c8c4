import { describe, expect, it } from "vitest";
import { formatDuration, formatSize, parseDuration, parseSize } from "./units.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    ["2h45m", 9_900_000],
    ["100us", 0.1],
  ])("%s is %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["", "10", "s", "1x", "-1s", "1 s", "1m 30s", "ms10"])("rejects %j", (text) =>
    expect(() => parseDuration(text)).toThrow(/invalid duration/),
  );

  it("formats", () => {
    expect(formatDuration(250)).toBe("250ms");
    expect(formatDuration(90_000)).toBe("1m30s");
    expect(formatDuration(3_600_000)).toBe("1h");
    expect(formatDuration(0)).toBe("0ms");
    expect(formatDuration(5000)).toBe("5s");
  });
});

describe("parseSize", () => {
  it.each([
    ["64Mi", 64 * 1024 ** 2],
    ["1G", 1e9],
    ["1Gi", 1024 ** 3],
    ["512m", 512 * 1024 ** 2],
    ["100k", 102_400],
    ["4096", 4096],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["10MB", 10_000_000],
  ])("%s is %d bytes", (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(["", "Mi", "1X", "-1", "1 Mi", "1mi"])("rejects %j", (text) =>
    expect(() => parseSize(text)).toThrow(/invalid size/),
  );

  it("takes whole numbers as bytes", () => {
    expect(parseSize(1024)).toBe(1024);
    expect(() => parseSize(1.5)).toThrow();
  });

  it("formats", () => {
    expect(formatSize(512)).toBe("512B");
    expect(formatSize(64 * 1024 ** 2)).toBe("64MiB");
    expect(formatSize(1.5 * 1024 ** 3)).toBe("1.5GiB");
  });
});
