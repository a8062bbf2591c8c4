/**
 * The typed form of a Dockerfile, as the frontend's parser (parse.ts) produces it and the
 * stage planner (stages.ts) consumes it. Values are as written (after line continuations are
 * joined, before any variable expansion); positions are 1-based and point into the original
 * text, so every later error can say `Dockerfile:line:col`.
 */

export const KEYWORDS = [
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
] as const;

export type Keyword = (typeof KEYWORDS)[number];

/** 1-based line and column (UTF-16 code units) in the Dockerfile text. */
export interface Position {
  line: number;
  column: number;
}

/** A piece of the instruction as written, with where it starts. */
export interface Word extends Position {
  value: string;
}

/** `--name=value`; bool flags (`--link`) have the value "true" or "false". */
export interface Flag extends Position {
  name: string;
  value: string;
}

/** `<<EOF` … `EOF`. The content ends with a newline per line; `<<-` strips leading tabs. */
export interface Heredoc extends Position {
  name: string;
  content: string;
  /** False when any part of the delimiter word was quoted (`<<"EOF"`, `<<'EOF'`). */
  expand: boolean;
  /** `<<-`: leading tabs were removed from the content and the terminator. */
  chomp: boolean;
  /** The file descriptor before `<<` (`3<<EOF`), if any. */
  fd?: number;
}

/** Exec form (a JSON array of strings) or shell form (the text as written). */
export type CommandLine = { form: "exec"; argv: string[] } | { form: "shell"; script: Word };

export interface KeyValue {
  key: Word;
  value: Word;
}

export interface ArgDeclaration {
  name: Word;
  /** The default as written (`ARG name=default`), unexpanded. */
  default?: Word;
}

/** A COPY/ADD source; `heredoc` when it is `<<NAME` of a here-document of the instruction. */
export interface Source extends Word {
  heredoc?: Heredoc;
}

export type HealthConfig =
  | { type: "NONE" }
  | {
      type: "CMD";
      command: CommandLine;
      /** Durations in nanoseconds (Go's time.Duration); absent means the default. */
      interval?: number;
      timeout?: number;
      startPeriod?: number;
      startInterval?: number;
      retries?: number;
    };

interface Common<K extends Keyword> extends Position {
  keyword: K;
  /** The last line of the instruction, heredocs included. */
  endLine: number;
  /** The arguments after the flags, continuation lines joined, comments dropped. */
  raw: Word;
  flags: Flag[];
}

export interface FromInstruction extends Common<"FROM"> {
  image: Word;
  /** `AS name`, as written (stage names compare case-insensitively). */
  stage?: Word;
}
export interface RunInstruction extends Common<"RUN"> {
  command: CommandLine;
  heredocs: Heredoc[];
}
export interface CmdInstruction extends Common<"CMD"> {
  command: CommandLine;
}
export interface EntrypointInstruction extends Common<"ENTRYPOINT"> {
  command: CommandLine;
}
export interface CopyInstruction extends Common<"COPY" | "ADD"> {
  form: "exec" | "shell";
  sources: Source[];
  dest: Word;
  heredocs: Heredoc[];
}
export interface EnvInstruction extends Common<"ENV" | "LABEL"> {
  pairs: KeyValue[];
  /** `ENV name value` (one pair, the rest of the line as the value): deprecated by Docker. */
  legacy: boolean;
}
export interface ArgInstruction extends Common<"ARG"> {
  args: ArgDeclaration[];
}
export interface ValueInstruction extends Common<"WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER"> {
  value: Word;
}
export interface ExposeInstruction extends Common<"EXPOSE"> {
  ports: Word[];
}
export interface VolumeInstruction extends Common<"VOLUME"> {
  form: "exec" | "shell";
  paths: Word[];
}
export interface HealthcheckInstruction extends Common<"HEALTHCHECK"> {
  health: HealthConfig;
}
export interface ShellInstruction extends Common<"SHELL"> {
  argv: string[];
}
export interface OnbuildInstruction extends Common<"ONBUILD"> {
  trigger: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | CopyInstruction
  | EnvInstruction
  | ArgInstruction
  | ValueInstruction
  | ExposeInstruction
  | VolumeInstruction
  | HealthcheckInstruction
  | ShellInstruction
  | OnbuildInstruction;

export interface Warning extends Position {
  message: string;
}

export interface Dockerfile {
  /** The file name used in messages (`Dockerfile`). */
  file: string;
  /** Parser directives by lower-case name (`syntax`, `escape`, `check`). */
  directives: Record<string, string>;
  escape: "\\" | "`";
  instructions: Instruction[];
  warnings: Warning[];
}
