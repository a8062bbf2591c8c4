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

describe("connectAttachSocket against a SOCK_SEQPACKET server standing in for conmon", () => {
  it("passes output by pipe, sends stdin; a reader that falls too far behind is disconnected with overrun set", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { SeqpacketServer } = await import("node-unix-socket");
    const { connectAttachSocket } = await import("./attach-socket.js");
    const dir = mkdtempSync(path.join(os.tmpdir(), "berth-attach-"));
    const server = new SeqpacketServer();
    const received: string[] = [];
    let peer: { write(b: Buffer): void } | undefined;
    server.on("connection", (s: { write(b: Buffer): void; on(e: string, f: (b: Buffer) => void): void }) => {
      peer = s;
      s.on("data", (b: Buffer) => received.push(b.toString()));
    });
    server.listen(path.join(dir, "attach"));
    try {
      const conn = await connectAttachSocket(dir, "test", 64 * 1024);
      for (let i = 0; i < 50 && !peer; i++) await new Promise((r) => setTimeout(r, 10));
      peer!.write(Buffer.concat([Buffer.from([2]), Buffer.from("out")]));
      peer!.write(Buffer.concat([Buffer.from([3]), Buffer.from("err")]));
      const first = await new Promise<string>((r) => conn.stdout.once("data", (b: Buffer) => r(b.toString())));
      expect(first).toBe("out");
      conn.stdout.pause(); // a reader that stops reading
      expect((conn.stderr.read() as Buffer | null)?.toString()).toBe("err");
      conn.write(Buffer.from("typed"));
      for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(received).toEqual(["typed"]);
      // nobody reads stdout any more: past 64 KiB behind, the connection goes
      const packet = Buffer.concat([Buffer.from([2]), Buffer.alloc(8000, 0x61)]);
      for (let i = 0; i < 20 && !conn.overrun; i++) {
        peer!.write(packet);
        await new Promise((r) => setTimeout(r, 5));
      }
      await conn.closed;
      expect(conn.overrun).toBe(true);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
