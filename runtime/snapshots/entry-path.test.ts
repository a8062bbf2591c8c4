import { describe, expect, it } from "vitest";
import { classifyWhiteout, entryComponents } from "./entry-path.js";

describe("entryComponents", () => {
  it.each([
    ["etc/passwd", ["etc", "passwd"]],
    ["/etc/passwd", ["etc", "passwd"]],
    ["./a//b/./c/", ["a", "b", "c"]],
    ["./", []],
    ["a..b/..c/c..", ["a..b", "..c", "c.."]],
    ["caf\u00e9", ["caf\u00e9"]],
    ["cafe\u0301", ["cafe\u0301"]],
    ["\uff0e\uff0e\uff0e", ["\uff0e\uff0e\uff0e"]],
  ])("%j → %j", (name, parts) => expect(entryComponents(name)).toEqual(parts));

  it.each([
    ["../etc/passwd", /".." components/],
    ["a/../../b", /".." components/],
    ["/..", /".." components/],
    ["a\0b", /NUL/],
    ["\uff0e\uff0e/etc", /Unicode twin/],
    ["a/\u2025/b", /Unicode twin/],
    ["a\uff0fb", /Unicode twin/],
    ["\u2024", /Unicode twin/],
    ["x".repeat(256), /longer than 255/],
  ])("rejects %j", (name, err) => expect(() => entryComponents(name)).toThrow(err));
});

describe("classifyWhiteout", () => {
  it("recognizes whiteouts and opaque markers", () => {
    expect(classifyWhiteout("file")).toEqual({ kind: "none" });
    expect(classifyWhiteout(".wh.file")).toEqual({ kind: "whiteout", target: "file" });
    expect(classifyWhiteout(".wh..hidden")).toEqual({ kind: "whiteout", target: ".hidden" });
    expect(classifyWhiteout(".wh..wh..opq")).toEqual({ kind: "opaque" });
  });

  it.each([".wh.", ".wh..", ".wh...", ".wh..wh.plnk", ".wh..wh..opqx"])("rejects %j", (name) =>
    expect(() => classifyWhiteout(name)).toThrow(/not a valid whiteout/),
  );
});
