import { describe, expect, it } from "vitest";
import { isBerthError } from "../../../lib/errors.js";
import { expandWord, expandWords, lookupOf, processWord } from "./expand.js";

// The variables of BuildKit's lexer tests: PWD, SHELL, KOREAN, and NULL set but empty.
const env = lookupOf({ PWD: "/home", SHELL: "bash", KOREAN: "한국어", NULL: "" });
const ERROR = Symbol("error");

describe("expandWord (Docker's ProcessWord)", () => {
  it.each<[string, string | typeof ERROR]>([
    // quotes and escapes
    ["hello", "hello"],
    ["he'll'o", "hello"],
    ["he'llo", ERROR],
    ["he\\'llo", "he'llo"],
    ["he\\\\'llo", ERROR],
    ["abc\\tdef", "abctdef"],
    ['"abc\\tdef"', "abc\\tdef"],
    ['"abc\\\\tdef"', "abc\\tdef"],
    ["'abc\\tdef'", "abc\\tdef"],
    ["hello\\", "hello"],
    ["hello\\\\", "hello\\"],
    ['"hello', ERROR],
    ['"hello\\"', ERROR],
    ['"hel\'lo"', "hel'lo"],
    ["'hello", ERROR],
    ["'hello\\'", "hello\\"],
    ["'hello\\\\there'", "hello\\\\there"],
    ['"\'\'"', "''"],
    ["'\"hello\"'", '"hello"'],
    ["안'녕'하세요", "안녕하세요"],
    // $NAME
    ["$.", "$."],
    ["he$1x", "hex"],
    ["he$.x", "he$.x"],
    ["he$pwd.", "he."],
    ["he$PWD", "he/home"],
    ["he\\$PWD", "he$PWD"],
    ["he\\\\$PWD", "he\\/home"],
    ['"he\\$PWD"', "he$PWD"],
    ['"he\\\\$PWD"', "he\\/home"],
    ["'he\\$PWD'", "he\\$PWD"],
    ['"he\'$PWD\'"', "he'/home'"],
    ["'$PWD'", "$PWD"],
    ["$KOREAN", "한국어"],
    ["안녕$KOREAN", "안녕한국어"],
    // ${NAME}
    ["\\${}", "${}"],
    ["he\\${}xx", "he${}xx"],
    ["${}", ERROR],
    ["he${}xx", ERROR],
    ["he${hi}xx", "hexx"],
    ["he${PWD}", "he/home"],
    ["he${.}", ERROR],
    ["he${PWD", ERROR],
    ["${{aaa}", ERROR],
    ["${aaa}}", "}"],
    ["${:}", ERROR],
    // defaults and alternatives
    ["he${XXX:-000}xx", "he000xx"],
    ["he${PWD:-000}xx", "he/homexx"],
    ["he${XXX:-$PWD}xx", "he/homexx"],
    ["he${XXX:-${PWD:-yyy}}xx", "he/homexx"],
    ["he${XXX:-${YYY:-yyy}}xx", "heyyyxx"],
    ["he${XXX:YYY}", ERROR],
    ["he${PWD:=000}xx", ERROR],
    ["he${XXX:+${PWD}}xx", "hexx"],
    ["he${PWD:+${XXX}}xx", "hexx"],
    ["he${PWD:+${SHELL}}xx", "hebashxx"],
    ["he${XXX:+000}xx", "hexx"],
    ["he${PWD:+000}xx", "he000xx"],
    ["he${PWD:+${PWD}:}xx", "he/home:xx"],
    ["he${XXX:-\\$PWD:}xx", "he$PWD:xx"],
    ["he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"],
    ["${aaa:-bbb}}", "bbb}"],
    ["${aaa:-bbb", ERROR],
    ["${aaa:-bbb ${foo}", ERROR],
    ["${aaa:-bbb {foo}", "bbb {foo"],
    ["${:-bbb}", ERROR],
    ["${NULL-x}", ""],
    ["${NULL:-x}", "x"],
    ["${NULL+x}", "x"],
    ["${NULL:+x}", ""],
    // required
    ["he${XXX?}", ERROR],
    ["he${XXX:?}", ERROR],
    ["he${PWD?}", "he/home"],
    ["he${PWD:?}", "he/home"],
    ["he${NULL?}", "he"],
    ["he${NULL:?}", ERROR],
    // positional and special parameters are never set
    ["$1", ""],
    ["${1:-bbb}", "bbb"],
    ["$999aaa", "aaa"],
    ["${001:+bbb}aaa", "aaa"],
    ["$@@@", "@@"],
    ["${#:-bbb}", "bbb"],
    ["$$", ""],
    ["${0:+bbb}", ""],
    // BuildKit's pattern modifiers
    ["${PWD#/}", "home"],
    ["${PWD#*o}", "me"],
    ["${PWD##*o}", "me"],
    ["${SHELL%?h}", "ba"],
    ["${SHELL%%*s*}", ""],
    ["${SHELL%s*}", "ba"],
    ["${SHELL/a/A}", "bAsh"],
    ["${SHELL//[a]/x}", "bash"],
    ["${PWD//o/0}", "/h0me"],
    ["${PWD:#x}", ERROR],
  ])("%s", (word, expected) => {
    if (expected === ERROR) expect(() => expandWord(word, env)).toThrow(/^failed to process /);
    else expect(expandWord(word, env)).toBe(expected);
  });

  it("names the word and the cause, as InvalidArgument", () => {
    const cases: Array<[string, string]> = [
      ["${}", 'failed to process "${}": syntax error: bad substitution'],
      ["${X", "failed to process \"${X\": syntax error: missing '}'"],
      ["${X:-a", "failed to process \"${X:-a\": syntax error: missing '}'"],
      ["${X:?must be set}", 'failed to process "${X:?must be set}": X: must be set'],
      ["${X?}", 'failed to process "${X?}": X: is not allowed to be unset'],
      ["${NULL:?}", 'failed to process "${NULL:?}": NULL: is not allowed to be empty'],
      ["${X:=a}", 'failed to process "${X:=a}": unsupported modifier (:=) in substitution'],
      ["'abc", 'failed to process "\'abc": unexpected end of statement while looking for matching single-quote'],
    ];
    for (const [word, message] of cases) {
      let thrown: unknown;
      try {
        expandWord(word, env);
      } catch (err) {
        thrown = err;
      }
      expect(isBerthError(thrown, "InvalidArgument"), word).toBe(true);
      expect((thrown as Error).message).toBe(message);
    }
  });

  it("honours the backtick escape of `# escape=`", () => {
    const o = { escape: "`" };
    expect(expandWord("c:\\dir\\$PWD", env, o)).toBe("c:\\dir\\/home");
    expect(expandWord("`$PWD", env, o)).toBe("$PWD");
    expect(expandWord('"a`"b"', env, o)).toBe('a"b');
    expect(expandWord("a``b", env, o)).toBe("a`b");
  });

  it("reports the variables it used and missed", () => {
    const r = processWord("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", lookupOf({ FOO: "xxx", BAR: "" }));
    expect(r.value).toBe("xxx  ccc");
    expect([...r.matched].sort()).toEqual(["BAR", "FOO"]);
    expect([...r.unmatched]).toEqual(["BAZ"]);
  });

  it("can leave unset variables and keep quotes, for heredoc detection", () => {
    expect(expandWord("$X ${Y} ${Z:-d} $PWD", env, { skipUnsetEnv: true })).toBe("$X ${Y} ${Z:-d} /home");
    expect(expandWord(`a"b"'c'\\d`, env, { rawQuotes: true, rawEscapes: true })).toBe(`a"b"'c'\\d`);
    expect(expandWord(`"$PWD" '$PWD'`, env, { skipProcessQuotes: true })).toBe(`"/home" '/home'`);
  });
});

