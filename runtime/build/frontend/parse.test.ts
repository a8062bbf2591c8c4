import { describe, expect, it } from "vitest";
import { isBerthError } from "../../../lib/errors.js";
import { parseDockerfile } from "./parse.js";
import type { Instruction } from "./types.js";

const parse = (text: string) => parseDockerfile(text);
const only = (text: string): Instruction => {
  const all = parse("FROM scratch\n" + text).instructions;
  expect(all).toHaveLength(2);
  return all[1]!;
};
/** The located message of the error parsing `text` throws (an InvalidArgument). */
function failure(text: string): string {
  try {
    parseDockerfile(text);
  } catch (err) {
    expect(isBerthError(err, "InvalidArgument")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected an error");
}

describe("parse: lines and positions", () => {
  it("gives 1-based positions of each instruction and its arguments", () => {
    const df = parse("FROM alpine:3 AS build\n\n  RUN echo hi\n");
    expect(df.instructions.map((i) => [i.keyword, i.line, i.column, i.endLine])).toEqual([
      ["FROM", 1, 1, 1],
      ["RUN", 3, 3, 3],
    ]);
    const from = df.instructions[0]!;
    if (from.keyword !== "FROM") throw new Error();
    expect(from.image).toEqual({ value: "alpine:3", line: 1, column: 6 });
    expect(from.stage).toEqual({ value: "build", line: 1, column: 18 });
  });

  it("joins continuations, drops comment and empty lines inside them, keeps continuation indentation", () => {
    const df = parse("FROM a\nRUN echo hi \\\n  # a comment\n\n  && echo two\nRUN x\n");
    const run = df.instructions[1]!;
    expect(run.raw.value).toBe("echo hi   && echo two");
    expect(run.endLine).toBe(5);
    expect(df.instructions[2]!.line).toBe(6);
    expect(df.warnings).toEqual([expect.objectContaining({ line: 2, column: 1, message: expect.stringMatching(/^empty continuation line/) })]);
    // a position inside the continuation points at the source line it came from
    const words = parse("FROM a\nEXPOSE 80 \\\n    443\n").instructions[1]!;
    if (words.keyword !== "EXPOSE") throw new Error();
    expect(words.ports).toEqual([
      { value: "80", line: 2, column: 8 },
      { value: "443", line: 3, column: 5 },
    ]);
  });

  it("honours # escape=` for continuations and leaves backslashes alone", () => {
    const df = parse("# escape=`\nFROM a\nCOPY c:\\src `\n  c:\\dst\n");
    expect(df.escape).toBe("`");
    expect(df.directives).toEqual({ escape: "`" });
    const copy = df.instructions[1]!;
    if (copy.keyword !== "COPY") throw new Error();
    expect(copy.sources.map((s) => s.value)).toEqual(["c:\\src"]);
    expect(copy.dest).toEqual({ value: "c:\\dst", line: 4, column: 3 });
  });

  it("records # syntax and # check, ignores other comments, and only reads directives at the top", () => {
    expect(parse("# syntax=docker/dockerfile:1\n# check=skip=all\n# hello=x\nFROM a\n").directives).toEqual({ syntax: "docker/dockerfile:1", check: "skip=all" });
    expect(parse("# hello\n# escape=`\nFROM a\nRUN a \\\n b\n").instructions[1]!.raw.value).toBe("a  b");
    expect(parse("\uFEFFFROM a\r\nRUN a \\\r\n b\r\n").instructions[1]!.raw.value).toBe("a  b");
  });

  it("accepts lower-case keywords and returns them upper-case", () => {
    expect(parse("from a\nrun echo\n").instructions.map((i) => i.keyword)).toEqual(["FROM", "RUN"]);
  });

  it("returns no instructions for an empty file or one of comments", () => {
    expect(parse("").instructions).toEqual([]);
    expect(parse("# just a comment\n\n").instructions).toEqual([]);
  });
});

describe("parse: forms", () => {
  it.each<[string, unknown]>([
    ['RUN ["echo", "a b"]', { form: "exec", argv: ["echo", "a b"] }],
    ['RUN  [ "echo" ,"x"]  ', { form: "exec", argv: ["echo", "x"] }],
    ["RUN [\"echo\", 'a']", { form: "shell", script: { value: "[\"echo\", 'a']", line: 2, column: 5 } }],
    ['RUN ["echo", "a",]', { form: "shell", script: { value: '["echo", "a",]', line: 2, column: 5 } }],
    ['RUN ["echo"] extra', { form: "shell", script: { value: '["echo"] extra', line: 2, column: 5 } }],
    ["RUN echo $HOME && ls", { form: "shell", script: { value: "echo $HOME && ls", line: 2, column: 5 } }],
    ['CMD ["a\\u0041\\n"]', { form: "exec", argv: ["aA\n"] }],
    ["CMD []", { form: "exec", argv: [] }],
  ])("%s", (line, command) => {
    expect(only(line + "\n")).toMatchObject({ command });
  });

  it("refuses a JSON array of non-strings, as Docker does", () => {
    expect(failure("FROM a\nCMD [1, 2]\n")).toBe("Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only");
  });

  it("parses SHELL, VOLUME and COPY lists in both forms", () => {
    expect(only('SHELL ["/bin/bash", "-c"]\n')).toMatchObject({ argv: ["/bin/bash", "-c"] });
    expect(only('VOLUME ["/a", "/b c"]\n')).toMatchObject({ form: "exec", paths: [{ value: "/a" }, { value: "/b c" }] });
    expect(only("VOLUME /a /b\n")).toMatchObject({ form: "shell", paths: [{ value: "/a", column: 8 }, { value: "/b", column: 11 }] });
    expect(only('COPY ["a b", "c", "/d/"]\n')).toMatchObject({ form: "exec", sources: [{ value: "a b" }, { value: "c" }], dest: { value: "/d/" } });
    // shell-form lists split on blanks only: quotes are for the expansion to deal with
    expect(only('COPY "a b" /d\n')).toMatchObject({ sources: [{ value: '"a' }, { value: 'b"' }], dest: { value: "/d" } });
  });
});

describe("parse: flags", () => {
  it("reads flags with their positions, quotes removed, bool flags as true/false", () => {
    const copy = only("COPY --from=build --chown=1:1 --link --parents=false --exclude=*.md --exclude='a b' src /dst\n");
    expect(copy.flags).toEqual([
      { name: "from", value: "build", line: 2, column: 6 },
      { name: "chown", value: "1:1", line: 2, column: 19 },
      { name: "link", value: "true", line: 2, column: 31 },
      { name: "parents", value: "false", line: 2, column: 38 },
      { name: "exclude", value: "*.md", line: 2, column: 54 },
      { name: "exclude", value: "a b", line: 2, column: 69 },
    ]);
    expect(copy.raw).toEqual({ value: "src /dst", line: 2, column: 85 });
    expect(only("RUN --mount=type=cache,target=/root/.cache --network=none make\n").flags.map((f) => [f.name, f.value])).toEqual([
      ["mount", "type=cache,target=/root/.cache"],
      ["network", "none"],
    ]);
    expect(parse("FROM --platform=$BUILDPLATFORM a\n").instructions[0]!.flags).toEqual([{ name: "platform", value: "$BUILDPLATFORM", line: 1, column: 6 }]);
  });

  it("stops at -- and at the first word that is not a flag", () => {
    expect(only("RUN -- --not-a-flag\n")).toMatchObject({ flags: [], command: { script: { value: "--not-a-flag" } } });
    expect(only("RUN echo --x\n")).toMatchObject({ flags: [], command: { script: { value: "echo --x" } } });
  });

  it.each([
    ["COPY --form=x a b", "Dockerfile:2:6: unknown flag --form: COPY takes --from, --chown, --chmod, --link, --parents, --exclude; did you mean \"from\"?"],
    ["ENV --x=1 a=b", "Dockerfile:2:5: unknown flag --x: ENV takes no flags"],
    ["ADD --from=x a b", 'Dockerfile:2:5: unknown flag --from: ADD takes --chown, --chmod, --link, --keep-git-dir, --checksum, --unpack, --exclude'],
    ["COPY --from a b", "Dockerfile:2:6: missing a value on flag --from: expected --from=<value>"],
    ["COPY --link=maybe a b", 'Dockerfile:2:6: expected a boolean value for flag --link (true or false), got "maybe"'],
    ["COPY --link= a b", "Dockerfile:2:6: missing a value on flag --link: expected --link, --link=true or --link=false"],
    ["COPY --from=a --from=b a b", "Dockerfile:2:15: duplicate flag --from: it may be given once"],
    ["RUN --mount=type=tmpfs,target=/t --mount=type=cache,target=/c --netwrk=none x", 'Dockerfile:2:63: unknown flag --netwrk: RUN takes --mount, --network, --security; did you mean "network"?'],
  ])("%s", (line, message) => {
    expect(failure(`FROM a\n${line}\n`)).toBe(message);
  });
});

describe("parse: heredocs", () => {
  it("reads RUN heredocs, several per line, and continues after them", () => {
    const df = parse("FROM a\nRUN <<A cat - <<'B'\nline $x\nA\n\tb\nB\nRUN y\n");
    const run = df.instructions[1]!;
    if (run.keyword !== "RUN") throw new Error();
    expect(run.command).toEqual({ form: "shell", script: { value: "<<A cat - <<'B'", line: 2, column: 5 } });
    expect(run.heredocs).toEqual([
      { name: "A", content: "line $x\n", expand: true, chomp: false, line: 2, column: 5 },
      { name: "B", content: "\tb\n", expand: false, chomp: false, line: 2, column: 15 },
    ]);
    expect(run.endLine).toBe(6);
    expect(df.instructions[2]).toMatchObject({ keyword: "RUN", line: 7 });
  });

  it("strips leading tabs with <<- and recognises quoted and fd-prefixed delimiters", () => {
    const copy = only('COPY <<-"EOT" 3<<X /dst/\n\thello $X\n\tEOT\nx\nX\n');
    if (copy.keyword !== "COPY") throw new Error();
    expect(copy.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp, h.fd])).toEqual([
      ["EOT", "hello $X\n", false, true, undefined],
      ["X", "x\n", true, false, 3],
    ]);
    expect(copy.sources.map((s) => s.heredoc?.name)).toEqual(["EOT", "X"]);
    expect(copy.dest.value).toBe("/dst/");
  });

  it("keeps a heredoc body verbatim: no continuations, comments or instructions in it", () => {
    const run = only("RUN <<EOF\nFROM b \\\n# not a comment\n\nEOF\n");
    if (run.keyword !== "RUN") throw new Error();
    expect(run.heredocs[0]!.content).toBe("FROM b \\\n# not a comment\n\n");
  });

  it("takes heredocs under ONBUILD and refuses them as a COPY destination or unterminated", () => {
    const on = only("ONBUILD RUN <<EOF\necho\nEOF\n");
    if (on.keyword !== "ONBUILD" || on.trigger.keyword !== "RUN") throw new Error();
    expect(on.trigger.heredocs[0]!.content).toBe("echo\n");
    expect(failure("FROM a\nCOPY x <<EOF\nhi\nEOF\n")).toBe("Dockerfile:2:8: COPY cannot accept a heredoc as a destination");
    expect(failure("FROM a\nRUN cat <<EOF\necho\n")).toBe('Dockerfile:2:9: unterminated heredoc <<EOF: expected a line "EOF" before the end of the file');
  });

  it("does not look for heredocs in other instructions", () => {
    expect(only("ENV a=<<EOF\n")).toMatchObject({ pairs: [{ key: { value: "a" }, value: { value: "<<EOF" } }] });
  });
});

