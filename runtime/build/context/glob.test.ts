import { describe, expect, it } from "vitest";
import { isBerthError } from "../../../lib/errors.js";
import { checkPattern, hasGlobMeta, matchPath } from "./glob.js";

// The facts of Go's src/path/filepath/match_test.go (Linux: `\` escapes), plus the cases
// Docker users trip over. "bad" is ErrBadPattern.
const table: Array<[pattern: string, name: string, want: boolean | "bad"]> = [
  ["abc", "abc", true],
  ["*", "abc", true],
  ["*c", "abc", true],
  ["a*", "a", true],
  ["a*", "abc", true],
  ["a*", "ab/c", false],
  ["a*/b", "abc/b", true],
  ["a*/b", "a/c/b", false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
  ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[c]", "abc", true],
  ["ab[b-d]", "abc", true],
  ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false],
  ["ab[^b-d]", "abc", false],
  ["ab[^e-g]", "abc", true],
  ["a\\*b", "a*b", true],
  ["a\\*b", "ab", false],
  ["a?b", "a☺b", true],
  ["a[^a]b", "a☺b", true],
  ["a???b", "a☺b", false],
  ["a[^a][^a][^a]b", "a☺b", false],
  ["[a-ζ]*", "α", true],
  ["*[a-ζ]", "A", false],
  ["a?b", "a/b", false],
  ["a*b", "a/b", false],
  ["[\\]a]", "]", true],
  ["[\\-]", "-", true],
  ["[x\\-]", "x", true],
  ["[x\\-]", "-", true],
  ["[x\\-]", "z", false],
  ["[\\-x]", "x", true],
  ["[\\-x]", "-", true],
  ["[\\-x]", "a", false],
  ["[]a]", "]", "bad"],
  ["[-]", "-", "bad"],
  ["[x-]", "x", "bad"],
  ["[x-]", "-", "bad"],
  ["[x-]", "z", "bad"],
  ["[-x]", "x", "bad"],
  ["[-x]", "-", "bad"],
  ["[-x]", "a", "bad"],
  ["\\", "a", "bad"],
  ["[a-b-c]", "a", "bad"],
  ["[", "a", "bad"],
  ["[^", "a", "bad"],
  ["[^bc", "a", "bad"],
  ["a[", "a", "bad"],
  ["a[", "ab", "bad"],
  ["a[", "x", "bad"],
  ["a/b[", "x", "bad"],
  ["*x", "xxx", true],
  // Beyond Go's table: what COPY sources meet.
  ["*", ".hidden", true], // no dotfile rule
  ["*", "", true],
  ["", "", true],
  ["", "a", false],
  ["**", "a/b", false], // ** is just two stars
  ["**/b", "a/b", true],
  ["{a,b}", "a", false], // no braces
  ["{a,b}", "{a,b}", true],
  ["[!a]", "!", true], // ! is a literal in Go's classes
  ["[!a]", "b", false],
  ["[^a]", "b", true],
  ["\\a", "a", true],
  ["a\\", "a", "bad"],
  ["*.txt", "notes.txt", true],
  ["*.txt", "dir/notes.txt", false],
  ["dir/*.txt", "dir/notes.txt", true],
  ["?", "😀", true], // one code point, not half a surrogate pair
  ["x*[", "y", "bad"], // checked to the end after a mismatch
];

describe("matchPath", () => {
  it.each(table)("%j on %j → %j", (pattern, name, want) => {
    if (want === "bad") {
      let err: unknown;
      try {
        matchPath(pattern, name);
      } catch (e) {
        err = e;
      }
      expect(isBerthError(err, "InvalidArgument")).toBe(true);
      expect((err as Error).message).toBe(`match ${JSON.stringify(pattern)}: syntax error in pattern`);
    } else {
      expect(matchPath(pattern, name)).toBe(want);
    }
  });
});

describe("hasGlobMeta / checkPattern", () => {
  it.each([
    ["plain/path.txt", false],
    ["*.txt", true],
    ["a?", true],
    ["[ab]", true],
    ["a\\b", true],
    ["{a,b}", false],
  ])("%j → %j", (p, want) => expect(hasGlobMeta(p)).toBe(want));

  it("checkPattern throws only for malformed patterns", () => {
    expect(() => checkPattern("a*[bc]")).not.toThrow();
    expect(() => checkPattern("a[")).toThrow(/syntax error in pattern/);
  });
});
