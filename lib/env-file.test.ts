import { describe, expect, it } from "vitest";
import { parseEnvFile } from "./env-file.js";

describe("parseEnvFile", () => {
  it("reads Compose's env file format", () => {
    const text = [
      "# comment",
      "",
      "A=1",
      "export B = two words # trailing comment",
      "C='literal $X # not a comment'",
      'D="line\\nnext \\"q\\""',
      "E",
      "F=",
      "URL=http://x/#frag",
    ].join("\n");
    expect(parseEnvFile(text)).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "two words" },
      { name: "C", value: "literal $X # not a comment" },
      { name: "D", value: 'line\nnext "q"' },
      { name: "E", value: "" },
      { name: "F", value: "" },
      { name: "URL", value: "http://x/#frag" },
    ]);
  });
  it.each([
    ["A='x", /app\.env:1: unterminated single quote/],
    ['A="x', /app\.env:1: unterminated double quote/],
    ["=x", /app\.env:1: invalid variable name ""/],
    ["A B=1", /invalid variable name "A B"/],
  ])("refuses %j", (text, err) => expect(() => parseEnvFile(text, "app.env")).toThrow(err));
});