describe("expandWords (Docker's ProcessWords)", () => {
  // BuildKit's wordsTest: splitting happens after expansion; quotes keep spaces.
  const vars = lookupOf({ hi: "hi", space: "abc  def", leading: "  ab c", trailing: "ab c   " });
  it.each<[string, string[] | typeof ERROR]>([
    ["hello", ["hello"]],
    ["hello${hi}bye", ["hellohibye"]],
    ["hello${space}bye", ["helloabc", "defbye"]],
    ['hello"${space}"bye', ["helloabc  defbye"]],
    ['hello "${space}"bye', ["hello", "abc  defbye"]],
    ["hello${leading}def", ["hello", "ab", "cdef"]],
    ['hello"${leading}" def', ["hello  ab c", "def"]],
    ["hello${trailing}", ["helloab", "c"]],
    ["hello${trailing}d", ["helloab", "c", "d"]],
    ['hello"${trailing}"d', ["helloab c   d"]],
    ['hello" there  "', ["hello there  "]],
    ["hello there     ", ["hello", "there"]],
    ["hello\\ there", ["hello there"]],
    ['hello" there', ERROR],
    ['hello\\" there', ['hello"', "there"]],
    ["hello'$there'", ["hello$there"]],
    ['""', []],
    ["80/tcp ${ports}", ["80/tcp"]],
  ])("%s", (word, expected) => {
    if (expected === ERROR) expect(() => expandWords(word, vars)).toThrow(/^failed to process /);
    else expect(expandWords(word, vars)).toEqual(expected);
  });
});

describe("lookupOf", () => {
  it("takes the first map that has the name, including empty values", () => {
    const l = lookupOf({ A: "" }, { A: "x", B: "y" });
    expect(l("A")).toBe("");
    expect(l("B")).toBe("y");
    expect(l("toString")).toBeUndefined();
  });
});
