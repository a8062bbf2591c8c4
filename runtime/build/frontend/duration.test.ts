import { describe, expect, it } from "vitest";
import { parseGoDuration } from "./duration.js";

describe("parseGoDuration (Go's time.ParseDuration)", () => {
  it.each<[string, number]>([
    ["0", 0],
    ["30s", 30e9],
    ["1m30s", 90e9],
    ["1.5h", 5400e9],
    ["500ms", 500e6],
    ["10us", 10e3],
    ["10µs", 10e3],
    ["7ns", 7],
    ["-1s", -1e9],
    ["+2m", 120e9],
    [".5s", 500e6],
    ["1.s", 1e9],
  ])("%s", (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });
  it.each(["", "5", "5x", "s", ".s", "1d", "1s5", "- 1s", "1 s", "3000000h"])("refuses %j", (text) => {
    expect(() => parseGoDuration(text)).toThrow(/^expected a duration like 30s, 1m30s or 500ms, got /);
  });
});
