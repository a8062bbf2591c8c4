import { afterEach, describe, expect, it } from "vitest";
import { containerYaml, startHarness, type Harness } from "../../testing.js";
import { StartAttachments } from "./start-attachments.js";

describe("StartAttachments", () => {
  it("connects every waiter of a name once, in the start's hook; a later start connects nobody", async () => {
    const s = new StartAttachments();
    const order: string[] = [];
    const a = s.register("web", async () => (order.push("a"), "A"));
    const b = s.register("web", async () => (order.push("b"), "B"));
    s.register("db", async () => "D");
    expect(s.waiters("web")).toBe(2);
    const hook = s.beforeRunOf("web")!;
    expect(order).toEqual([]);
    await hook();
    expect(await a.attached).toBe("A");
    expect(await b.attached).toBe("B");
    expect(order.sort()).toEqual(["a", "b"]);
    expect(s.beforeRunOf("web")).toBeUndefined();
    expect(s.waiters("db")).toBe(1);
  });

  it("a cancelled waiter is not connected; a failing connect rejects its waiter alone and not the hook", async () => {
    const s = new StartAttachments();
    let ran = false;
    s.register("web", async () => (ran = true)).cancel();
    expect(s.beforeRunOf("web")).toBeUndefined();
    const bad = s.register("web", async () => Promise.reject(new Error("socket gone")));
    const good = s.register("web", async () => "ok");
    await s.beforeRunOf("web")!();
    await expect(bad.attached).rejects.toThrow("socket gone");
    expect(await good.attached).toBe("ok");
    expect(ran).toBe(false);
    bad.cancel(); // after the connect: nothing to undo
    expect(s.waiters("web")).toBe(0);
  });

  it("is bounded per name and in all (each waiter holds a client's connection)", () => {
    const s = new StartAttachments({ perName: 2, total: 3 });
    s.register("a", async () => 1);
    const second = s.register("a", async () => 1);
    expect(() => s.register("a", async () => 1)).toThrow(expect.objectContaining({ kind: "Unavailable", message: expect.stringMatching(/2 clients already wait for its start/) }));
    s.register("b", async () => 1);
    expect(() => s.register("c", async () => 1)).toThrow(expect.objectContaining({ kind: "Unavailable", message: expect.stringMatching(/3 clients already wait for starts/) }));
    second.cancel();
    expect(() => s.register("c", async () => 1)).not.toThrow();
  });
});

describe("attach at start through the controller (fake runtime)", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
    let out = "";
    for await (const c of stream as AsyncIterable<Buffer>) out += c.toString();
    return out;
  }

  it("a client registered before the apply sees what the process writes the moment it starts, and its exit code", async () => {
    h = await startHarness();
    // The process writes at once and exits: an attach after the start would see nothing.
    h.containers.onStart((p) => {
      p.log("first line");
      p.after(100, () => p.exit(3));
    });
    const reg = h.controller.api.attachAtStart("once", {});
    await h.apply(containerYaml("once", "restartPolicy: 'no'"));
    const a = await reg.attached;
    const out = readAll(a.stdout);
    await h.advance(200, 50);
    expect(await out).toBe("first line\n");
    expect(await a.exit).toBe(3);
    expect((await h.status("once")).phase).toBe("Exited");
  });

  it("a client that went before the start is not connected, and the start does not wait for it", async () => {
    h = await startHarness();
    const reg = h.controller.api.attachAtStart("web", {});
    reg.cancel();
    await h.apply(containerYaml("web"));
    expect((await h.status("web")).phase).toBe("Running");
    expect(h.containers.calls.filter((c) => c.method === "attach")).toEqual([]);
  });

  it("refuses a name that is not one before anything waits", () => {
    return startHarness().then((harness) => {
      h = harness;
      expect(() => h.controller.api.attachAtStart("Not_A_Name", {})).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
    });
  });
});
