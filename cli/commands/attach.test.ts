import { describe, expect, it } from "vitest";
import { DetachMatcher, parseDetachKeys } from "./attach.js";
import { runManifest } from "./run.js";

describe("detach keys", () => {
  it("parses Docker's syntax", () => {
    expect([...parseDetachKeys("ctrl-p,ctrl-q")]).toEqual([16, 17]);
    expect([...parseDetachKeys("ctrl-a,d")]).toEqual([1, 100]);
    expect([...parseDetachKeys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_")]).toEqual([0, 27, 28, 29, 30, 31]);
    expect(() => parseDetachKeys("ctrl-1")).toThrow(/not a control key/);
    expect(() => parseDetachKeys("ab")).toThrow(/not a key/);
  });
  it("swallows the sequence, passes a broken prefix on", () => {
    const m = new DetachMatcher(parseDetachKeys("ctrl-p,ctrl-q"));
    expect(m.push(Buffer.from("ab\x10"))).toEqual({ forward: Buffer.from("ab"), detach: false });
    expect(m.push(Buffer.from("x"))).toEqual({ forward: Buffer.from("\x10x"), detach: false });
    expect(m.push(Buffer.from("\x10\x10"))).toEqual({ forward: Buffer.from("\x10"), detach: false });
    expect(m.push(Buffer.from("\x11rest"))).toEqual({ forward: Buffer.alloc(0), detach: true });
  });
});

describe("berth run's manifest", () => {
  it("maps flags to a Container in stack run, restart no", () => {
    const r = runManifest("localhost/busybox", ["sh", "-c", "echo"], { env: ["A=1"], publish: ["8000:80"], volume: ["data:/data"], network: "front", interactive: true, tty: true, name: "x" }, {});
    expect(r).toEqual({
      name: "x",
      stack: "run",
      object: {
        apiVersion: "berth/v1",
        kind: "Container",
        metadata: { name: "x" },
        spec: { image: "localhost/busybox", restartPolicy: "no", command: ["sh", "-c", "echo"], env: { A: "1" }, ports: ["8000:80"], mounts: ["data:/data"], networks: ["front"], tty: true, stdin: true },
      },
    });
    const h = runManifest("i", [], { env: [], publish: [], volume: [], network: "host", restart: "always", stack: "s" }, {});
    expect(h.stack).toBe("s");
    expect(h.object.spec).toEqual({ image: "i", restartPolicy: "always", networkMode: "host" });
    expect(h.name).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{4}$/);
  });

  it("-i without -t closes the process's stdin at the end of berth's (stdinOnce, docker run -i); -it leaves the terminal open", () => {
    expect(runManifest("i", [], { env: [], publish: [], volume: [], interactive: true }, {}).object.spec).toEqual({ image: "i", restartPolicy: "no", stdin: true, stdinOnce: true });
    expect(runManifest("i", [], { env: [], publish: [], volume: [], interactive: true, tty: true }, {}).object.spec).toMatchObject({ stdin: true, tty: true });
    expect(runManifest("i", [], { env: [], publish: [], volume: [], interactive: true, tty: true }, {}).object.spec).not.toHaveProperty("stdinOnce");
  });
});
