import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { safeOutput } from "./safe-output.js";

describe("safeOutput", () => {
  it("writes through until the stream fails, then drops every write without throwing", () => {
    const written: string[] = [];
    const stream = Object.assign(new EventEmitter(), { isTTY: true, columns: 80, write: (s: string) => written.push(s) > 0 });
    const out = safeOutput(stream);
    expect(out.write("a\n")).toBe(true);
    expect([out.isTTY, out.columns, out.gone]).toEqual([true, 80, false]);
    stream.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    expect(out.gone).toBe(true);
    expect(out.write("b\n")).toBe(false);
    expect(written).toEqual(["a\n"]);
  });

  it("keeps its listener: a later error on the stream (anyone's write) does not crash", () => {
    const stream = new PassThrough();
    const out = safeOutput(stream);
    stream.destroy(new Error("write EIO"));
    stream.emit("error", new Error("again"));
    expect(out.gone).toBe(true);
    expect(stream.listenerCount("error")).toBe(1);
  });

  it("a write that throws marks it gone", () => {
    const out = safeOutput(Object.assign(new EventEmitter(), { write: () => { throw new Error("destroyed"); } }));
    expect(out.write("x")).toBe(false);
    expect(out.gone).toBe(true);
  });
});
