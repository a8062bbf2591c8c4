import {
  Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Node as YamlNode,
  type Tags,
} from "yaml";
import type { Diagnostic } from "./diagnostics.js";

export interface ParseLimits {
  /** Bytes per file. */
  maxFileBytes: number;
  /** Nesting depth of collections. */
  maxDepth: number;
  /** YAML nodes per file. */
  maxNodes: number;
  /** Alias dereferences per document (billion-laughs guard). */
  maxAliasCount: number;
  /** Documents per file. */
  maxDocuments: number;
}

export function defaultParseLimits(): ParseLimits {
  return { maxFileBytes: 4 * 1024 * 1024, maxDepth: 64, maxNodes: 200_000, maxAliasCount: 100, maxDocuments: 5000 };
}

/** One YAML document of a manifest file, parsed with positions. */
export interface ParsedDocument {
  file: string;
  text: string;
  /** 0-based index of the document in the file. */
  index: number;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** The document as plain data (aliases expanded within the limit). */
  value: unknown;
}

export interface Position {
  line: number;
  column: number;
}

const FORBIDDEN_KEYS = new Set(["__proto__"]);

function at(file: string, lc: LineCounter, offset: number, message: string, extra: Partial<Diagnostic> = {}): Diagnostic {
  const { line, col } = lc.linePos(offset);
  return { severity: "error", file, line, column: col, path: "", message, ...extra };
}

/** YAML's messages end with "at line X, column Y" or a code frame; we print our own. */
function plainYamlMessage(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").trim();
}

/**
 * Parses every document of a manifest file. Hostile input (huge files, alias bombs, deep
 * nesting, duplicate or `__proto__` keys) yields diagnostics, never an exception, and
 * bounded work: the size cap is checked before parsing and the walk is iterative.
 */
export function parseManifestText(
  file: string,
  text: string,
  limits: ParseLimits = defaultParseLimits(),
  options: { customTags?: Tags } = {},
): { documents: ParsedDocument[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const documents: ParsedDocument[] = [];
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxFileBytes) {
    diagnostics.push({
      severity: "error",
      file,
      line: 0,
      column: 0,
      path: "",
      message: `file is ${bytes} bytes, over the limit of ${limits.maxFileBytes} bytes`,
      suggestion: "split it into several files",
    });
    return { documents, diagnostics };
  }
  if (text.includes("\u0000")) {
    const offset = text.indexOf("\u0000");
    const lc = new LineCounter();
    lc.addNewLine(0);
    for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) lc.addNewLine(i + 1);
    diagnostics.push(at(file, lc, offset, "file contains a NUL byte: not a YAML text file"));
    return { documents, diagnostics };
  }

  const deep = deepFlowOffset(text, limits.maxDepth);
  if (deep !== undefined) {
    const lc = new LineCounter();
    parseAllDocuments(text.slice(0, deep), { lineCounter: lc }); // only to count lines up to the offset
    diagnostics.push(at(file, lc, deep, `nesting deeper than ${limits.maxDepth} levels`));
    return { documents, diagnostics };
  }

  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter,
      prettyErrors: false,
      uniqueKeys: true,
      merge: true,
      strict: true,
      ...(options.customTags ? { customTags: options.customTags } : {}),
    }) as Document.Parsed[];
  } catch (err) {
    diagnostics.push({ severity: "error", file, line: 0, column: 0, path: "", message: `cannot parse YAML: ${(err as Error).message}` });
    return { documents, diagnostics };
  }
  if (!Array.isArray(docs)) docs = [docs];
  if (docs.length > limits.maxDocuments) {
    diagnostics.push(at(file, lineCounter, 0, `file has ${docs.length} documents, over the limit of ${limits.maxDocuments}`));
    return { documents, diagnostics };
  }

  docs.forEach((doc, index) => {
    const before = diagnostics.length;
    for (const e of doc.errors) {
      const code = e.code === "DUPLICATE_KEY" ? "duplicate key: each key may appear once in a mapping" : plainYamlMessage(e.message);
      diagnostics.push(at(file, lineCounter, e.pos[0], code));
    }
    if (diagnostics.length > before) return;
    for (const w of doc.warnings) {
      diagnostics.push({ ...at(file, lineCounter, w.pos[0], plainYamlMessage(w.message)), severity: "warning" });
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return; // empty document
    if (!walk(file, doc, lineCounter, limits, diagnostics)) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      const msg = (err as Error).message;
      diagnostics.push(
        at(file, lineCounter, doc.range[0], /alias/i.test(msg)
          ? `too many alias expansions (over ${limits.maxAliasCount}): refusing a possible YAML alias bomb`
          : `cannot read document: ${msg}`),
      );
      return;
    }
    documents.push({ file, text, index, doc, lineCounter, value });
  });
  return { documents, diagnostics };
}

