import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConmonRuncRuntime } from "../../runtime/containers/runtime.js";
import type { Readable } from "node:stream";
import { hostLacks } from "../helpers/host.js";
import { cleanupAndLeftovers, containerTestEnv, testSpec, type ContainerTestEnv } from "../helpers/rootfs.js";

const lacks = hostLacks("root", "runc", "conmon", "overlay", "busybox");

/** Collects a stream's text until `want` matches (or the stream ends). */
function reader(r: Readable) {
  let text = "";
  r.on("data", (b: Buffer) => (text += b.toString("utf8")));
  return {
    get text() {
      return text;
    },
    async until(want: RegExp, ms = 5000): Promise<string> {
      const deadline = Date.now() + ms;
      while (!want.test(text)) {
        if (Date.now() > deadline) throw new Error(`not ${want} within ${ms}ms; got ${JSON.stringify(text)}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      return text;
    },
  };
}

/** An async iterable the test writes to. */
function input() {
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    send(s: string) {
      queue.push(Buffer.from(s));
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

/**
 * Terminals on the real runtime: exec on a pty runc makes in the container (conmon --exec
 * --terminal), and attach to a tty/stdin container through conmon's attach socket.
 */
describe.skipIf(lacks)("terminals: exec -t and attach", () => {
  let env: ContainerTestEnv;
  let rt: ConmonRuncRuntime;

  beforeEach(async () => {
    env = await containerTestEnv();
    rt = await env.open();
  });
  afterEach(async () => {
    expect(await cleanupAndLeftovers(env)).toEqual({ runc: [], mounts: [], cgroups: [] });
  });

  it("exec -t: a tty in the container, its size at start and after a resize, ^C as the tty's, the shell's exit code", async () => {
    await rt.create(testSpec("t1", { command: ["sleep", "3600"] }));
    await rt.start("t1");
    const stdin = input();
    const t = await rt.execTerminal!("t1", { argv: ["sh"], stdin, size: { cols: 91, rows: 27 } });
    const out = reader(t.output);
    stdin.send("tty; stty size\n");
    await out.until(/\/dev\/pts\/\d+\s+27 91/);
    await t.resize({ cols: 120, rows: 40 });
    stdin.send("stty size\n");
    await out.until(/40 120/);
    // ^C interrupts the foreground sleep through the terminal's line discipline, not the shell.
    stdin.send("sleep 100\n");
    await new Promise((r) => setTimeout(r, 300));
    stdin.send("\x03");
    await out.until(/\^C/);
    stdin.send("echo after-$?\n");
    await out.until(/after-130/);
    stdin.send("exit 7\n");
    expect((await t.exit).exitCode).toBe(7);
  });

  it("exec -t of a missing command: 127 with the reason", async () => {
    await rt.create(testSpec("t2", { command: ["sleep", "3600"] }));
    await rt.start("t2");
    const t = await rt.execTerminal!("t2", { argv: ["nosuch"] });
    t.output.resume();
    const e = await t.exit;
    expect(e.exitCode).toBe(127);
    expect(e.startError).toMatch(/nosuch/);
  });

  it("attach to a tty+stdin container: output, input, resize; detach leaves it running; the log has its output", async () => {
    await rt.create(testSpec("t3", { command: ["sh"], tty: true, stdin: true }));
    await rt.start("t3");
    const stdin = input();
    const a = await rt.attach!("t3", { stdin, size: { cols: 100, rows: 30 } });
    expect(a.tty).toBe(true);
    const out = reader(a.stdout);
    stdin.send("stty size; echo marker-$((6*7))\n");
    await out.until(/30 100[\s\S]*marker-42/);
    a.detach();
    expect(await a.ended).toEqual({ exited: false });
    expect((await rt.inspect("t3")).status).toBe("running");
    const again = input();
    const b = await rt.attach!("t3", { stdin: again });
    const out2 = reader(b.stdout);
    again.send("exit 4\n");
    expect(await b.ended).toEqual({ exited: true });
    void out2;
    const deadline = Date.now() + 5000;
    while ((await rt.inspect("t3")).status === "running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await rt.inspect("t3")).exitCode).toBe(4);
    let log = "";
    for await (const l of rt.logs("t3")) log += `${l.stream}:${l.text}\n`;
    expect(log).toMatch(/stdout:.*marker-42/);
  });

  it("start's beforeRun: an attach made then sees the process's first bytes (a shell's first prompt, a quick echo), and the process runs only after it", async () => {
    await rt.create(testSpec("t4", { command: ["sh", "-c", "echo first-$$; sleep 0.2; exit 6"] }));
    let a: Awaited<ReturnType<NonNullable<typeof rt.attach>>> | undefined;
    let stateInHook: string | undefined;
    await rt.start("t4", {
      beforeRun: async () => {
        stateInHook = (await rt.inspect("t4")).status;
        a = await rt.attach!("t4");
      },
    });
    expect(stateInHook).toBe("created");
    const out = reader(a!.stdout);
    expect(await a!.ended).toEqual({ exited: true });
    // Its pid is 1 in its namespace: the echo ran once, after the attach was connected.
    expect(out.text).toBe("first-1\n");
    const deadline = Date.now() + 5000;
    while ((await rt.inspect("t4")).status === "running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await rt.inspect("t4")).exitCode).toBe(6);
  });

  it("stdinOnce without a terminal: the end of the client's input closes the process's stdin (cat ends); stdin alone keeps it open", async () => {
    await rt.create(testSpec("t5", { command: ["sh", "-c", "cat; echo after-eof"], stdin: true, stdinOnce: true }));
    const stdin = input();
    let a: Awaited<ReturnType<NonNullable<typeof rt.attach>>> | undefined;
    await rt.start("t5", { beforeRun: async () => void (a = await rt.attach!("t5", { stdin })) });
    const out = reader(a!.stdout);
    stdin.send("piped\n");
    stdin.end();
    expect(await a!.ended).toEqual({ exited: true });
    expect(out.text).toBe("piped\nafter-eof\n");

    await rt.create(testSpec("t6", { command: ["sh", "-c", "cat; echo after-eof"], stdin: true }));
    await rt.start("t6");
    const again = input();
    const b = await rt.attach!("t6", { stdin: again });
    const out2 = reader(b.stdout);
    again.send("kept\n");
    again.end();
    await out2.until(/kept/);
    await new Promise((r) => setTimeout(r, 300));
    expect(out2.text).toBe("kept\n");
    expect((await rt.inspect("t6")).status).toBe("running");
    b.detach();
    await rt.stop("t6", { graceMs: 1000 });
  });

  it("a beforeRun that fails does not keep the process from running", async () => {
    await rt.create(testSpec("t7", { command: ["sleep", "3600"] }));
    const st = await rt.start("t7", { beforeRun: async () => Promise.reject(new Error("client gone")) });
    expect(st.status).toBe("running");
    await rt.stop("t7", { graceMs: 1000 });
  });
});
