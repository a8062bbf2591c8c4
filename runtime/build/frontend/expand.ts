/**
 * Dockerfile word expansion: a port of the rules of BuildKit's shell lexer
 * (moby/buildkit frontend/dockerfile/shell/lex.go), as a pure function over a variable lookup.
 *
 * - `$NAME`, `${NAME}`; `${NAME:-word}` / `${NAME-word}` (default when unset-or-empty / unset),
 *   `${NAME:+word}` / `${NAME+word}` (alternative when set-and-non-empty / set),
 *   `${NAME:?msg}` / `${NAME?msg}` (error), and BuildKit's `${NAME#pat}`, `${NAME##pat}`,
 *   `${NAME%pat}`, `${NAME%%pat}`, `${NAME/pat/repl}`, `${NAME//pat/repl}` (`*` and `?` only).
 *   `${NAME:=word}` and other modifiers are errors, as are `${}` and a missing `}`.
 * - A name is letters, digits and `_`; a name starting with a digit is positional and never
 *   set; `$@ $* $# $? $- $$ $! $0` are special parameters, never set. A `$` not followed by a
 *   name is literal.
 * - The escape character (`\` or the backtick of `# escape=`) makes the next character literal
 *   outside quotes and drops itself; one at the very end is dropped. Single quotes are literal
 *   (nothing escapes inside them); inside double quotes `$` expands and only `"`, `$` and the
 *   escape character itself can be escaped, other escapes stay as written.
 * - `expandWords` also splits into words on whitespace *after* expansion, the way Docker does
 *   for EXPOSE: whitespace from a variable splits, whitespace inside quotes does not, and no
 *   empty words are produced.
 *
 * Errors: InvalidArgument, `failed to process "<word>": <cause>` (Docker's wording). Callers
 * that know where the word is prefix the position.
 */
import { invalidArgument } from "../../../lib/errors.js";

/** The value of a variable, or undefined when it is not set (set-but-empty is ""). */
export type Lookup = (name: string) => string | undefined;

export interface LexOptions {
  /** The escape character of the Dockerfile (`# escape=`); `\` by default. */
  escape?: string;
  /** Keep quote characters in the result (heredoc detection). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result (heredoc detection). */
  rawEscapes?: boolean;
  /** Quotes are ordinary characters (heredoc bodies of COPY/ADD). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`). */
  skipUnsetEnv?: boolean;
}

export interface ExpandResult {
  /** The expanded word, spaces kept. */
  value: string;
  /** The expanded word split into words. */
  words: string[];
  /** Variables referenced and set. */
  matched: Set<string>;
  /** Variables referenced and not set. */
  unmatched: Set<string>;
}

/** A lookup over maps, the first map that has the name wins. */
export function lookupOf(...maps: ReadonlyArray<Readonly<Record<string, string>>>): Lookup {
  return (name) => {
    for (const m of maps) if (Object.prototype.hasOwnProperty.call(m, name)) return m[name];
    return undefined;
  };
}

/** Docker's ProcessWord: the expanded word, spaces kept. */
export function expandWord(word: string, lookup: Lookup, options: LexOptions = {}): string {
  return processWord(word, lookup, options).value;
}

/** Docker's ProcessWords: the expanded word split into words (quotes keep spaces). */
export function expandWords(word: string, lookup: Lookup, options: LexOptions = {}): string[] {
  return processWord(word, lookup, options).words;
}

export function processWord(word: string, lookup: Lookup, options: LexOptions = {}): ExpandResult {
  const lexer = new Lexer(word, lookup, options);
  try {
    const { value, words } = lexer.until(EOF, lexer.rawEscapes);
    return { value, words, matched: lexer.matched, unmatched: lexer.unmatched };
  } catch (err) {
    if (err instanceof LexError) throw invalidArgument(`failed to process ${JSON.stringify(word)}: ${err.message}`, { cause: err });
    throw err;
  }
}

const EOF = "";

class LexError extends Error {}

/** Accumulates words the way BuildKit's wordsStruct does. */
class Words {
  private buf = "";
  private inWord = false;
  readonly words: string[] = [];

