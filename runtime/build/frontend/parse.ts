/**
 * Parses Dockerfile text into berth's typed instruction list (types.ts), by BuildKit's rules
 * (moby/buildkit frontend/dockerfile/parser and instructions):
 *
 * - `dockerfile-ast` finds the parser directives and where each instruction starts; the
 *   logical line is then assembled here the way BuildKit does it: the escape character (`\`,
 *   or a backtick after `# escape=`) followed only by blanks at the end of a line continues
 *   it; comment lines and empty lines inside a continuation are dropped (an empty one is
 *   warned about); leading whitespace of continuation lines is kept.
 * - Flags (`--name=value`, bool `--link`) are read from the start of the arguments, with
 *   quotes, and checked against the flags the instruction takes.
 * - RUN, CMD, ENTRYPOINT, COPY, ADD, VOLUME, SHELL and HEALTHCHECK CMD take a JSON array of
 *   strings (exec form); anything that is not valid JSON falls back to shell form, a valid
 *   array of non-strings is an error. SHELL takes the JSON form only.
 * - RUN, COPY and ADD (also under ONBUILD) take here-documents: `<<EOF`, `<<-EOF` (tabs
 *   stripped), `<<"EOF"`/`<<'EOF'` (quoted: the content is not expanded), `3<<EOF`.
 * - ENV/LABEL: `name=value ...` (quotes and escapes kept for expansion) or the deprecated
 *   `name value` (the rest of the line). ARG: `name` or `name=default`, several per line.
 * - Only ARG may come before the first FROM; ONBUILD cannot wrap FROM, ONBUILD or MAINTAINER.
 *
 * Pure: no I/O. Errors are InvalidArgument BerthErrors whose message starts with
 * `<file>:<line>:<col>: ` and says what was expected.
 */
import { DockerfileParser } from "dockerfile-ast";
import { processWord } from "./expand.js";
import { parseGoDuration } from "./duration.js";
import { locate, locatedError, suggestion } from "./location.js";
import { KEYWORDS } from "./types.js";
import type { CommandLine, Dockerfile, Flag, HealthConfig, Heredoc, Instruction, Keyword, KeyValue, Position, Source, Warning, Word } from "./types.js";

export interface ParseOptions {
  /** The name errors start with; `Dockerfile` by default. */
  file?: string;
}

type FlagKind = "string" | "bool" | "strings";

/** The flags each instruction takes (BuildKit 1.x); all others take none. */
export const INSTRUCTION_FLAGS: Partial<Record<Keyword, Record<string, FlagKind>>> = {
  FROM: { platform: "string" },
  RUN: { mount: "strings", network: "string", security: "string" },
  COPY: { from: "string", chown: "string", chmod: "string", link: "bool", parents: "bool", exclude: "strings" },
  ADD: { chown: "string", chmod: "string", link: "bool", "keep-git-dir": "bool", checksum: "string", unpack: "bool", exclude: "strings" },
  HEALTHCHECK: { interval: "string", timeout: "string", "start-period": "string", "start-interval": "string", retries: "string" },
};

const DIRECTIVES = ["syntax", "escape", "check"];
const HEREDOC_KEYWORDS = new Set<string>(["RUN", "COPY", "ADD"]);
const NOT_ONBUILD = new Set<string>(["ONBUILD", "FROM", "MAINTAINER"]);
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? "Dockerfile";
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const ast = DockerfileParser.parse(source);
  const { directives, escape } = readDirectives(ast.getDirectives(), file);
  const ctx: Context = { file, escape, lines: source.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)), warnings: [] };
  const instructions: Instruction[] = [];
  let next = 0;
  for (const ins of ast.getInstructions()) {
    const start = ins.getInstructionRange().start.line;
    if (start < next) continue;
    const read = readInstruction(ctx, start);
    instructions.push(read.instruction);
    next = read.next;
  }
  checkOrder(file, instructions);
  return { file, directives, escape, instructions, warnings: ctx.warnings };
}

