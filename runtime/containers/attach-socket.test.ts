import { describe, expect, it } from "vitest";
import { parseAttachPacket, resizeMessage } from "./attach-socket.js";

describe("conmon attach socket and ctl messages", () => {
  it("splits packets by conmon's pipe byte", () => {
    expect(parseAttachPacket(Buffer.from([2, 0x68, 0x69]))).toEqual({ stream: "stdout", data: Buffer.from("hi") });
    expect(parseAttachPacket(Buffer.from([3, 0x00, 0xff]))).toEqual({ stream: "stderr", data: Buffer.from([0, 0xff]) });
    expect(parseAttachPacket(Buffer.from([1, 0x41]))).toBeUndefined();
    expect(parseAttachPacket(Buffer.alloc(0))).toBeUndefined();
  });
  it("writes a resize as type 1, rows, then cols, within conmon's range", () => {
    expect(resizeMessage(120, 40)).toBe("1 40 120\n");
    expect(resizeMessage(0, 40)).toBeUndefined();
    expect(resizeMessage(1001, 40)).toBeUndefined();
    expect(resizeMessage(80.5, 24)).toBeUndefined();
  });
});
