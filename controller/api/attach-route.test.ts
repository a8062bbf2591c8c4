import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Attachment } from "../../runtime/types.js";
import type { ApiClient } from "./client.js";
import { fakeApi, serveApi, type ServedApi } from "./testing.js";
import type { ControllerApi } from "./types.js";

/** An attachment the test drives: write to its streams, then end it as exited, detached or overrun. */
function attachment() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let end!: (v: { exited: boolean; overrun?: boolean }) => void;
  const ended = new Promise<{ exited: boolean; overrun?: boolean }>((r) => (end = r));
  const a: Attachment & { exit: Promise<number | undefined> } = {
    tty: false,
    stdin: false,
    stdout,
    stderr,
    resize: async () => {},
    detach: () => {
      stdout.end();
      stderr.end();
      end({ exited: false });
    },
    ended,
    exit: ended.then((e) => (e.exited ? 4 : undefined)),
  };
  return {
    a,
    finish(how: "exited" | "overrun") {
      stdout.end();
      stderr.end();
      end(how === "exited" ? { exited: true } : { exited: false, overrun: true });
    },
  };
}

describe("POST /v1/containers/{name}/attach over the API socket", () => {
  let served: ServedApi;
  let client: ApiClient;
  let api: Partial<ControllerApi>;

  beforeEach(async () => {
    served = await serveApi((dir) => fakeApi((api = { version: () => ({ version: "0.1.0", pid: 1, root: dir, runRoot: dir, startedAt: "t" }) })), "berth-attach-route-");
    client = served.client;
  });
  afterEach(() => served.close());

  const io = () => {
    const out: string[] = [];
    return { out, io: { stdout: (c: Buffer) => void out.push(c.toString()), stderr: () => {} } };
  };

  it("atStart: the headers come once the wait is registered; output and the exit code once a start connected it", async () => {
    const t = attachment();
    let connect!: (a: typeof t.a) => void;
    let registered = false;
    api.attachAtStart = (name, req) => {
      expect([name, req.atStart]).toEqual(["once", true]);
      registered = true;
      return { attached: new Promise((r) => (connect = r)), cancel: () => {} };
    };
    const c = io();
    let answered = false;
    const done = client.attach("once", { atStart: true }, { ...c.io, onAnswer: () => (answered = true) });
    for (let i = 0; i < 100 && !answered; i++) await new Promise((r) => setTimeout(r, 5));
    expect([registered, answered]).toEqual([true, true]);
    connect(t.a);
    (t.a.stdout as PassThrough).write("first prompt ");
    t.finish("exited");
    expect(await done).toEqual({ exitCode: 4, timedOut: false });
    expect(c.out.join("")).toBe("first prompt ");
  });

  it("a client that goes while waiting cancels its wait", async () => {
    let cancelled = false;
    api.attachAtStart = () => ({ attached: new Promise(() => {}), cancel: () => void (cancelled = true) });
    const ac = new AbortController();
    let answered = false;
    const done = client.attach("x", { atStart: true }, { ...io().io, onAnswer: () => (answered = true) }, ac.signal);
    for (let i = 0; i < 100 && !answered; i++) await new Promise((r) => setTimeout(r, 5));
    ac.abort(new Error("gone"));
    await expect(done).rejects.toThrow();
    for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 5));
    expect(cancelled).toBe(true);
  });

  it("an attachment closed for an overrun ends the answer with an Unavailable error saying so", async () => {
    const t = attachment();
    api.attach = async () => t.a;
    const c = io();
    const done = client.attach("chatty", {}, c.io);
    await new Promise((r) => setTimeout(r, 20));
    (t.a.stdout as PassThrough).write("some");
    t.finish("overrun");
    await expect(done).rejects.toMatchObject({ kind: "Unavailable", message: expect.stringMatching(/fell over 16 MiB behind .*\(the container goes on\)/) });
    expect(c.out.join("")).toBe("some");
  });
});