  char(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf !== "") this.flush();
    } else {
      this.rawChar(ch);
    }
  }
  rawChar(ch: string): void {
    this.buf += ch;
    this.inWord = true;
  }
  string(s: string): void {
    for (const ch of s) this.char(ch);
  }
  rawString(s: string): void {
    this.buf += s;
    this.inWord = true;
  }
  private flush(): void {
    this.words.push(this.buf);
    this.buf = "";
    this.inWord = false;
  }
  done(): string[] {
    if (this.buf !== "") this.flush();
    return this.words;
  }
}

class Lexer {
  private readonly chars: string[];
  private pos = 0;
  private readonly escape: string;
  rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    word: string,
    private readonly lookup: Lookup,
    private readonly options: LexOptions,
  ) {
    this.chars = Array.from(word);
    this.escape = options.escape ?? "\\";
    this.rawEscapes = options.rawEscapes ?? false;
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  private next(): string {
    const ch = this.peek();
    if (ch !== EOF) this.pos++;
    return ch;
  }

  /** Reads up to `stop` (consumed) or the end; a missing `stop` is an error. */
  until(stop: string, rawEscapes: boolean): { value: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.readUntil(stop);
    } finally {
      this.rawEscapes = saved;
    }
  }

  private readUntil(stop: string): { value: string; words: string[] } {
    let value = "";
    const words = new Words();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { value, words: words.done() };
      }
      const special = this.special(ch);
      if (special) {
        const s = special();
        value += s;
        if (ch === "$") words.string(s);
        else words.rawString(s);
        continue;
      }
      this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) {
          words.rawChar(ch);
          value += ch;
        }
        const escaped = this.next();
        if (escaped === EOF) break;
        words.rawChar(escaped);
        value += escaped;
        continue;
      }
      words.char(ch);
      value += ch;
    }
    if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
    return { value, words: words.done() };
  }

  private special(ch: string): (() => string) | undefined {
    if (ch === "$") return () => this.dollar();
    if (ch === "<") return () => this.possibleHeredoc();
    if (this.options.skipProcessQuotes) return undefined;
    if (ch === "'") return () => this.singleQuote();
    if (ch === '"') return () => this.doubleQuote();
    return undefined;
  }

  private singleQuote(): string {
    const raw = this.options.rawQuotes ?? false;
    let out = raw ? this.next() : (this.next(), "");
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new LexError("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") return raw ? out + ch : out;
      out += ch;
    }
  }

  private doubleQuote(): string {
    const raw = this.options.rawQuotes ?? false;
    let out = raw ? this.next() : (this.next(), "");
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new LexError("unexpected end of statement while looking for matching double-quote");
      if (ch === '"') {
        this.next();
        return raw ? out + ch : out;
      }
      if (ch === "$") {
        out += this.dollar();
        continue;
      }
      this.next();
      if (ch !== this.escape) {
        out += ch;
        continue;
      }
      if (this.rawEscapes) out += ch;
      const after = this.peek();
      if (after === EOF) continue;
      if (after === '"' || after === "$" || after === this.escape) out += this.next();
      else out += ch;
    }
  }

  private possibleHeredoc(): string {
    this.next();
    if (this.peek() !== "<") return "<";
    this.next();
    let space = "";
    while (this.peek() === " " || this.peek() === "\t") space += this.next();
    return "<<" + space;
  }

  private get(name: string): string | undefined {
    const v = this.lookup(name);
    (v === undefined ? this.unmatched : this.matched).add(name);
    return v;
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== "{") {
      const name = this.name();
      if (name === "") return "$";
      const v = this.get(name);
      if (v === undefined && this.options.skipUnsetEnv) return "$" + name;
      return v ?? "";
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new LexError("syntax error: bad substitution");
    const name = this.name();
    const op = this.next();
    if (op === EOF) throw new LexError("syntax error: missing '}'");
    if (op === "}") {
      const v = this.get(name);
      if (v === undefined && this.options.skipUnsetEnv) return `\${${name}}`;
      return v ?? "";
    }
    if (op === ":") return this.modifier(name, this.next(), true);
    if (op === "+" || op === "-" || op === "?" || op === "#" || op === "%") return this.modifier(name, op, false);
    if (op === "/") return this.substitute(name);
    throw new LexError(`unsupported modifier (${op}) in substitution`);
  }

  private modifier(name: string, op: string, nullIsUnset: boolean): string {
    const shown = (nullIsUnset ? ":" : "") + op;
    const patternOp = op === "#" || op === "%";
    if (nullIsUnset && patternOp) throw new LexError(`unsupported modifier (${shown}) in substitution`);
    const word = this.nested("}", patternOp, "syntax error: missing '}'");
    if (op === "" || !"+-?#%".includes(op)) throw new LexError(`unsupported modifier (${shown}) in substitution`);
    const value = this.get(name);
    if (this.options.skipUnsetEnv && value === undefined) return `\${${name}${shown}${word}}`;
    const empty = value === undefined || (nullIsUnset && value === "");
    switch (op) {
      case "-":
        return empty ? word : value!;
      case "+":
        return empty ? "" : word;
      case "?":
        if (value === undefined) throw new LexError(`${name}: ${word || "is not allowed to be unset"}`);
        if (empty) throw new LexError(`${name}: ${word || "is not allowed to be empty"}`);
        return value;
      default:
        return trimPattern(value ?? "", word, op === "%");
    }
  }

  private substitute(name: string): string {
    const all = this.peek() === "/";
    if (all) this.next();
    const pattern = this.nested("/", true, "syntax error: missing '/' in ${}");
    const replacement = this.nested("}", true, "syntax error: missing '}'");
    const value = this.get(name);
    if (this.options.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
    const re = patternRegex(pattern, true, false, all);
    return (value ?? "").replace(re, () => replacement);
  }

  private nested(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.until(stop, rawEscapes).value;
    } catch (err) {
      if (this.peek() === EOF) throw new LexError(missing);
      throw err;
    }
  }

  private name(): string {
    let name = "";
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) return name;
      if (name === "" && /^\p{Nd}$/u.test(ch)) {
        while (/^\p{Nd}$/u.test(this.peek())) name += this.next();
        return name;
      }
      if (name === "" && "@*#?-$!0".includes(ch)) return this.next();
      if (!/^[\p{L}\p{Nd}_]$/u.test(ch)) return name;
      name += this.next();
    }
  }
}

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch);
}

