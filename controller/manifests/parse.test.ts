import { describe, expect, it } from "vitest";
import { diagnose } from "./testing.js";
import { parseManifestText } from "./parse.js";

const header = "apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: v\n";

describe("hostile YAML", () => {
  it("refuses a billion-laughs alias bomb quickly, with its location", () => {
    const rows = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      rows.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const started = performance.now();
    const out = diagnose(rows.join("\n") + "\n");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(out).toEqual(["t.yaml:1:1: error: too many alias expansions (over 100): refusing a possible YAML alias bomb"]);
  });

  it("refuses a file over the size cap before parsing it", () => {
    const big = header + "# " + "x".repeat(5 * 1024 * 1024) + "\n";
    expect(diagnose(big)).toEqual([
      `t.yaml: error: file is ${Buffer.byteLength(big)} bytes, over the limit of 4194304 bytes; split it into several files`,
    ]);
  });

  it("refuses very deep nesting, flow or block", () => {
    const flow = header + "spec: " + "[".repeat(5000) + "]".repeat(5000) + "\n";
    expect(diagnose(flow)).toEqual([expect.stringMatching(/^t\.yaml:5:\d+: error: nesting deeper than 64 levels$/)]);
    let block = header + "spec:\n";
    for (let i = 1; i < 100; i++) block += `${"  ".repeat(i)}k${i}:\n`;
    block += `${"  ".repeat(100)}v: 1\n`;
    expect(diagnose(block)).toEqual([expect.stringMatching(/^t\.yaml:\d+:\d+: error: nesting deeper than 64 levels$/)]);
  });

  it("reports duplicate keys where the second one is", () => {
    expect(diagnose("apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: a\n  name: b\n")).toEqual([
      "t.yaml:5:3: error: duplicate key: each key may appear once in a mapping",
    ]);
  });

  it("refuses __proto__ keys anywhere", () => {
    const out = diagnose(header + "  labels:\n    __proto__: {polluted: yes}\n");
    expect(out).toEqual(['t.yaml:6:5: error: key "__proto__" is not allowed']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses NUL bytes with their position", () => {
    expect(diagnose(header + "spec:\n  driver: lo\u0000cal\n")).toEqual(["t.yaml:6:13: error: file contains a NUL byte: not a YAML text file"]);
  });

  it("reports YAML syntax errors with their location and keeps going to other files' errors", () => {
    const out = diagnose("apiVersion: berth/v1\nkind: [Volume\nmetadata: {name: x}\n");
    expect(out.length).toBeGreaterThan(0);
    expect(out[0]).toMatch(/^t\.yaml:\d+:\d+: error: /);
  });

  it("caps the number of documents", () => {
    const { diagnostics } = parseManifestText("t.yaml", "---\na: 1\n".repeat(20), {
      maxFileBytes: 1e6,
      maxDepth: 64,
      maxNodes: 1e5,
      maxAliasCount: 100,
      maxDocuments: 10,
    });
    expect(diagnostics.map((d) => d.message)).toEqual(["file has 20 documents, over the limit of 10"]);
  });

  it("skips empty documents", () => {
    expect(diagnose("---\n---\n" + header + "---\n")).toEqual([]);
  });

  it("handles a large but legitimate file in bounded time", () => {
    let text = "";
    for (let i = 0; i < 2000; i++) text += `---\napiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: v${i}\n`;
    const started = performance.now();
    expect(diagnose(text)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