/**
 * Offset of the first flow bracket (`[` or `{`) nested deeper than `max`, skipping quoted
 * strings and comments; undefined when there is none. The YAML composer recurses per flow
 * level, so this runs before it to keep deep input from exhausting the stack.
 */
function deepFlowOffset(text: string, max: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--;
    } else if (c === 0x22) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x27) {
      for (i++; i < text.length; i++) {
        if (text.charCodeAt(i) === 0x27) {
          if (text.charCodeAt(i + 1) === 0x27) i++;
          else break;
        }
      }
    } else if (c === 0x23 && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
    }
  }
  return undefined;
}

/** Iterative walk: depth and node limits, forbidden keys. Returns false when the document is refused. */
function walk(file: string, doc: Document.Parsed, lc: LineCounter, limits: ParseLimits, out: Diagnostic[]): boolean {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  let count = 0;
  let ok = true;
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (++count > limits.maxNodes) {
      out.push(at(file, lc, doc.range[0], `document has over ${limits.maxNodes} YAML nodes`));
      return false;
    }
    if (isMap(node) || isSeq(node)) {
      if (depth > limits.maxDepth) {
        out.push(at(file, lc, node.range?.[0] ?? 0, `nesting deeper than ${limits.maxDepth} levels`));
        return false;
      }
      for (const item of node.items) {
        if (isPair(item)) {
          const key = item.key;
          if (isScalar(key) && typeof key.value === "string" && FORBIDDEN_KEYS.has(key.value)) {
            out.push(at(file, lc, key.range?.[0] ?? 0, `key ${JSON.stringify(key.value)} is not allowed`));
            ok = false;
          }
          stack.push({ node: item.value, depth: depth + 1 });
          if (!isScalar(key)) stack.push({ node: key, depth: depth + 1 });
        } else {
          stack.push({ node: item, depth: depth + 1 });
        }
      }
    }
  }
  return ok;
}

/**
 * The position of the node at `path` in the document, or of the deepest existing ancestor.
 * With `key`, the position of the key of the last segment (for "unknown field" errors).
 */
export function locate(parsed: ParsedDocument, path: readonly (string | number)[], options: { key?: boolean } = {}): Position {
  let node: unknown = parsed.doc.contents;
  let pos = parsed.doc.contents?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isAlias(node)) node = node.resolve(parsed.doc);
    let next: unknown;
    let keyPos: number | undefined;
    if (isMap(node)) {
      const pair = findPair(parsed.doc, node, String(seg), 0);
      if (pair) {
        next = pair.value;
        keyPos = (pair.key as YamlNode).range?.[0];
      }
    } else if (isSeq(node) && typeof seg === "number") {
      next = node.items[seg];
    }
    if (next === undefined && keyPos === undefined) break;
    if (options.key && i === path.length - 1 && keyPos !== undefined) {
      pos = keyPos;
      break;
    }
    const range = (next as YamlNode | null)?.range;
    pos = range ? range[0] : keyPos ?? pos;
    node = next;
  }
  const { line, col } = parsed.lineCounter.linePos(pos);
  return { line, column: col };
}

/** The pair of `key` in a mapping, or in the mappings its `<<` merge keys bring in (the mapping's own keys win, then the sources in order). */
function findPair(doc: Document.Parsed, map: unknown, key: string, depth: number): { key: unknown; value: unknown } | undefined {
  if (isAlias(map)) map = map.resolve(doc);
  if (!isMap(map) || depth > 16) return undefined;
  const own = map.items.find((p) => isScalar(p.key) && typeof p.key.value !== "symbol" && String(p.key.value) === key);
  if (own) return own;
  for (const p of map.items) {
    const k = isScalar(p.key) ? p.key.value : undefined;
    if (!(k === "<<" || (typeof k === "symbol" && k.description === "<<"))) continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (const src of sources) {
      const found = findPair(doc, src, key, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
