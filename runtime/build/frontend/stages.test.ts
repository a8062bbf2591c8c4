import { describe, expect, it } from "vitest";
import { isBerthError } from "../../../lib/errors.js";
import { parseDockerfile } from "./parse.js";
import { planBuild, type BuildPlan, type PlanInputs } from "./stages.js";

const host = { os: "linux", architecture: "amd64" };
const plan = (text: string, inputs: Partial<PlanInputs> = {}): BuildPlan => planBuild(parseDockerfile(text), { buildPlatform: host, ...inputs });
function failure(text: string, inputs: Partial<PlanInputs> = {}): string {
  try {
    plan(text, inputs);
  } catch (err) {
    expect(isBerthError(err, "InvalidArgument")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected an error");
}
/** The step of the target stage whose instruction is on `line`. */
function stepAt(p: BuildPlan, line: number) {
  const step = p.stages.flatMap((s) => s.steps).find((s) => s.instruction.line === line);
  if (!step) throw new Error(`no step on line ${line}`);
  return step;
}

const MULTI = `ARG GO=1.22
FROM golang:\${GO} AS build
RUN go build
FROM build AS test
RUN go test
FROM alpine:3 AS Final
COPY --from=build /out /bin/app
FROM scratch AS unused
COPY --from=0 /x /x
`;

describe("planBuild: stages", () => {
  it("finds each stage's base: image, earlier stage by name, scratch", () => {
    const p = plan(MULTI);
    expect(p.stages.map((s) => [s.index, s.name, s.base])).toEqual([
      [0, "build", { kind: "image", ref: "golang:1.22" }],
      [1, "test", { kind: "stage", index: 0 }],
      [2, "final", { kind: "image", ref: "alpine:3" }],
      [3, "unused", { kind: "scratch" }],
    ]);
    expect(p.stages.map((s) => s.dependencies)).toEqual([[], [0], [0], [0]]);
  });

  it("builds only what the target needs: the last stage by default", () => {
    const p = plan(MULTI);
    expect(p.target).toBe(3);
    expect(p.order).toEqual([0, 3]);
    expect(p.stages.map((s) => s.needed)).toEqual([true, false, false, true]);
    expect(p.stages[1]!.steps).toEqual([]);
    expect(plan(MULTI, { target: "FINAL" }).order).toEqual([0, 2]);
    expect(plan(MULTI, { target: "test" }).order).toEqual([0, 1]);
  });

  it("refuses an unknown target, listing the stages", () => {
    expect(failure(MULTI, { target: "tset" })).toBe('build target "tset": no such stage; the stages are "build", "test", "final", "unused"; did you mean "test"?');
    expect(failure("FROM a\n", { target: "x" })).toBe('build target "x": no such stage; the Dockerfile has no named stages');
  });

  it("counts RUN --mount from= as a dependency and other --from values as images", () => {
    const p = plan("FROM a AS deps\nFROM b\nRUN --mount=type=bind,from=deps,target=/d true\nCOPY --from=nginx:1 /etc/nginx /n\n");
    expect(p.stages[1]!.dependencies).toEqual([0]);
    expect(p.stages[1]!.imageSources).toEqual(["nginx:1"]);
    expect(p.order).toEqual([0, 1]);
  });

  it("takes FROM x AS x as the image x", () => {
    expect(plan("FROM node AS node\n").stages[0]!.base).toEqual({ kind: "image", ref: "node" });
  });

  it.each([
    ["FROM a AS b\nFROM c AS B\n", 'Dockerfile:2:11: duplicate stage name "b": stage 0 at line 1 already has it'],
    ["FROM a AS one\nCOPY --from=one x y\n", "Dockerfile:2:6: COPY --from=one refers to this stage itself: a stage can only use earlier stages"],
    ["FROM a\nCOPY --from=1 x y\nFROM b AS two\n", "Dockerfile:2:6: COPY --from=1 refers to stage 1 (two), defined later at line 3: a stage can only use earlier stages"],
    ["FROM a\nCOPY --from=7 x y\n", "Dockerfile:2:6: COPY --from=7: invalid stage index 7: the Dockerfile has stages 0 to 0"],
    ["FROM later\nFROM b AS later\n", "Dockerfile:1:6: FROM later refers to stage 1 (later), defined later at line 2: a stage can only use earlier stages"],
    ["FROM a\nRUN --mount=from=me,target=/x true\nFROM b AS me\n", "Dockerfile:2:5: RUN --mount=from=me refers to stage 1 (me), defined later at line 3: a stage can only use earlier stages"],
    ["ARG S=a\nFROM x AS a\nFROM y\nCOPY --from=$S p q\n", "Dockerfile:4:6: variable expansion is not supported for --from: define a stage with FROM using a global ARG instead"],
    ["FROM a\nCOPY --from=Bad/Ref x y\n", 'Dockerfile:2:6: parse reference "Bad/Ref": repository name must be lowercase'],
    ["FROM ${NOPE}\n", "Dockerfile:1:6: base name (${NOPE}) should not be blank"],
    ["FROM Alpine\n", 'Dockerfile:1:6: parse reference "Alpine": repository name must be lowercase'],
    ["FROM ${V:?required}\n", 'Dockerfile:1:6: failed to process "${V:?required}": V: required'],
    ["ARG P\nFROM --platform=$P a\n", "Dockerfile:2:6: empty platform value from expression $P"],
    ["", "Dockerfile:1:1: no FROM instruction: a Dockerfile needs at least one stage (FROM <image>)"],
    ["ARG A\n", "Dockerfile:1:1: no FROM instruction: a Dockerfile needs at least one stage (FROM <image>)"],
  ])("refuses %j", (text, message) => {
    expect(failure(text)).toBe(message);
  });
});

describe("planBuild: ARG scoping", () => {
  it("uses global ARGs in FROM (image and --platform), with build args and platform args", () => {
    const text = "ARG REG=docker.io\nARG TAG\nFROM --platform=$BUILDPLATFORM ${REG}/library/alpine:${TAG:-3}\n";
    expect(plan(text).stages[0]).toMatchObject({ base: { ref: "docker.io/library/alpine:3" }, platform: "linux/amd64" });
    expect(plan(text, { buildArgs: { TAG: "3.20", REG: "r.example:5000" } }).stages[0]!.base).toEqual({ kind: "image", ref: "r.example:5000/library/alpine:3.20" });
    const p = plan("FROM --platform=$TARGETPLATFORM a\n", { targetPlatform: { os: "linux", architecture: "arm", variant: "v7" } });
    expect(p.stages[0]!.platform).toBe("linux/arm/v7");
    expect(p.globalArgs).toMatchObject({ BUILDPLATFORM: "linux/amd64", BUILDARCH: "amd64", TARGETOS: "linux", TARGETARCH: "arm", TARGETVARIANT: "v7" });
  });

  it("does not let undeclared build args reach FROM", () => {
    expect(plan("FROM a:${T:-default}\n", { buildArgs: { T: "x" } }).stages[0]!.base).toEqual({ kind: "image", ref: "a:default" });
  });

  it("shows a global ARG inside a stage only when re-declared without a value", () => {
    const p = plan("ARG V=global\nFROM a\nRUN one\nARG V\nRUN two\n");
    expect(stepAt(p, 3).args).toEqual({});
    expect(stepAt(p, 5).args).toEqual({ V: "global" });
    expect(plan("ARG V=global\nFROM a\nARG V\nFROM b\nWORKDIR /$V\nARG TARGETARCH\nRUN x\n").stages[1]!.steps.map((s) => [s.expanded, s.args])).toEqual([
      [{ keyword: "WORKDIR", value: "/" }, {}],
      [{ keyword: "ARG", args: [{ name: "TARGETARCH", value: "amd64" }] }, {}],
      [{ keyword: "RUN", mounts: [] }, { TARGETARCH: "amd64" }],
    ]);
  });

  it("makes an ARG visible from its declaration to the end of its stage", () => {
    const p = plan("FROM a AS one\nWORKDIR /$X\nARG X=x\nWORKDIR /$X\nFROM one\nWORKDIR /$X\n", { target: "" });
    expect([2, 4, 6].map((l) => stepAt(p, l).expanded)).toEqual([
      { keyword: "WORKDIR", value: "/" },
      { keyword: "WORKDIR", value: "/x" },
      { keyword: "WORKDIR", value: "/" },
    ]);
  });

  it("takes the build arg over the default, the default over the global, and expands defaults in order", () => {
    const text = "ARG G=g\nFROM a\nARG A=1 B=${A}2 G C\nRUN x\n";
    expect(stepAt(plan(text), 4).args).toEqual({ A: "1", B: "12", G: "g" });
    expect(stepAt(plan(text, { buildArgs: { A: "9", G: "h", C: "" } }), 4).args).toEqual({ A: "9", B: "92", G: "h", C: "" });
    expect(stepAt(plan(text), 3).expanded).toEqual({ keyword: "ARG", args: [{ name: "A", value: "1" }, { name: "B", value: "12" }, { name: "G", value: "g" }, { name: "C" }] });
  });

  it("lets ENV win over an ARG of the same name, whatever their order, and keeps them apart", () => {
    expect(stepAt(plan("FROM a\nARG V=arg\nENV V=env\nWORKDIR /$V\n"), 4)).toMatchObject({ args: { V: "arg" }, env: { V: "env" }, expanded: { value: "/env" } });
    expect(stepAt(plan("FROM a\nENV W=env\nARG W=arg\nWORKDIR /$W\n"), 4)).toMatchObject({ args: { W: "arg" }, env: { W: "env" }, expanded: { value: "/env" } });
    // the docs' example: ENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}
    const docs = "FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\nRUN echo $CONT_IMG_VER\n";
    expect(stepAt(plan(docs), 4).env).toEqual({ CONT_IMG_VER: "v1.0.0" });
    expect(stepAt(plan(docs, { buildArgs: { CONT_IMG_VER: "v2.0.1" } }), 4).env).toEqual({ CONT_IMG_VER: "v2.0.1" });
  });

  it("keeps proxy build args out of args unless declared, and never reports them unused", () => {
    const p = plan("FROM a\nRUN one\nARG http_proxy\nRUN two\n", { buildArgs: { HTTP_PROXY: "http://p:3128", http_proxy: "http://q:3128", NO_PROXY: "x" } });
    expect(p.proxyArgs).toEqual({ HTTP_PROXY: "http://p:3128", http_proxy: "http://q:3128", NO_PROXY: "x" });
    expect(stepAt(p, 2).args).toEqual({});
    expect(stepAt(p, 4).args).toEqual({ http_proxy: "http://q:3128" });
    expect(p.unusedBuildArgs).toEqual([]);
  });

  it("lists the build args no needed stage declared, as Docker warns", () => {
    const p = plan("ARG G\nFROM a AS x\nARG ONLY_X\nFROM b\nARG USED\n", { buildArgs: { G: "1", USED: "1", ONLY_X: "1", TYPO: "1", ANOTHER: "2" } });
    expect(p.unusedBuildArgs).toEqual(["ANOTHER", "ONLY_X", "TYPO"]);
    expect(p.warnings).toEqual(["[Warning] One or more build-args [ANOTHER ONLY_X TYPO] were not consumed"]);
  });
});

describe("planBuild: expansion per instruction", () => {
  const text = `FROM base
ENV abc=hello
ENV abc=bye def=$abc
ENV ghi=$abc
ENV "q k"="a b" legacy=x
LABEL version="\${abc}-1" "say"='$abc'
ARG PORTS="80/tcp 443"
EXPOSE \${PORTS} 53/udp
VOLUME ["/data/$abc", "$def"]
USER \${abc}:\${UNSET:-staff}
STOPSIGNAL SIG\${SIG:-TERM}
WORKDIR \${HOME:-/root}/src
COPY --chown=$abc:$abc --chmod=0755 --link --exclude=*.\${def} "$abc"-dir /dst/\${ghi}/
ADD --checksum=sha256:\${SUM:-0} https://example.com/x /x
COPY <<EOF <<'RAW' /etc/
hello $abc "quoted"
EOF
keep $abc
RAW
RUN --mount=type=cache,target=/cache/$abc echo $abc
CMD echo $abc
ENTRYPOINT ["echo", "$abc"]
SHELL ["/bin/sh", "-c"]
HEALTHCHECK CMD echo $abc
ONBUILD RUN echo $abc
`;
  const p = plan(text, { imageEnv: { base: { HOME: "/home/app", PATH: "/bin" } } });

  it("expands each instruction Docker expands, with the variables before it", () => {
    expect(p.stages[0]!.steps.map((s) => s.expanded)).toEqual([
      { keyword: "ENV", pairs: [{ key: "abc", value: "hello" }] },
      // the docs: all pairs of one ENV see the variables from before it
      { keyword: "ENV", pairs: [{ key: "abc", value: "bye" }, { key: "def", value: "hello" }] },
      { keyword: "ENV", pairs: [{ key: "ghi", value: "bye" }] },
      { keyword: "ENV", pairs: [{ key: "q k", value: "a b" }, { key: "legacy", value: "x" }] },
      { keyword: "LABEL", pairs: [{ key: "version", value: "bye-1" }, { key: "say", value: "$abc" }] },
      { keyword: "ARG", args: [{ name: "PORTS", value: "80/tcp 443" }] },
      { keyword: "EXPOSE", ports: ["80/tcp", "443", "53/udp"] },
      { keyword: "VOLUME", paths: ["/data/bye", "hello"] },
      { keyword: "USER", value: "bye:staff" },
      { keyword: "STOPSIGNAL", value: "SIGTERM" },
      { keyword: "WORKDIR", value: "/home/app/src" },
      { keyword: "COPY", sources: ["bye-dir"], contents: [], dest: "/dst/bye/", flags: { chown: ["bye:bye"], chmod: ["0755"], link: ["true"], exclude: ["*.hello"] } },
      { keyword: "ADD", sources: ["https://example.com/x"], contents: [], dest: "/x", flags: { checksum: ["sha256:0"] } },
      { keyword: "COPY", sources: [], contents: [{ name: "EOF", content: 'hello bye "quoted"\n' }, { name: "RAW", content: "keep $abc\n" }], dest: "/etc/", flags: {} },
      { keyword: "RUN", mounts: ["type=cache,target=/cache/bye"] },
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("leaves RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD as written", () => {
    const run = stepAt(p, 20).instruction;
    expect(run.keyword === "RUN" && run.command).toEqual({ form: "shell", script: { value: "echo $abc", line: 20, column: 43 } });
    const entry = stepAt(p, 22).instruction;
    expect(entry.keyword === "ENTRYPOINT" && entry.command).toEqual({ form: "exec", argv: ["echo", "$abc"] });
  });

  it("starts ENV from the base image and passes a stage's final ENV to stages built on it", () => {
    expect(stepAt(p, 2).env).toEqual({ HOME: "/home/app", PATH: "/bin" });
    const chain = plan("FROM a AS one\nENV X=1\nARG Y=2\nFROM one\nRUN x\n");
    expect(stepAt(chain, 5)).toMatchObject({ env: { X: "1" }, args: {} });
    expect(chain.stages[0]).toMatchObject({ env: { X: "1" }, args: { Y: "2" } });
  });

  it("locates expansion errors at the word", () => {
    expect(failure("FROM a\nWORKDIR /x\nUSER ${U:?set U}\n")).toBe('Dockerfile:3:6: failed to process "${U:?set U}": U: set U');
    expect(failure('FROM a\nENV a=b c="d\n')).toBe("Dockerfile:2:11: failed to process \"\\\"d\": unexpected end of statement while looking for matching double-quote");
    expect(failure("FROM a\nCOPY --chown=${X x y\n")).toBe("Dockerfile:2:6: failed to process \"${X\": syntax error: missing '}'");
  });

  it("does not expand stages the target does not need", () => {
    expect(plan("FROM a AS broken\nUSER ${U:?}\nFROM b\n").order).toEqual([1]);
  });
});