interface Context {
  file: string;
  escape: "\\" | "`";
  lines: string[];
  warnings: Warning[];
}

interface AstDirective {
  getName(): string;
  getValue(): string;
  getValueRange(): { start: { line: number; character: number } };
}

function readDirectives(list: AstDirective[], file: string): { directives: Record<string, string>; escape: "\\" | "`" } {
  const directives: Record<string, string> = {};
  for (const d of list) {
    const name = d.getName().toLowerCase();
    if (!DIRECTIVES.includes(name)) continue;
    const at = { line: d.getValueRange().start.line + 1, column: d.getValueRange().start.character + 1 };
    if (name in directives) throw locatedError(file, at, `only one ${name} parser directive can be used`);
    if (name === "escape" && d.getValue() !== "\\" && d.getValue() !== "`") {
      throw locatedError(file, at, `invalid escape token ${JSON.stringify(d.getValue())}: expected \\ or \``);
    }
    directives[name] = d.getValue();
  }
  return { directives, escape: directives.escape === "`" ? "`" : "\\" };
}

function checkOrder(file: string, instructions: Instruction[]): void {
  const first = instructions.find((i) => i.keyword !== "ARG");
  if (first !== undefined && first.keyword !== "FROM") {
    throw locatedError(file, first, `${first.keyword} before the first FROM: only ARG instructions may come before FROM`);
  }
}

/** An instruction's logical line: the joined text and where each of its characters was written. */
class Logical {
  text = "";
  private readonly at: Position[] = [];

  append(piece: string, line: number, column: number): void {
    this.text += piece;
    for (let i = 0; i < piece.length; i++) this.at.push({ line: line + 1, column: column + i + 1 });
  }
  position(index: number): Position {
    const p = this.at[Math.min(index, this.at.length - 1)];
    if (p === undefined) return { line: 1, column: 1 };
    return index < this.at.length ? { ...p } : { line: p.line, column: p.column + 1 };
  }
  word(start: number, end: number): Word {
    return { value: this.text.slice(start, end), ...this.position(start) };
  }
}

