import { describe, expect, it } from "vitest";
import { settleAll } from "./settle-all.js";

describe("settleAll", () => {
  it("resolves with the values in order", async () => {
    const [a, b] = await settleAll([Promise.resolve(1), Promise.resolve("x")]);
    expect([a, b]).toEqual([1, "x"]);
  });

  it("rejects with the first failure only after every promise settled", async () => {
    let slowDone = false;
    const slow = new Promise<void>((r) => setTimeout(() => ((slowDone = true), r()), 30));
    await expect(settleAll([Promise.reject(new Error("first")), slow, Promise.reject(new Error("second"))])).rejects.toThrow("first");
    expect(slowDone).toBe(true);
  });
});