describe("parse: instructions", () => {
  it("parses ENV and LABEL pairs with quotes kept for expansion, and the legacy form", () => {
    const env = only('ENV a=b c="d e" f=g\\ h i=\n');
    if (env.keyword !== "ENV") throw new Error();
    expect(env.legacy).toBe(false);
    expect(env.pairs.map((p) => [p.key.value, p.value.value, p.value.column])).toEqual([
      ["a", "b", 7],
      ["c", '"d e"', 11],
      ["f", "g\\ h", 19],
      ["i", "", 26],
    ]);
    const legacy = parse('FROM a\nENV NAME  some "quoted" value\n');
    expect(legacy.instructions[1]).toMatchObject({ legacy: true, pairs: [{ key: { value: "NAME", column: 5 }, value: { value: 'some "quoted" value', column: 11 } }] });
    expect(legacy.warnings).toEqual([expect.objectContaining({ line: 2, message: expect.stringMatching(/deprecated/) })]);
    expect(only('LABEL "com.example.vendor"="ACME" version=1.0\n')).toMatchObject({ pairs: [{ key: { value: '"com.example.vendor"' }, value: { value: '"ACME"' } }, { key: { value: "version" } }] });
  });

  it("parses ARG names and defaults, several per line", () => {
    const arg = parse("ARG A B=2 C=\"x y\"\nFROM a\n").instructions[0]!;
    if (arg.keyword !== "ARG") throw new Error();
    expect(arg.args).toEqual([
      { name: { value: "A", line: 1, column: 5 } },
      { name: { value: "B", line: 1, column: 7 }, default: { value: "2", line: 1, column: 9 } },
      { name: { value: "C", line: 1, column: 11 }, default: { value: '"x y"', line: 1, column: 13 } },
    ]);
  });

  it("takes the whole rest of the line for WORKDIR, USER, STOPSIGNAL and MAINTAINER", () => {
    expect(only("WORKDIR /a b\n")).toMatchObject({ value: { value: "/a b" } });
    expect(only("USER app:app\n")).toMatchObject({ value: { value: "app:app" } });
    expect(only("STOPSIGNAL SIGTERM\n")).toMatchObject({ value: { value: "SIGTERM" } });
    const df = parse("FROM a\nMAINTAINER Jane <j@example.com>\n");
    expect(df.instructions[1]).toMatchObject({ keyword: "MAINTAINER", value: { value: "Jane <j@example.com>" } });
    expect(df.warnings[0]!.message).toMatch(/MAINTAINER is deprecated/);
  });

  it("parses HEALTHCHECK options as Go durations, CMD in either form, and NONE", () => {
    expect(only("HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s --start-interval=2s --retries=3 CMD curl -f http://x/ || exit 1\n")).toMatchObject({
      health: { type: "CMD", command: { form: "shell", script: { value: "curl -f http://x/ || exit 1", column: 102 } }, interval: 90e9, timeout: 500e6, startPeriod: 1.5e9, startInterval: 2e9, retries: 3 },
    });
    expect(only('HEALTHCHECK cmd ["true"]\n')).toMatchObject({ health: { type: "CMD", command: { form: "exec", argv: ["true"] } } });
    expect(only("HEALTHCHECK --interval=0s CMD true\n")).toMatchObject({ health: { type: "CMD" } });
    expect((only("HEALTHCHECK --interval=0s CMD true\n") as { health: object }).health).not.toHaveProperty("interval");
    expect(only("HEALTHCHECK NONE\n")).toMatchObject({ health: { type: "NONE" } });
  });

  it.each([
    ["HEALTHCHECK --interval=5 CMD true", 'Dockerfile:2:13: expected a duration like 30s, 1m30s or 500ms, got "5"'],
    ["HEALTHCHECK --interval=5x CMD true", 'Dockerfile:2:13: expected a duration like 30s, 1m30s or 500ms, got "5x"'],
    ["HEALTHCHECK --timeout=10us CMD true", 'Dockerfile:2:13: --timeout cannot be less than 1ms, got "10us"'],
    ["HEALTHCHECK --timeout=-1s CMD true", 'Dockerfile:2:13: --timeout cannot be less than 1ms, got "-1s"'],
    ["HEALTHCHECK --retries=-1 CMD true", "Dockerfile:2:13: --retries cannot be negative (-1)"],
    ["HEALTHCHECK --retries=two CMD true", 'Dockerfile:2:13: --retries: expected a whole number, got "two"'],
    ["HEALTHCHECK --intervl=5s CMD true", 'Dockerfile:2:13: unknown flag --intervl: HEALTHCHECK takes --interval, --timeout, --start-period, --start-interval, --retries; did you mean "interval"?'],
    ["HEALTHCHECK --interval=5s NONE", "Dockerfile:2:13: HEALTHCHECK NONE takes no options"],
    ["HEALTHCHECK NONE now", "Dockerfile:2:18: HEALTHCHECK NONE takes no arguments"],
    ["HEALTHCHECK CMD", "Dockerfile:2:16: missing command after HEALTHCHECK CMD"],
    ["HEALTHCHECK RUN true", 'Dockerfile:2:13: unknown HEALTHCHECK type "RUN": expected CMD or NONE'],
    ["HEALTHCHECK", "Dockerfile:2:1: HEALTHCHECK requires an argument: HEALTHCHECK [options] CMD <command> or HEALTHCHECK NONE"],
  ])("refuses %s", (line, message) => {
    expect(failure(`FROM a\n${line}\n`)).toBe(message);
  });

  it("wraps the trigger of ONBUILD as an instruction of its own, with its own flags", () => {
    expect(only("ONBUILD COPY --from=x a b\n")).toMatchObject({
      keyword: "ONBUILD",
      flags: [],
      trigger: { keyword: "COPY", line: 2, column: 9, flags: [{ name: "from", value: "x", column: 14 }], sources: [{ value: "a" }], dest: { value: "b" } },
    });
  });
});

