import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chainIds, childChainId } from "./chain-id.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe("chain IDs", () => {
  it("follow the OCI definition", () => {
    const [a, b, c] = [d("a"), d("b"), d("c")];
    const ab = `sha256:${createHash("sha256").update(`${a} ${b}`).digest("hex")}`;
    const abc = `sha256:${createHash("sha256").update(`${ab} ${c}`).digest("hex")}`;
    expect(chainIds([a, b, c])).toEqual([a, ab, abc]);
    expect(childChainId(undefined, a)).toBe(a);
    expect(childChainId(ab, c)).toBe(abc);
  });

  it("validates digests", () => {
    expect(() => chainIds(["sha256:xyz"])).toThrow(/invalid digest/);
  });
});