function readLogical(ctx: Context, start: number): { logical: Logical; next: number } {
  const continuation = new RegExp(`${ctx.escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  const trim = (s: string): [string, boolean] => (continuation.test(s) ? [s.replace(continuation, ""), true] : [s, false]);
  const logical = new Logical();
  const first = ctx.lines[start] ?? "";
  const lead = first.length - first.trimStart().length;
  let [piece, more] = trim(first.slice(lead));
  logical.append(piece, start, lead);
  let i = start + 1;
  let empty = false;
  for (; more && i < ctx.lines.length; i++) {
    const line = ctx.lines[i]!;
    if (/^\s*#/.test(line)) continue;
    if (line.trim() === "") {
      empty = true;
      continue;
    }
    [piece, more] = trim(line);
    logical.append(piece, i, 0);
  }
  if (empty) ctx.warnings.push({ line: start + 1, column: lead + 1, message: "empty continuation line: empty continuation lines will become errors in a future release of Docker" });
  return { logical, next: i };
}

function readInstruction(ctx: Context, start: number): { instruction: Instruction; next: number } {
  const { logical, next } = readLogical(ctx, start);
  const head = splitCommand(logical, 0);
  const effective = head.keyword.value.toUpperCase() === "ONBUILD" ? splitCommand(logical, head.restStart).keyword.value.toUpperCase() : head.keyword.value.toUpperCase();
  let heredocs: Heredoc[] = [];
  let end = next;
  if (HEREDOC_KEYWORDS.has(effective) && logical.text.includes("<<")) {
    const read = readHeredocs(ctx, logical, next);
    heredocs = read.heredocs;
    end = read.next;
  }
  const instruction = parseInstruction(ctx, logical, 0, heredocs, end);
  return { instruction, next: end };
}

interface Head {
  keyword: Word;
  flags: Array<{ text: string; start: number }>;
  restStart: number;
}

/** The keyword, the flags and where the arguments start (BuildKit's splitCommand). */
function splitCommand(logical: Logical, from: number): Head {
  const text = logical.text;
  let i = from;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  const kwStart = i;
  while (i < text.length && !/\s/.test(text[i]!)) i++;
  const keyword = logical.word(kwStart, i);
  const { flags, restStart } = extractFlags(text, i);
  return { keyword, flags, restStart };
}

/** BuildKit's extractBuilderFlags: `--` words at the start, quotes removed; `--` alone ends them. */
function extractFlags(text: string, from: number): { flags: Array<{ text: string; start: number }>; restStart: number } {
  const flags: Array<{ text: string; start: number }> = [];
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (!text.startsWith("--", i)) return { flags, restStart: i };
    const start = i;
    let word = "";
    let quote = "";
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (quote === "" && /\s/.test(ch)) break;
      if (quote === "" && (ch === "'" || ch === '"')) quote = ch;
      else if (quote !== "" && ch === quote) quote = "";
      else if (ch === "\\" && i + 1 < text.length) word += text[++i];
      else if (ch !== "\\") word += ch;
    }
    if (word === "--") {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      return { flags, restStart: i };
    }
    flags.push({ text: word, start });
  }
}

function parseInstruction(ctx: Context, logical: Logical, from: number, heredocs: Heredoc[], end: number): Instruction {
  const head = splitCommand(logical, from);
  const keyword = head.keyword.value.toUpperCase();
  if (!(KEYWORDS as readonly string[]).includes(keyword)) {
    const hint = suggestion(keyword, KEYWORDS);
    throw locatedError(ctx.file, head.keyword, `unknown instruction ${JSON.stringify(head.keyword.value)}` + (hint || ": expected an instruction such as FROM, RUN, COPY or ARG"));
  }
  const kw = keyword as Keyword;
  const raw = logical.word(head.restStart, logical.text.trimEnd().length);
  const p: Parts = {
    ctx,
    logical,
    kw,
    head,
    raw,
    heredocs,
    common: { keyword: kw, line: head.keyword.line, column: head.keyword.column, endLine: Math.max(end, head.keyword.line), raw, flags: [] },
  };
  if (kw !== "HEALTHCHECK") p.common.flags = checkFlags(ctx.file, kw, head.flags.map((f) => ({ ...f, at: logical.position(f.start) })));
  return locateArgs(p);
}

interface Parts {
  ctx: Context;
  logical: Logical;
  kw: Keyword;
  head: Head;
  raw: Word;
  heredocs: Heredoc[];
  common: { keyword: Keyword; line: number; column: number; endLine: number; raw: Word; flags: Flag[] };
}

function locateArgs(p: Parts): Instruction {
  const { kw, common, raw } = p;
  const fail = (message: string, at: Position = raw.value === "" ? common : raw) => locatedError(p.ctx.file, at, message);
  switch (kw) {
    case "FROM":
      return { ...common, keyword: kw, ...fromArgs(p, fail) };
    case "RUN":
      return { ...common, keyword: kw, command: requiredCommand(p, fail), heredocs: p.heredocs };
    case "CMD":
    case "ENTRYPOINT":
      return { ...common, keyword: kw, command: requiredCommand(p, fail, true) };
    case "COPY":
    case "ADD":
      return { ...common, keyword: kw, ...copyArgs(p, fail) };
    case "ENV":
    case "LABEL":
      return { ...common, keyword: kw, ...nameValues(p, fail) };
    case "ARG":
      return { ...common, keyword: kw, args: argDeclarations(p, fail) };
    case "WORKDIR":
    case "USER":
    case "STOPSIGNAL":
    case "MAINTAINER":
      if (raw.value === "") throw fail(`${kw} requires exactly one argument: ${kw} <${kw === "WORKDIR" ? "path" : kw === "USER" ? "user[:group]" : kw === "STOPSIGNAL" ? "signal" : "name"}>`);
      if (kw === "MAINTAINER") p.ctx.warnings.push({ ...common, message: "MAINTAINER is deprecated: use LABEL maintainer=..." });
      return { ...common, keyword: kw, value: raw };
    case "EXPOSE": {
      const ports = splitWhitespace(p.logical, p.head.restStart).map((l) => l.word);
      if (ports.length === 0) throw fail("EXPOSE requires at least one port: EXPOSE <port>[/<protocol>] ...");
      return { ...common, keyword: kw, ports };
    }
    case "VOLUME":
      return { ...common, keyword: kw, ...volumeArgs(p, fail) };
    case "HEALTHCHECK":
      return { ...common, keyword: kw, health: healthcheck(p, fail) };
    case "SHELL": {
      const command = commandLine(p, fail);
      if (command.form !== "exec" || command.argv.length === 0) throw fail('SHELL requires the arguments to be in JSON form: SHELL ["executable", "parameters"]');
      return { ...common, keyword: kw, argv: command.argv };
    }
    case "ONBUILD":
      return { ...common, keyword: kw, trigger: onbuildTrigger(p, fail) };
  }
}

type Fail = (message: string, at?: Position) => Error;

function checkFlags(file: string, kw: Keyword, flags: Array<{ text: string; at: Position }>): Flag[] {
  const allowed = INSTRUCTION_FLAGS[kw] ?? {};
  const names = Object.keys(allowed);
  const seen = new Set<string>();
  return flags.map(({ text, at }) => {
    const eq = text.indexOf("=");
    const name = (eq === -1 ? text : text.slice(0, eq)).slice(2);
    const value = eq === -1 ? undefined : text.slice(eq + 1);
    const kind = allowed[name];
    if (kind === undefined) {
      const takes = names.length === 0 ? `${kw} takes no flags` : `${kw} takes ${names.map((n) => "--" + n).join(", ")}`;
      throw locatedError(file, at, `unknown flag --${name}: ${takes}${suggestion(name, names)}`);
    }
    if (seen.has(name) && kind !== "strings") throw locatedError(file, at, `duplicate flag --${name}: it may be given once`);
    seen.add(name);
    if (kind === "bool") return { name, value: boolFlag(file, at, name, value), ...at };
    if (value === undefined) throw locatedError(file, at, `missing a value on flag --${name}: expected --${name}=<value>`);
    return { name, value, ...at };
  });
}

function boolFlag(file: string, at: Position, name: string, value: string | undefined): string {
  if (value === undefined) return "true";
  if (value === "") throw locatedError(file, at, `missing a value on flag --${name}: expected --${name}, --${name}=true or --${name}=false`);
  const v = value.toLowerCase();
  if (v !== "true" && v !== "false") throw locatedError(file, at, `expected a boolean value for flag --${name} (true or false), got ${JSON.stringify(value)}`);
  return v;
}

function fromArgs(p: Parts, fail: Fail): { image: Word; stage?: Word } {
  const words = splitWhitespace(p.logical, p.head.restStart).map((l) => l.word);
  const [image, as, stage] = words;
  if (image === undefined) throw fail("FROM requires an image: FROM [--platform=<platform>] <image> [AS <name>]");
  if (words.length === 1) return { image };
  if (words.length !== 3 || as?.value.toLowerCase() !== "as" || stage === undefined) {
    throw fail(`FROM requires either one or three arguments: FROM <image> [AS <name>], got ${words.length}`, words[1]);
  }
  if (!STAGE_NAME.test(stage.value.toLowerCase())) {
    throw fail(`invalid name for build stage ${JSON.stringify(stage.value)}: expected a letter, then letters, digits, "-", "_" or "."`, stage);
  }
  return { image, stage };
}

/** BuildKit's parseMaybeJSON: a JSON array of strings, or the text as a shell command. */
function commandLine(p: Parts, fail: Fail): CommandLine {
  const argv = jsonStrings(p.raw.value, fail);
  return argv === undefined ? { form: "shell", script: p.raw } : { form: "exec", argv };
}

function requiredCommand(p: Parts, fail: Fail, emptyExecOk = false): CommandLine {
  const command = commandLine(p, fail);
  const empty = command.form === "shell" ? command.script.value === "" : command.argv.length === 0 && !emptyExecOk;
  if (empty) throw fail(`${p.kw} requires a command: ${p.kw} <command> or ${p.kw} ["executable", "arg", ...]`);
  return command;
}

function jsonStrings(text: string, fail: Fail): string[] | undefined {
  const t = text.trimStart();
  if (!t.startsWith("[")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v): v is string => typeof v === "string")) throw fail("when using JSON array syntax, arrays must be comprised of strings only");
  return value;
}

/** A JSON list (no positions per element: each gets the list's) or a whitespace-separated one. */
function list(p: Parts, fail: Fail): { form: "exec" | "shell"; words: Word[] } {
  const json = jsonStrings(p.raw.value, fail);
  if (json !== undefined) return { form: "exec", words: json.map((value) => ({ ...p.raw, value })) };
  return { form: "shell", words: splitWhitespace(p.logical, p.head.restStart).map((l) => l.word) };
}

function copyArgs(p: Parts, fail: Fail): { form: "exec" | "shell"; sources: Source[]; dest: Word; heredocs: Heredoc[] } {
  const { form, words } = list(p, fail);
  const dest = words[words.length - 1];
  if (dest === undefined || words.length < 2) throw fail(`${p.kw} requires at least one source and a destination: ${p.kw} <src>... <dest>`);
  if (heredocWord(dest.value) !== undefined) throw fail(`${p.kw} cannot accept a heredoc as a destination`, dest);
  const byName = new Map(p.heredocs.map((h) => [h.name, h]));
  const sources = words.slice(0, -1).map((w): Source => {
    const h = heredocWord(w.value);
    const doc = h === undefined ? undefined : byName.get(h.name);
    return doc === undefined ? w : { ...w, heredoc: doc };
  });
  return { form, sources, dest, heredocs: p.heredocs };
}

function volumeArgs(p: Parts, fail: Fail): { form: "exec" | "shell"; paths: Word[] } {
  const { form, words } = list(p, fail);
  if (words.length === 0) throw fail("VOLUME requires at least one path: VOLUME <path>... or VOLUME [\"<path>\", ...]");
  const paths = words.map((w) => ({ ...w, value: w.value.trim() }));
  const blank = paths.find((w) => w.value === "");
  if (blank) throw fail("VOLUME specified can not be an empty string", blank);
  return { form, paths };
}

/** BuildKit's parseNameVal: `k=v ...` (each word split at its first `=`) or legacy `k v`. */
function nameValues(p: Parts, fail: Fail): { pairs: KeyValue[]; legacy: boolean } {
  const words = shellWords(p.logical, p.head.restStart, p.ctx.escape);
  const first = words[0]?.word;
  if (first === undefined) throw fail(`${p.kw} requires at least one argument: ${p.kw} <name>=<value> ...`);
  if (!first.value.includes("=")) {
    const m = /^(\S+)[\t\v\f\r ]+/.exec(p.raw.value);
    if (m === null) throw fail(`${p.kw} must have two arguments: ${p.kw} <name>=<value>`, first);
    const key = p.logical.word(p.head.restStart, p.head.restStart + m[1]!.length);
    const value = p.logical.word(p.head.restStart + m[0].length, p.head.restStart + p.raw.value.length);
    p.ctx.warnings.push({ ...p.common, message: `"${p.kw} key value" is deprecated: use "${p.kw} key=value"` });
    return { pairs: [{ key, value }], legacy: true };
  }
  const pairs = words.map(({ word: w, start }): KeyValue => {
    const eq = w.value.indexOf("=");
    if (eq === -1) throw fail(`expected <name>=<value>, got ${JSON.stringify(w.value)}`, w);
    if (eq === 0) throw fail(`${p.kw} names can not be blank`, w);
    return { key: { ...w, value: w.value.slice(0, eq) }, value: { ...p.logical.position(start + eq + 1), value: w.value.slice(eq + 1) } };
  });
  return { pairs, legacy: false };
}

function argDeclarations(p: Parts, fail: Fail): Array<{ name: Word; default?: Word }> {
  const words = shellWords(p.logical, p.head.restStart, p.ctx.escape);
  if (words.length === 0) throw fail("ARG requires at least one argument: ARG <name>[=<default>] ...");
  return words.map(({ word: w, start }) => {
    const eq = w.value.indexOf("=");
    if (eq === 0) throw fail("ARG names can not be blank", w);
    if (eq === -1) return { name: w };
    return { name: { ...w, value: w.value.slice(0, eq) }, default: { ...p.logical.position(start + eq + 1), value: w.value.slice(eq + 1) } };
  });
}

function healthcheck(p: Parts, fail: Fail): HealthConfig {
  const m = /^(\S+)\s*/.exec(p.raw.value);
  if (m === null) throw fail("HEALTHCHECK requires an argument: HEALTHCHECK [options] CMD <command> or HEALTHCHECK NONE");
  const type = m[1]!.toUpperCase();
  const rest = p.logical.word(p.head.restStart + m[0].length, p.head.restStart + p.raw.value.length);
  if (type === "NONE") {
    if (p.head.flags.length > 0) throw fail("HEALTHCHECK NONE takes no options", p.logical.position(p.head.flags[0]!.start));
    if (rest.value !== "") throw fail("HEALTHCHECK NONE takes no arguments", rest);
    return { type: "NONE" };
  }
  if (type !== "CMD") throw fail(`unknown HEALTHCHECK type ${JSON.stringify(m[1])}: expected CMD or NONE`);
  p.common.flags = checkFlags(p.ctx.file, "HEALTHCHECK", p.head.flags.map((f) => ({ ...f, at: p.logical.position(f.start) })));
  const command = commandLine({ ...p, raw: rest }, fail);
  if (command.form === "shell" ? command.script.value === "" : command.argv.length === 0) throw fail("missing command after HEALTHCHECK CMD", rest);
  return { type: "CMD", command, ...healthOptions(p.ctx.file, p.common.flags) };
}

const HEALTH_DURATIONS: Record<string, "interval" | "timeout" | "startPeriod" | "startInterval"> = {
  interval: "interval",
  timeout: "timeout",
  "start-period": "startPeriod",
  "start-interval": "startInterval",
};

function healthOptions(file: string, flags: Flag[]): Partial<Record<"interval" | "timeout" | "startPeriod" | "startInterval" | "retries", number>> {
  const out: Partial<Record<"interval" | "timeout" | "startPeriod" | "startInterval" | "retries", number>> = {};
  for (const f of flags) {
    if (f.name === "retries") {
      if (f.value === "") continue;
      if (!/^[+-]?[0-9]+$/.test(f.value) || Math.abs(Number(f.value)) > 2 ** 31 - 1) throw locatedError(file, f, `--retries: expected a whole number, got ${JSON.stringify(f.value)}`);
      if (Number(f.value) < 0) throw locatedError(file, f, `--retries cannot be negative (${Number(f.value)})`);
      out.retries = Number(f.value);
      continue;
    }
    if (f.value === "") continue;
    const ns = locate(file, f, () => parseGoDuration(f.value));
    if (ns !== 0 && ns < 1e6) throw locatedError(file, f, `--${f.name} cannot be less than 1ms, got ${JSON.stringify(f.value)}`);
    if (ns !== 0) out[HEALTH_DURATIONS[f.name]!] = ns;
  }
  return out;
}

function onbuildTrigger(p: Parts, fail: Fail): Instruction {
  if (p.raw.value === "") throw fail("ONBUILD requires an instruction: ONBUILD <instruction>");
  const trigger = splitCommand(p.logical, p.head.restStart).keyword;
  const upper = trigger.value.toUpperCase();
  if (upper === "ONBUILD") throw fail("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", trigger);
  if (NOT_ONBUILD.has(upper)) throw fail(`${upper} isn't allowed as an ONBUILD trigger`, trigger);
  return parseInstruction(p.ctx, p.logical, p.head.restStart, p.heredocs, p.common.endLine);
}

type Located = { word: Word; start: number };

/** BuildKit's parseStringsWhitespaceDelimited: split on blanks, no quoting. */
function splitWhitespace(logical: Logical, from: number): Located[] {
  const out: Located[] = [];
  const re = /[^\t\v\f\r ]+/g;
  const text = logical.text.slice(0, logical.text.trimEnd().length);
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push({ word: logical.word(m.index, m.index + m[0].length), start: m.index });
  return out;
}

/** BuildKit's parseWords: split on whitespace outside quotes; quotes and escapes are kept. */
function shellWords(logical: Logical, from: number, escape: string): Located[] {
  const text = logical.text;
  const out: Located[] = [];
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) return out;
    const start = i;
    let quote = "";
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (quote === "" && /\s/.test(ch)) break;
      if (ch === escape && quote !== "'") {
        i++;
        continue;
      }
      if (quote === "" && (ch === "'" || ch === '"')) quote = ch;
      else if (ch === quote) quote = "";
    }
    const end = Math.min(i, text.length);
    let value = text.slice(start, end);
    if (value.endsWith(escape) && end === text.length && !value.endsWith(escape + escape)) value = value.slice(0, -1);
    out.push({ word: { ...logical.position(start), value }, start });
  }
}

