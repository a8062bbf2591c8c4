import { describe, expect, it } from "vitest";
import { diffLines, unifiedDiff, yamlLines } from "./yaml-diff.js";

describe("yamlLines", () => {
  it("dumps YAML without a trailing empty line; absent is no lines", () => {
    expect(yamlLines({ metadata: { name: "web" }, spec: { ports: [80] } })).toEqual(["metadata:", "  name: web", "spec:", "  ports:", "    - 80"]);
    expect(yamlLines(undefined)).toEqual([]);
  });
});

describe("diffLines", () => {
  it("keeps common lines and puts removals before additions", () => {
    expect(diffLines(["a", "b", "c"], ["a", "x", "c"])).toEqual([
      { op: " ", line: "a" },
      { op: "-", line: "b" },
      { op: "+", line: "x" },
      { op: " ", line: "c" },
    ]);
  });

  it("finds the longest common subsequence inside the changed middle", () => {
    const ops = diffLines(["k", "a", "b", "c", "d", "k"], ["k", "b", "x", "d", "e", "k"]);
    expect(ops.map((o) => `${o.op}${o.line}`)).toEqual([" k", "-a", " b", "-c", "+x", " d", "+e", " k"]);
  });
});

describe("unifiedDiff", () => {
  it("is empty for equal inputs", () => {
    expect(unifiedDiff(["a", "b"], ["a", "b"])).toEqual([]);
  });

  it("writes hunks with 3 lines of context and -a,b +c,d headers", () => {
    const a = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];
    const b = [...a];
    b[1] = "two";
    b[10] = "eleven";
    expect(unifiedDiff(a, b)).toEqual([
      "@@ -1,5 +1,5 @@",
      " 1",
      "-2",
      "+two",
      " 3",
      " 4",
      " 5",
      "@@ -8,5 +8,5 @@",
      " 8",
      " 9",
      " 10",
      "-11",
      "+eleven",
      " 12",
    ]);
  });

  it("merges changes whose context overlaps into one hunk", () => {
    const a = ["1", "2", "3", "4", "5", "6", "7", "8"];
    const b = ["1", "X", "3", "4", "5", "6", "Y", "8"];
    expect(unifiedDiff(a, b)[0]).toBe("@@ -1,8 +1,8 @@");
    expect(unifiedDiff(a, b).filter((l) => l.startsWith("@@"))).toHaveLength(1);
  });

  it("shows a created object all + and a deleted one all -", () => {
    const lines = yamlLines({ metadata: { name: "web" } });
    expect(unifiedDiff([], lines)).toEqual(["@@ -0,0 +1,2 @@", "+metadata:", "+  name: web"]);
    expect(unifiedDiff(lines, [])).toEqual(["@@ -1,2 +0,0 @@", "-metadata:", "-  name: web"]);
  });

  it("diffs YAML dumps of a changed spec", () => {
    const before = { metadata: { name: "web", labels: {} }, spec: { image: "nginx:1.25", env: [{ name: "A", value: "1" }] } };
    const after = { metadata: { name: "web", labels: {} }, spec: { image: "nginx:1.27", env: [{ name: "A", value: "1" }] } };
    const out = unifiedDiff(yamlLines(before), yamlLines(after));
    expect(out.filter((l) => /^[-+]/.test(l))).toEqual(["-  image: nginx:1.25", "+  image: nginx:1.27"]);
  });
});