describe("parse: errors", () => {
  it.each([
    ["FROM a\nFRM b", 'Dockerfile:2:1: unknown instruction "FRM"; did you mean "FROM"?'],
    ["FROM a\n  cpoy a b", 'Dockerfile:2:3: unknown instruction "cpoy"; did you mean "COPY"?'],
    ["FROM a\nXYZZY", 'Dockerfile:2:1: unknown instruction "XYZZY": expected an instruction such as FROM, RUN, COPY or ARG'],
    ["RUN x\nFROM a", "Dockerfile:1:1: RUN before the first FROM: only ARG instructions may come before FROM"],
    ["ARG V=1\nENV a=b\nFROM a", "Dockerfile:2:1: ENV before the first FROM: only ARG instructions may come before FROM"],
    ["FROM", "Dockerfile:1:1: FROM requires an image: FROM [--platform=<platform>] <image> [AS <name>]"],
    ["FROM a b", "Dockerfile:1:8: FROM requires either one or three arguments: FROM <image> [AS <name>], got 2"],
    ["FROM a AS 1st", 'Dockerfile:1:11: invalid name for build stage "1st": expected a letter, then letters, digits, "-", "_" or "."'],
    ["FROM a AS my/stage", 'Dockerfile:1:11: invalid name for build stage "my/stage": expected a letter, then letters, digits, "-", "_" or "."'],
    ["FROM a\nRUN", "Dockerfile:2:1: RUN requires a command: RUN <command> or RUN [\"executable\", \"arg\", ...]"],
    ["FROM a\nRUN []", "Dockerfile:2:5: RUN requires a command: RUN <command> or RUN [\"executable\", \"arg\", ...]"],
    ["FROM a\nCOPY onlyone", "Dockerfile:2:6: COPY requires at least one source and a destination: COPY <src>... <dest>"],
    ["FROM a\nENV", "Dockerfile:2:1: ENV requires at least one argument: ENV <name>=<value> ..."],
    ["FROM a\nENV a", "Dockerfile:2:5: ENV must have two arguments: ENV <name>=<value>"],
    ["FROM a\nENV a=b c", 'Dockerfile:2:9: expected <name>=<value>, got "c"'],
    ["FROM a\nLABEL =x", "Dockerfile:2:7: LABEL names can not be blank"],
    ["FROM a\nARG =x", "Dockerfile:2:5: ARG names can not be blank"],
    ["FROM a\nWORKDIR", "Dockerfile:2:1: WORKDIR requires exactly one argument: WORKDIR <path>"],
    ["FROM a\nEXPOSE", "Dockerfile:2:1: EXPOSE requires at least one port: EXPOSE <port>[/<protocol>] ..."],
    ["FROM a\nVOLUME [\"\"]", "Dockerfile:2:8: VOLUME specified can not be an empty string"],
    ["FROM a\nSHELL /bin/sh -c", 'Dockerfile:2:7: SHELL requires the arguments to be in JSON form: SHELL ["executable", "parameters"]'],
    ["FROM a\nONBUILD", "Dockerfile:2:1: ONBUILD requires an instruction: ONBUILD <instruction>"],
    ["FROM a\nONBUILD FROM b", "Dockerfile:2:9: FROM isn't allowed as an ONBUILD trigger"],
    ["FROM a\nONBUILD maintainer x", "Dockerfile:2:9: MAINTAINER isn't allowed as an ONBUILD trigger"],
    ["FROM a\nONBUILD ONBUILD RUN x", "Dockerfile:2:9: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ["FROM a\nONBUILD RUN --nope x", "Dockerfile:2:13: unknown flag --nope: RUN takes --mount, --network, --security"],
    ["# escape=x\nFROM a", 'Dockerfile:1:10: invalid escape token "x": expected \\ or `'],
    ["# escape=`\n# escape=\\\nFROM a", "Dockerfile:2:10: only one escape parser directive can be used"],
  ])("%j", (text, message) => {
    expect(failure(text + "\n")).toBe(message);
  });

  it("names the file it was given", () => {
    expect(() => parseDockerfile("FROM a\nFRM b\n", { file: "app/Containerfile" })).toThrow(/^app\/Containerfile:2:1: unknown instruction/);
  });
});