/** `<<EOF`, `<<-"EOF"`, `3<<'EOF'` as a word: its name, chomp, expansion and descriptor. */
function heredocWord(word: string): { name: string; chomp: boolean; expand: boolean; fd?: number } | undefined {
  const m = /^(\d*)<<(-?)([^<]*)$/.exec(word);
  if (m === null || m[3] === "") return undefined;
  const env = () => undefined;
  let words: string[];
  let raw: string[];
  try {
    words = processWord(m[3]!, env, { skipUnsetEnv: true }).words;
    raw = processWord(m[3]!, env, { skipUnsetEnv: true, rawQuotes: true }).words;
  } catch {
    return undefined;
  }
  if (words.length !== 1 || raw.length !== 1) return undefined;
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  const doc = { name: words[0]!, chomp: m[2] === "-", expand: quotes(words[0]!) === quotes(raw[0]!) };
  return m[1] === "" ? doc : { ...doc, fd: Number(m[1]) };
}

/** BuildKit's heredocsFromLine, then each body up to its terminator line. */
function readHeredocs(ctx: Context, logical: Logical, from: number): { heredocs: Heredoc[]; next: number } {
  let words: string[];
  try {
    words = processWord(logical.text, () => undefined, { skipUnsetEnv: true, rawQuotes: true, rawEscapes: true }).words;
  } catch {
    return { heredocs: [], next: from };
  }
  const heredocs: Heredoc[] = [];
  let next = from;
  let searchFrom = 0;
  for (const word of words) {
    const doc = heredocWord(word);
    if (doc === undefined) continue;
    const index = logical.text.indexOf("<<", searchFrom);
    searchFrom = index + 2;
    const at = logical.position(Math.max(0, doc.fd === undefined ? index : index - String(doc.fd).length));
    const body = readBody(ctx, next, doc.name, doc.chomp);
    if (body === undefined) throw locatedError(ctx.file, at, `unterminated heredoc <<${doc.name}: expected a line ${JSON.stringify(doc.name)} before the end of the file`);
    heredocs.push({ ...doc, ...at, content: body.content });
    next = body.next;
  }
  return { heredocs, next };
}

function readBody(ctx: Context, from: number, name: string, chomp: boolean): { content: string; next: number } | undefined {
  let content = "";
  for (let i = from; i < ctx.lines.length; i++) {
    const line = ctx.lines[i]!;
    const candidate = chomp ? line.replace(/^\t+/, "") : line;
    if (candidate === name) return { content, next: i + 1 };
    if (i === ctx.lines.length - 1 && line === "") break;
    content += candidate + "\n";
  }
  return undefined;
}