/** `${v#p}` / `${v##p}` / `${v%p}` / `${v%%p}`: the word starts with a second `#`/`%` if greedy. */
function trimPattern(value: string, word: string, suffix: boolean): string {
  const op = suffix ? "%" : "#";
  const greedy = word.startsWith(op);
  const pattern = greedy ? word.slice(1) : word;
  if (!suffix) return trimPrefix(value, pattern, greedy);
  return reverse(trimPrefix(reverse(value), reversePattern(pattern), greedy));
}

function trimPrefix(value: string, pattern: string, greedy: boolean): string {
  const m = patternRegex(pattern, greedy, true, false).exec(value);
  return m ? value.slice(m[0].length) : value;
}

function reverse(s: string): string {
  return Array.from(s).reverse().join("");
}

/** Reverses a pattern keeping each escape before the character it escapes (`a\*c` → `c\*a`). */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const tokens: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === "\\" && i !== chars.length - 1) tokens.push(chars[i]! + chars[++i]!);
    else tokens.push(chars[i]!);
  }
  return tokens.reverse().join("");
}

/** A shell wildcard pattern (`*`, `?`, `\` escapes; no brackets) as a regular expression. */
function patternRegex(pattern: string, greedy: boolean, anchored: boolean, global: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? "^" : "";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "*") out += greedy ? ".*" : ".*?";
    else if (ch === "?") out += ".";
    else if (ch === "\\") {
      const nextCh = chars[i + 1] ?? "";
      if (nextCh === "}" || nextCh === "/") continue;
      if (nextCh !== "*" && nextCh !== "?" && nextCh !== "\\") throw new LexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${nextCh}'`);
      out += "\\" + nextCh;
      i++;
    } else out += ch.replace(/[[\]{}.+()|^$/]/g, "\\$&");
  }
  return new RegExp(out, global ? "gu" : "u");
}
