import { describe, expect, it } from "vitest";
import { cleanPath, pathComponents } from "./clean-path.js";

// Go's path.Clean test table (cleantests in src/path/path_test.go), the parts that apply.
describe("cleanPath", () => {
  it.each([
    ["", "."],
    ["abc", "abc"],
    ["abc/def", "abc/def"],
    ["a/b/c", "a/b/c"],
    [".", "."],
    ["..", ".."],
    ["../..", "../.."],
    ["../../abc", "../../abc"],
    ["/abc", "/abc"],
    ["/", "/"],
    ["abc/", "abc"],
    ["abc/def/", "abc/def"],
    ["a/b/c/", "a/b/c"],
    ["./", "."],
    ["../", ".."],
    ["../../", "../.."],
    ["/abc/", "/abc"],
    ["abc//def//ghi", "abc/def/ghi"],
    ["//abc", "/abc"],
    ["///abc", "/abc"],
    ["//abc//", "/abc"],
    ["abc//", "abc"],
    ["abc/./def", "abc/def"],
    ["/./abc/def", "/abc/def"],
    ["abc/.", "abc"],
    ["abc/def/ghi/../jkl", "abc/def/jkl"],
    ["abc/def/../ghi/../jkl", "abc/jkl"],
    ["abc/def/..", "abc"],
    ["abc/def/../..", "."],
    ["/abc/def/../..", "/"],
    ["abc/def/../../..", ".."],
    ["/abc/def/../../..", "/"],
    ["abc/def/../../../ghi/jkl/../../../mno", "../../mno"],
    ["abc/./../def", "def"],
    ["abc//./../def", "def"],
    ["abc/../../././../def", "../../def"],
  ])("%j → %j", (p, want) => expect(cleanPath(p)).toBe(want));
});

describe("pathComponents", () => {
  it.each([
    [".", []],
    ["./a//b/", ["a", "b"]],
    ["/a/b", ["a", "b"]],
    ["a/../..", [".."]],
  ])("%j → %j", (p, want) => expect(pathComponents(p)).toEqual(want));
});
